public import Foundation
import PostgresNIO
public import SwitchboardCore

/// The response cache's shared entries, by the SHA-256 of the key's canonical text: every replica answers from them.
extension PostgresStore: ResponseCacheStore {
    public func cachedAnswer(_ key: ResponseCacheKey, now: Date) async throws -> CachedAnswer? {
        let hash = APIKeys.hash(key.canonicalText)
        let rows = try await client.query(
            """
            SELECT body, provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens FROM response_cache
            WHERE key_hash = \(hash) AND expires_at > \(now.timeIntervalSince1970)
            """, logger: logger)
        for try await (body, provider, model, input, output, cached, reasoning) in rows.decode(
            (Data, String, String, Int64, Int64, Int64, Int64).self)
        {
            return CachedAnswer(
                body: Array(body),
                usage: Usage(
                    inputTokens: Int(clamping: input), outputTokens: Int(clamping: output), reasoningTokens: Int(clamping: reasoning),
                    cachedTokens: Int(clamping: cached)),
                provider: provider, model: model)
        }
        return nil
    }

    public func storeAnswer(_ answer: CachedAnswer, for key: ResponseCacheKey, expires: Date) async throws {
        let hash = APIKeys.hash(key.canonicalText)
        let usage = answer.usage
        try await client.query(
            """
            INSERT INTO response_cache (key_hash, body, provider, model, input_tokens, output_tokens, cached_tokens,
              reasoning_tokens, expires_at)
            VALUES (\(hash), \(Data(answer.body)), \(answer.provider), \(answer.model), \(Int64(usage.inputTokens)),
              \(Int64(usage.outputTokens)), \(Int64(usage.cachedTokens)), \(Int64(usage.reasoningTokens)),
              \(expires.timeIntervalSince1970))
            ON CONFLICT (key_hash) DO UPDATE SET body = EXCLUDED.body, provider = EXCLUDED.provider, model = EXCLUDED.model,
              input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
              cached_tokens = EXCLUDED.cached_tokens, reasoning_tokens = EXCLUDED.reasoning_tokens,
              expires_at = EXCLUDED.expires_at
            """, logger: logger)
        try await client.query(
            "DELETE FROM response_cache WHERE expires_at <= \(Date().timeIntervalSince1970)", logger: logger)
    }
}
