import Foundation
import SwitchboardConfig
import SwitchboardCore
import SwitchboardProviders
import Testing

/// `[[providers.cli_agent]]`: what a section builds, and the errors a bad one gets.
@Suite struct CLIAgentConfigTests {
    static let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/cli-agents/fake-agent").path

    @Test func aSectionBuildsTheAgentWithOnlyTheEnvironmentItNames() throws {
        let dir = FileManager.default.temporaryDirectory.path
        let text = """
            [[providers.cli_agent]]
            id = "codex"
            preset = "codex"
            command = "\(Self.fake)"
            workdir = "\(dir)"
            timeout_seconds = 30
            max_concurrent = 3
            sandbox = "read-only"
            env = ["OPENAI_API_KEY", "UNSET_ONE"]

            [[providers.cli_agent]]
            id = "missing"
            preset = "claude"
            command = "no-such-agent-binary"
            """
        let environment = Environment(["PATH": "/usr/bin:/bin", "HOME": "/home/x", "OPENAI_API_KEY": "sk-a", "SECRET": "no"])
        let built = try GatewayBuilder(config: try ConfigLoader.parse(text), environment: environment, transport: NIOHTTPTransport.shared)
            .build()
        let agent = try #require(built.gateway.providers.first { $0.id == "codex" } as? CLIAgentProvider)
        #expect(agent.options.executable == Self.fake && agent.options.workdir == dir && agent.options.sandbox == "read-only")
        #expect(agent.options.maxConcurrent == 3 && agent.options.timeout == .seconds(30))
        #expect(agent.options.environment == ["PATH": "/usr/bin:/bin", "HOME": "/home/x", "OPENAI_API_KEY": "sk-a"])
        #expect(built.gateway.providers.contains { $0.id == "missing" } == false)
        #expect(built.warnings.contains { $0.contains("missing skipped") && $0.contains("no-such-agent-binary") }, "\(built.warnings)")
    }

    @Test func badSectionsAreErrorsNamingTheKey() {
        for (body, needle) in [
            ("id = \"a\"\npreset = \"codex\"\nworkdir = \"/no/such/dir\"", "workdir"),
            ("id = \"a\"\npreset = \"codex\"\nsandbox = \"yolo\"", "sandbox must be one of read-only"),
            ("id = \"a\"\npreset = \"custom\"", "needs a 'command'"),
            ("id = \"a\"\npreset = \"codex\"\nargs = [\"x\"]", "args is for preset custom"),
            ("id = \"a\"\npreset = \"nope\"", "preset"),
            ("preset = \"codex\"", "needs an 'id'"),
            ("id = \"a\"\npreset = \"codex\"\ncolour = 1", "unknown key"),
            ("id = \"a\"\npreset = \"codex\"\nenv = [\"A=B\"]", "not a name"),
        ] {
            do {
                _ = try ConfigLoader.parse("[[providers.cli_agent]]\n" + body)
                Issue.record("accepted: \(body)")
            } catch {
                #expect(error.message.contains(needle), "\(error.message)")
            }
        }
    }
}
