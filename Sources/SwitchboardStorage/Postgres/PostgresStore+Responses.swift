public import Foundation
import PostgresNIO

/// Stored responses of the Responses API, by id and owner: every replica continues a conversation another began.
extension PostgresStore {
    static let responsesMigration = (
        "v7-responses",
        [
            """
            CREATE TABLE responses (id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
              body BYTEA NOT NULL, input_items BYTEA NOT NULL)
            """,
            "CREATE INDEX responses_created ON responses (created_at)",
        ]
    )

    public func storeResponse(_ response: StoredResponse, retainedSince: Date?) async throws {
        try await client.query(
            """
            INSERT INTO responses (id, owner, created_at, body, input_items)
            VALUES (\(response.id), \(response.owner), \(response.createdAt.timeIntervalSince1970), \(Data(response.body)),
              \(Data(response.inputItems)))
            """, logger: logger)
        if let retainedSince {
            try await client.query("DELETE FROM responses WHERE created_at < \(retainedSince.timeIntervalSince1970)", logger: logger)
        }
    }

    public func storedResponse(id: String, owner: String, retainedSince: Date?) async throws -> StoredResponse? {
        let since = retainedSince?.timeIntervalSince1970 ?? 0
        let rows = try await client.query(
            "SELECT created_at, body, input_items FROM responses WHERE id = \(id) AND owner = \(owner) AND created_at >= \(since)",
            logger: logger)
        for try await (created, body, items) in rows.decode((Double, Data, Data).self) {
            return StoredResponse(
                id: id, owner: owner, createdAt: Date(timeIntervalSince1970: created), body: Array(body), inputItems: Array(items))
        }
        return nil
    }

    public func deleteResponse(id: String, owner: String, retainedSince: Date?) async throws -> Bool {
        let since = retainedSince?.timeIntervalSince1970 ?? 0
        let rows = try await client.query(
            "DELETE FROM responses WHERE id = \(id) AND owner = \(owner) AND created_at >= \(since) RETURNING id", logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }
}
