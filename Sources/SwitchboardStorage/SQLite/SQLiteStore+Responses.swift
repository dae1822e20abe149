public import Foundation
import GRDB

/// Stored responses of the Responses API, by id and owner.
extension SQLiteStore {
    static func registerResponsesMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v8-responses") { db in
            try db.execute(
                sql: """
                    CREATE TABLE responses (id TEXT PRIMARY KEY NOT NULL, owner TEXT NOT NULL, created_at DOUBLE NOT NULL,
                      body BLOB NOT NULL, input_items BLOB NOT NULL)
                    """)
            try db.execute(sql: "CREATE INDEX responses_created ON responses (created_at)")
        }
    }

    public func storeResponse(_ response: StoredResponse, retainedSince: Date?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO responses (id, owner, created_at, body, input_items) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    response.id, response.owner, response.createdAt.timeIntervalSince1970, Data(response.body),
                    Data(response.inputItems),
                ])
            // Responses past the retention period go as new ones come.
            if let retainedSince {
                try db.execute(sql: "DELETE FROM responses WHERE created_at < ?", arguments: [retainedSince.timeIntervalSince1970])
            }
        }
    }

    public func storedResponse(id: String, owner: String, retainedSince: Date?) async throws -> StoredResponse? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM responses WHERE id = ? AND owner = ? AND created_at >= ?",
                    arguments: [id, owner, retainedSince?.timeIntervalSince1970 ?? 0])
            else { return nil }
            let body: Data = row["body"]
            let items: Data = row["input_items"]
            return StoredResponse(
                id: row["id"], owner: row["owner"], createdAt: Date(timeIntervalSince1970: row["created_at"]), body: Array(body),
                inputItems: Array(items))
        }
    }

    public func deleteResponse(id: String, owner: String, retainedSince: Date?) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM responses WHERE id = ? AND owner = ? AND created_at >= ?",
                arguments: [id, owner, retainedSince?.timeIntervalSince1970 ?? 0])
            return db.changesCount > 0
        }
    }
}
