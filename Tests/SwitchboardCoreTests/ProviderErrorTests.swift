import Foundation
import SwitchboardCore
import SwitchboardTesting
import Testing

@Suite struct ProviderErrorTests {
    @Test(arguments: [
        (429, true), (408, true), (500, true), (502, true), (503, true), (504, true), (529, true),
        (400, false), (401, false), (403, false), (404, false), (422, false),
    ])
    func retryabilityFollowsStatus(status: Int, retryable: Bool) {
        let kind = ProviderError.classify(status: status, code: nil, message: "", retryAfter: nil)
        #expect(ProviderError(kind, provider: "p", status: status, message: "").isRetryable == retryable)
    }

    @Test func insufficientQuotaIsNotRetryableAndContentFilterIsNot() {
        #expect(ProviderError.classify(status: 429, code: "insufficient_quota", message: "", retryAfter: nil) == .quotaExceeded)
        #expect(ProviderError.classify(status: 400, code: "content_filter", message: "", retryAfter: nil) == .contentFiltered)
        #expect(ProviderError.classify(status: 400, code: "model_not_found", message: "", retryAfter: nil) == .modelNotFound)
    }

    @Test func retryAfterSecondsMillisecondsAndHTTPDate() {
        #expect(RetryAfter.parse(headers: [("Retry-After", "7")]) == .seconds(7))
        #expect(RetryAfter.parse(headers: [("retry-after", "1.5")]) == .milliseconds(1500))
        #expect(RetryAfter.parse(headers: [("retry-after-ms", "250"), ("Retry-After", "9")]) == .milliseconds(250))
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(RetryAfter.parse(headers: [("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT")], now: now) == .seconds(30))
        #expect(RetryAfter.parse(headers: [("Retry-After", "soon")]) == nil)
        #expect(RetryAfter.parse(headers: []) == nil)
    }

    @Test func rateLimitHeadersOpenAIStyle() throws {
        let info = try #require(
            RateLimitInfo(headers: [
                ("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "1m2.5s"), ("x-ratelimit-limit-tokens", "150000"),
                ("x-ratelimit-remaining-tokens", "149984"), ("x-ratelimit-reset-tokens", "12ms"),
            ]))
        #expect(info.limitRequests == 60 && info.remainingRequests == 0)
        #expect(info.resetRequests == .milliseconds(62_500))
        #expect(info.resetTokens == .milliseconds(12))
        #expect(info.suggestedWait == .milliseconds(62_500))
    }

    @Test func rateLimitHeadersCerebrasStyle() throws {
        let info = try #require(
            RateLimitInfo(headers: [
                ("x-ratelimit-limit-requests-day", "14400"), ("x-ratelimit-remaining-requests-day", "14399"),
                ("x-ratelimit-reset-requests-day", "33011.38"), ("x-ratelimit-limit-tokens-minute", "60000"),
                ("x-ratelimit-remaining-tokens-minute", "59000"), ("x-ratelimit-reset-tokens-minute", "11.4"),
            ]))
        #expect(info.requestWindow == "day" && info.tokenWindow == "minute")
        #expect(info.remainingTokens == 59000)
        #expect(info.resetTokens == .milliseconds(11_400))
        #expect(info.summary == "requests 14399/14400 per day, tokens 59000/60000 per minute")
        #expect(RateLimitInfo(headers: [("content-type", "x")]) == nil)
    }

    @Test func redactionRemovesKeysAndBearerTokens() {
        let text =
            "Incorrect API key provided: sk-proj-abcdefghijklmnop1234. Header was Bearer csk-zzzzzzzzzzzzzzzzzzzz and secret hunter22"
        let out = Redaction.redact(text, secrets: ["hunter22"])
        #expect(!out.contains("abcdefghijklmnop"))
        #expect(!out.contains("zzzzzzzz"))
        #expect(!out.contains("hunter22"))
        #expect(out.contains("Incorrect API key provided"))
    }
}

/// The hand-written scanner against the rules as regular expressions (with simple word boundaries, which on ASCII text
/// are the scanner's), over text built from the pieces keys and tokens are made of.
@Suite struct RedactionTests {
    static func reference(_ text: String) -> String {
        var out = text
        out = out.replacing(
            #/(?i)\b(sk|csk|gsk|xai|pk|rk|sb|ghu|gho|ghp|AIza|AKIA)[-_A-Za-z0-9]{12,}/#.wordBoundaryKind(.simple), with: "[REDACTED]")
        out = out.replacing(#/(?i)(bearer\s+)[-._~+\/A-Za-z0-9]{8,}=*/#) { match in "\(match.output.1)[REDACTED]" }
        return out
    }

    @Test func agreesWithTheRulesAsRegularExpressions() {
        let pieces = [
            "sk", "SK-", "csk", "gsk_", "xai", "pk", "rk", "sb", "ghu", "gho", "ghp", "AIza", "akia", "Bearer ", "bearer\t", "BEARER  ",
            "Bearer", "abcdef", "XYZ012", "789", "-", "_", ".", "~", "+", "/", "=", "==", " ", ": ", "task", "risk", "(", "\"",
        ]
        var generator = SeededGenerator(seed: 61)
        for _ in 0..<3_000 {
            let text = (0..<Int.random(in: 1...14, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            #expect(Redaction.redact(text) == Self.reference(text), "\(text)")
        }
    }

    @Test func aKeyAfterAnyNonWordCharacterIsRedactedAndTextWithoutSecretsIsKept() {
        #expect(Redaction.redact("id x.sk-abcdefghijklmnop ok") == "id x.[REDACTED] ok")
        #expect(Redaction.redact("é sk-abcdefghijklmnop") == "é [REDACTED]")
        #expect(Redaction.redact("ésk-abcdefghijklmnop") == "é[REDACTED]")
        #expect(Redaction.redact("Authorization: Bearer abc.def/ghi+jk==; next") == "Authorization: Bearer [REDACTED]; next")
        let plain = "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000. Bearer: none, sk-short"
        #expect(Redaction.redact(plain) == plain)
    }
}
