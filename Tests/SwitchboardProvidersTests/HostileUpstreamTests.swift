import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// Every provider's recorded answers with hostile values put in their JSON (extreme and negative numbers, wrong types,
/// empty and long strings), replayed by the fake upstream, and error answers with unreadable rate-limit headers: an
/// upstream is untrusted input, so whatever it sends, a provider answers or throws a `ProviderError`, and never traps.
@Suite struct HostileUpstreamTests {
    static let headerValues = ["inf", "nan", "-1", "1e400", "99999999999999999999", "Wed, 31 Feb 2015 07:28:30 GMT", "", "0x10", "5s5"]

    /// Runs `call`, recording anything it throws other than a `ProviderError`; whether it answered.
    @discardableResult
    static func expectAnswerOrProviderError(_ what: String, _ call: () async throws -> Void) async -> Bool {
        do {
            try await call()
            return true
        } catch is ProviderError {
            return false
        } catch {
            Issue.record("\(what): \(error)")
            return false
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func recordedAnswersWithHostileValuesGiveAnAnswerOrAProviderError(kind: ProviderKind) async throws {
        let fixture = try RecordedFixture(kind.fixtureFolder)
        let chat = try fixture.bytes("chat")
        let pieces = try fixture.streamPieces(.asRecorded)
        let contentType = fixture.manifest["stream"]?["content_type"]?.stringValue ?? "text/event-stream"
        let request = ChatRequest(model: "conformance-model", messages: [.user("Hello")])
        try await ProviderConformanceTests().withProvider(kind) { fake, provider in
            var g = SeededGenerator(seed: 0x5EED_0000 + UInt64(ProviderKind.allCases.firstIndex(of: kind)!))
            let rounds = 60
            var answered = 0
            for round in 0..<rounds {
                let rate = [0.05, 0.15, 0.4][round % 3]
                let body = Array(HostileJSON.mutate(text: Substring(decoding: chat, as: UTF8.self), rate: rate, using: &g).utf8)
                let stream = try pieces.map {
                    try HostileJSON.mutate(piece: $0, eventStream: contentType.contains("eventstream"), rate: rate, using: &g)
                }
                fake.setDefault(.recorded(body: body, pieces: stream, contentType: contentType))
                if await Self.expectAnswerOrProviderError(
                    "round \(round), chat", { _ = try await provider.chat(request, context: .testing()) })
                {
                    answered += 1
                }
                if await Self.expectAnswerOrProviderError(
                    "round \(round), stream", { for try await _ in provider.stream(request, context: .testing()) {} })
                {
                    answered += 1
                }
            }
            // Some answers get through and some are refused: the values reached the providers' decoding, past the framing.
            #expect(answered > rounds / 8 && answered < rounds * 15 / 8, "\(answered) of \(2 * rounds) calls answered")
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func errorAnswersWithUnreadableRateLimitHeadersGiveAProviderError(kind: ProviderKind) async throws {
        let fixture = try RecordedFixture(kind.fixtureFolder)
        let cases = try #require(fixture.manifest["errors"]?.arrayValue)
        let request = ChatRequest(model: "conformance-model", messages: [.user("Hello")])
        try await ProviderConformanceTests().withProvider(kind) { fake, provider in
            var g = SeededGenerator(seed: 0x4EAD_0000 + UInt64(ProviderKind.allCases.firstIndex(of: kind)!))
            for (i, c) in cases.enumerated() {
                let text = try String(
                    contentsOf: fixture.folder.appendingPathComponent(try #require(c["file"]?.stringValue)), encoding: .utf8)
                for round in 0..<10 {
                    let names = ["Retry-After", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
                    let headers =
                        names.map { ($0, Self.headerValues.randomElement(using: &g)!) } + [
                            ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "0"),
                        ]
                    let body = HostileJSON.mutate(text: Substring(text), rate: 0.2, using: &g)
                    fake.set(.status(429, body: body, headers: headers), forModel: "error-\(i)")
                    await Self.expectAnswerOrProviderError("error \(i), round \(round)") {
                        _ = try await provider.chat(request.withModel("error-\(i)"), context: .testing())
                        Issue.record("error \(i), round \(round): a 429 was answered")
                    }
                }
            }
        }
    }
}
