import Foundation
import NIOCore
import Synchronization
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

@Suite(.serialized) struct ServeAndKeysCLITests {
    @Test func keysCreateListRevokeNeverShowTheSecretTwice() async throws {
        let cli = try CLIRunner(config: "[store]\npath = \"keys.db\"\n")
        let created = try await cli.run([
            "keys", "create", "--name", "ci-bot", "--user", "alice", "--models", "mock/echo, cerebras/zai-glm-4.7",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("sk-sb-"))
        let list = try await cli.run(["keys", "list", "--json"])
        #expect(!list.stdout.contains(secret))
        let keys = try JSONValue.parse(Data(list.stdout.utf8))
        guard case .array(let items) = keys, let first = items.first, let id = first["id"]?.stringValue else {
            Issue.record("no key listed: \(list.stdout)")
            return
        }
        #expect(first["user"] == "alice")
        #expect(first["models"] == ["mock/echo", "cerebras/zai-glm-4.7"])
        #expect(first["revoked"] == false)
        let db = try Data(contentsOf: cli.directory.appendingPathComponent("keys.db"))
        #expect(db.range(of: Data(secret.utf8)) == nil)
        #expect(try await cli.run(["keys", "revoke", id]).status == 0)
        #expect(try await cli.run(["keys", "list", "--json"]).stdout.contains("\"revoked\" : true"))
        let missing = try await cli.run(["keys", "revoke", "key_nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no key with id key_nope"))
    }

    @Test func aShortMasterKeyIsRefusedAndAMiddlingOneWarnedAbout() async throws {
        let short = try CLIRunner(
            config: "[server]\nport = 0\n[store]\npath = \"short.db\"\n",
            environment: ["SWITCHBOARD_MASTER_KEY": "k"])
        let refused = try await short.run(["serve"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("at least 16"))
        #expect(!refused.stderr.contains("listening"))
        let middling = try CLIRunner(
            config: "[server]\nport = 0\n[store]\npath = \"mid.db\"\n",
            environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-twenty-chars!!"])
        let (process, _) = try await startServe(middling)
        process.signal(SIGTERM)
        #expect(await process.wait() == .exited(0))
        #expect(process.stderr.contains("32 or more is recommended"))
    }

    @Test func theFakeUpstreamPrintsItsUsageForHelp() async throws {
        let binary = CLIRunner.binary.deletingLastPathComponent().appendingPathComponent("switchboard-fake-upstream")
        let process = try ChildProcess(executable: binary.path, arguments: ["--help"], environment: [:], directory: NSTemporaryDirectory())
        process.closeStdin()
        #expect(await process.wait() == .exited(0))
        #expect(process.stdout.hasPrefix("usage: switchboard-fake-upstream"))
    }

    @Test func serveAnswersThenDrainsAndExitsZeroOnSIGTERM() async throws {
        let cli = try CLIRunner(
            config: "[server]\nport = 0\n[store]\npath = \"serve.db\"\n",
            environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-cli-master-key"])
        let (process, p) = try await startServe(cli)
        let response = try await AsyncHTTPClientTransport.shared.send(
            TransportRequest(method: "GET", url: "http://127.0.0.1:\(p)/health", headers: [], body: nil), context: .testing())
        #expect(response.status == 200)
        let data = try await response.body.collect(upTo: 1 << 20)
        #expect(try JSONValue.parse(Data(buffer: data))["provider_status"] == ["mock": "healthy"])
        process.signal(SIGTERM)
        #expect(await process.wait() == .exited(0))
    }
}
