import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// Recorded bodies in each provider's own wire format (`Tests/Fixtures/<provider>/conformance.json` names
/// them and the unified answer they must give), replayed byte for byte by the fake upstream.
extension ProviderKind {
    var fixtureFolder: String {
        switch self {
        case .openAICompatible, .copilot, .qwen: "openai"
        case .anthropic: "anthropic"
        case .ollama: "ollama"
        case .bedrock: "bedrock"
        case .vertex: "vertex"
        }
    }
}

/// How a recorded stream reaches the provider: as the upstream framed it, or cut at arbitrary byte offsets.
enum Delivery: CaseIterable, Sendable { case asRecorded, sevenByteSlices }

struct RecordedFixture {
    let folder: URL
    let manifest: JSONValue

    init(_ name: String) throws {
        folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name)")
        manifest = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("conformance.json")))
    }

    func bytes(_ part: String) throws -> [UInt8] {
        let file = try #require(manifest[part]?["file"]?.stringValue)
        return try Array(Data(contentsOf: folder.appendingPathComponent(file)))
    }

    /// The stream's pieces as the upstream would write them.
    func streamPieces(_ delivery: Delivery) throws -> [[UInt8]] {
        let raw = try bytes("stream")
        let split = manifest["stream"]?["split"]?.stringValue ?? "\n\n"
        var pieces: [[UInt8]]
        if split == "hex-lines" {
            pieces = try String(decoding: raw, as: UTF8.self).split(separator: "\n").map { line in
                var out: [UInt8] = []
                var i = line.startIndex
                while i < line.endIndex {
                    let j = line.index(i, offsetBy: 2)
                    out.append(try #require(UInt8(line[i..<j], radix: 16)))
                    i = j
                }
                return out
            }
        } else {
            let text = String(decoding: raw, as: UTF8.self)
            pieces = text.components(separatedBy: split).filter { !$0.isEmpty }.map { Array(($0 + split).utf8) }
        }
        guard delivery == .sevenByteSlices else { return pieces }
        let all = pieces.flatMap { $0 }
        return stride(from: 0, to: all.count, by: 7).map { Array(all[$0..<min($0 + 7, all.count)]) }
    }

    func behavior(_ delivery: Delivery) throws -> FakeBehavior {
        .recorded(
            body: try bytes("chat"), pieces: try streamPieces(delivery),
            contentType: manifest["stream"]?["content_type"]?.stringValue ?? "text/event-stream")
    }

    /// Checks `response` against the manifest's expectation for `part`.
    func check(_ response: ChatResponse, _ part: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expect = try #require(manifest[part]?["expect"], sourceLocation: sourceLocation)
        #expect(response.content == expect["content"]?.stringValue, "\(part) content", sourceLocation: sourceLocation)
        #expect(response.reasoning ?? "" == expect["reasoning"]?.stringValue ?? "", "\(part) reasoning", sourceLocation: sourceLocation)
        #expect(
            response.finishReason == FinishReason(wire: expect["finish"]?.stringValue ?? ""), "\(part) finish",
            sourceLocation: sourceLocation)
        let calls = expect["tool_calls"]?.arrayValue ?? []
        #expect(
            response.toolCalls.map(\.name) == calls.map { $0["name"]?.stringValue ?? "" }, "\(part) tool names",
            sourceLocation: sourceLocation)
        for (got, want) in zip(response.toolCalls, calls) {
            if let id = want["id"]?.stringValue {
                #expect(got.id == id, sourceLocation: sourceLocation)
            } else {
                #expect(!got.id.isEmpty, "a call without an upstream id still gets one", sourceLocation: sourceLocation)
            }
            #expect(try JSONValue.parse(Data(got.arguments.utf8)) == want["arguments"], sourceLocation: sourceLocation)
        }
        let u = expect["usage"]
        func n(_ key: String) -> Int { Int(u?[key]?.intValue ?? 0) }
        #expect(
            response.usage
                == Usage(
                    inputTokens: n("input"), outputTokens: n("output"), reasoningTokens: n("reasoning"),
                    cachedTokens: n("cached")), "\(part) usage", sourceLocation: sourceLocation)
    }
}

extension ProviderConformanceTests {
    @Test(arguments: ProviderKind.allCases, Delivery.allCases)
    func recordedBodiesGiveTheDocumentedUnifiedAnswer(kind: ProviderKind, delivery: Delivery) async throws {
        let fixture = try RecordedFixture(kind.fixtureFolder)
        try await withProvider(kind) { fake, provider in
            fake.setDefault(try fixture.behavior(delivery))
            try fixture.check(try await provider.chat(request, context: .testing()), "chat")
            var acc = StreamAccumulator()
            for try await event in provider.stream(request, context: .testing()) { acc.add(event) }
            try fixture.check(acc.response, "stream")
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func recordedErrorBodiesKeepStatusCodeAndRetryability(kind: ProviderKind) async throws {
        let fixture = try RecordedFixture(kind.fixtureFolder)
        let cases = try #require(fixture.manifest["errors"]?.arrayValue)
        try await withProvider(kind) { fake, provider in
            for (i, c) in cases.enumerated() {
                let file = try #require(c["file"]?.stringValue)
                let body = try String(contentsOf: fixture.folder.appendingPathComponent(file), encoding: .utf8)
                let headers = (c["headers"]?.objectValue ?? [:]).map { ($0.key, $0.value.stringValue ?? "") }
                let status = Int(try #require(c["status"]?.intValue))
                fake.set(.status(status, body: body, headers: headers), forModel: "error-\(i)")
                let expect = try #require(c["expect"])
                let plain = await #expect(throws: ProviderError.self) {
                    try await provider.chat(request.withModel("error-\(i)"), context: .testing())
                }
                let streamed = await #expect(throws: ProviderError.self) {
                    for try await _ in provider.stream(request.withModel("error-\(i)"), context: .testing()) {}
                }
                for e in [plain, streamed] {
                    #expect(e?.status == status, "\(file)")
                    #expect(e?.isRetryable == expect["retryable"]?.boolValue, "\(file)")
                    if let ms = expect["retry_after_ms"]?.intValue { #expect(e?.retryAfter == .milliseconds(ms), "\(file)") }
                    if let code = expect["code"]?.stringValue { #expect(e?.code == code, "\(file)") }
                    if let text = expect["message_contains"]?.stringValue { #expect(e?.message.contains(text) == true, "\(file)") }
                }
            }
        }
    }
}
