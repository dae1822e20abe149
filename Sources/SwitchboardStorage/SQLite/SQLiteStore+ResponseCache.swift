public import Foundation
import GRDB
public import SwitchboardCore

/// The response cache's shared entries, by the SHA-256 of the key's canonical text.
extension SQLiteStore: ResponseCacheStore {
    static func registerResponseCacheMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v6-response-cache") { db in
            try db.execute(
                sql: """
                    CREATE TABLE response_cache (key_hash TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL, provider TEXT NOT NULL,
                      model TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                      cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, expires_at DOUBLE NOT NULL)
                    """)
            try db.execute(sql: "CREATE INDEX response_cache_expiry ON response_cache (expires_at)")
            try db.execute(sql: "ALTER TABLE usage_ledger ADD COLUMN cache TEXT")
        }
    }

    public func cachedAnswer(_ key: ResponseCacheKey, now: Date) async throws -> CachedAnswer? {
        let hash = APIKeys.hash(key.canonicalText)
        return try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM response_cache WHERE key_hash = ? AND expires_at > ?",
                    arguments: [hash, now.timeIntervalSince1970])
            else { return nil }
            let body: Data = row["body"]
            return CachedAnswer(
                body: Array(body),
                usage: Usage(
                    inputTokens: row["input_tokens"], outputTokens: row["output_tokens"], reasoningTokens: row["reasoning_tokens"],
                    cachedTokens: row["cached_tokens"]),
                provider: row["provider"], model: row["model"])
        }
    }

    public func storeAnswer(_ answer: CachedAnswer, for key: ResponseCacheKey, expires: Date) async throws {
        let hash = APIKeys.hash(key.canonicalText)
        let now = Date().timeIntervalSince1970
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO response_cache (key_hash, body, provider, model, input_tokens, output_tokens, cached_tokens,
                      reasoning_tokens, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (key_hash) DO UPDATE SET body = excluded.body, provider = excluded.provider,
                      model = excluded.model, input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
                      cached_tokens = excluded.cached_tokens, reasoning_tokens = excluded.reasoning_tokens,
                      expires_at = excluded.expires_at
                    """,
                arguments: [
                    hash, Data(answer.body), answer.provider, answer.model, answer.usage.inputTokens, answer.usage.outputTokens,
                    answer.usage.cachedTokens, answer.usage.reasoningTokens, expires.timeIntervalSince1970,
                ])
            // Expired entries go as new ones come: the table holds what its time to live allows, no more.
            try db.execute(sql: "DELETE FROM response_cache WHERE expires_at <= ?", arguments: [now])
        }
    }
}
