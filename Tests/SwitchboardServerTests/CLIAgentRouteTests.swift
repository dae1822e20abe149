import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// An agent CLI behind the gateway's routes: its answer and actions in the client's dialect, its session in a header
/// and resumed from one, its usage (and a cost it reports) in the ledger.
@Suite(.timeLimit(.minutes(1))) struct CLIAgentRouteTests {
    static let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/cli-agents/fake-agent").path

    static func start(record: String? = nil) async throws -> LiveGateway {
        func agent(_ id: String, _ preset: CLIAgentPreset) -> CLIAgentProvider {
            var options = CLIAgentProvider.Options(id: id, preset: preset, executable: fake)
            options.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
            if let record { options.environment["FAKE_AGENT_RECORD"] = record }
            options.killGrace = .milliseconds(200)
            return CLIAgentProvider(options: options)
        }
        return try await LiveGateway.start(extraProviders: [agent("codex", .codex), agent("claude", .claude)])
    }

    @Test func anAgentAnswersInTheClientsDialectWithItsActionsSessionAndUsage() async throws {
        let record = ScratchFiles.path("agent", suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: record) }
        try await LiveGateway.with(try await Self.start(record: record)) { gw in
            let plain = try await gw.send("POST", "/v1/chat/completions", json: chatBody("codex/default", text: "How many files?"))
            #expect(plain.status == 200, "\(plain.body)")
            let message = plain.json?["choices"]?[0]?["message"]
            #expect(message?["content"] == "The answer, for a prompt of 15 bytes.")
            #expect(
                message?["switchboard_agent_actions"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } == ["command", "file_change"])
            #expect(plain.header("x-switchboard-session") == "0199c0de-5a1e-7b22-9c41-3f6a2d0e8b17")

            // Streamed, with the actions asked for; then resumed by the session header.
            let streamed = try await gw.send(
                "POST", "/v1/chat/completions", json: chatBody("codex/default", stream: true, text: "and then?"),
                headers: [("x-switchboard-agent-actions", "on"), ("x-switchboard-session", "thread-9")])
            #expect(
                streamed.body.contains("\"switchboard_agent_action\"") && streamed.body.hasSuffix("data: [DONE]\n\n"), "\(streamed.body)")
            #expect(streamed.header("x-switchboard-session") == "thread-9")
            let recorded = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: record)))
            #expect(recorded["args"]?.arrayValue?.suffix(3) == ["resume", "thread-9", "-"] && recorded["prompt"] == "and then?")
            let quiet = try await gw.send("POST", "/v1/chat/completions", json: chatBody("codex/default", stream: true))
            #expect(!quiet.body.contains("switchboard_agent_action"))

            // The Messages dialect, and a cost the agent reports, recorded as such.
            var messages = chatBody("claude/default").objectValue!
            messages["max_tokens"] = 64
            let anthropic = try await gw.send("POST", "/v1/messages", json: .object(messages))
            #expect(anthropic.json?["content"]?.arrayValue?.last?["text"] == "The answer, for a prompt of 2 bytes.", "\(anthropic.body)")
            let records = try await ResponseCacheRouteTests.records(gw, count: 4)
            #expect(records[0].provider == "codex" && records[0].inputTokens == 1820 && records[0].outputTokens == 96)
            #expect(records[0].cachedTokens == 1792 && !records[0].estimated)
            #expect(records[3].provider == "claude" && records[3].costNanoUSD == 6_100_000 && records[3].costs == nil)
            #expect(records[3].route?.hasSuffix("cost=reported") == true, "\(records[3].route ?? "")")
        }
    }

    @Test func anAgentThatFailsIsAnErrorInTheClientsDialectAndARecord() async throws {
        try await LiveGateway.with(try await Self.start()) { gw in
            let early = try await gw.send("POST", "/v1/chat/completions", json: chatBody("codex/crash-early"))
            #expect((500..<600).contains(early.status) && early.json?["error"]?["message"] != nil, "\(early.body)")
            #expect(!early.body.contains("boom"), "the agent's stderr is for the log, not the client")
            let mid = try await gw.send("POST", "/v1/chat/completions", json: chatBody("codex/crash", stream: true))
            #expect(mid.body.contains("\"finish_reason\":\"error\"") && !mid.body.contains("[DONE]"), "\(mid.body)")
            let records = try await ResponseCacheRouteTests.records(gw, count: 2)
            #expect(records.allSatisfy { $0.status >= 500 })
            let health = try await gw.send("GET", "/health", key: nil)
            #expect(health.json?["provider_status"]?["codex"] != nil)
        }
    }
}
