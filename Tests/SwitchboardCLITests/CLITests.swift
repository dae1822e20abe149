import Foundation
import SwitchboardCore
import SwitchboardTesting
import Testing

@Suite(.serialized) struct CLITests {
    func cerebrasConfig(_ fake: FakeUpstream) -> String {
        """
        [agent]
        model = "cerebras/zai-glm-4.7"

        [providers.cerebras]
        api_key = "env:CEREBRAS_API_KEY"
        base_url = "\(fake.baseURL)"
        """
    }

    @Test func chatStreamsTokensAsTheyArriveAndReportsTokensAndCost() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        var reply = FakeReply("Streaming works from the fake upstream")
        reply.chunkDelay = .milliseconds(150)
        reply.usage = Usage(inputTokens: 9, outputTokens: 12)
        fake.setDefault(.reply(reply))
        let cli = try CLIRunner(config: cerebrasConfig(fake), environment: ["CEREBRAS_API_KEY": "csk-test-123456789012"])
        let out = try await cli.run(["chat", "hello", "-m", "cerebras/zai-glm-4.7"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "Streaming works from the fake upstream\n")
        #expect(out.stderr.contains("9 in / 12 out tokens"))
        // 9 * 2.25 + 12 * 2.75 = 53.25 micro-dollars.
        #expect(out.stderr.contains("cost $0.00005325"))
        #expect(try #require(out.firstOutputBeforeExit) > .milliseconds(500))
        #expect(fake.received.last?.json?["stream"] == true)
        #expect(fake.received.last?.json?["model"] == "zai-glm-4.7")
    }

    @Test func promptFromStandardInputAndJSONOutput() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        let cli = try CLIRunner(config: cerebrasConfig(fake), environment: ["CEREBRAS_API_KEY": "csk-x"])
        let out = try await cli.run(
            ["chat", "-", "--json", "--no-stream", "--system", "be brief", "--max-tokens", "5"], stdin: "from stdin\n")
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONValue.parse(Data(out.stdout.utf8))
        #expect(json["content"] == "Hello from the fake upstream")
        #expect(json["provider"] == "cerebras")
        let sent = try #require(fake.received.last?.json)
        #expect(sent["messages"] == [["role": "system", "content": "be brief"], ["role": "user", "content": "from stdin"]])
        #expect(sent["max_completion_tokens"] == 5)
    }

    @Test func modelsPrintsATableWithPrices() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        fake.setModels(["zai-glm-4.7", "new-model"])
        let cli = try CLIRunner(config: cerebrasConfig(fake), environment: ["CEREBRAS_API_KEY": "csk-x"])
        let out = try await cli.run(["models"])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines[0] == ["MODEL", "PROVIDER", "CONTEXT", "INPUT/M", "OUTPUT/M", "SOURCE"])
        #expect(lines[1] == ["cerebras/zai-glm-4.7", "cerebras", "131072", "$2.25", "$2.75", "live"])
        #expect(lines[2] == ["cerebras/new-model", "cerebras", "-", "-", "-", "live"])
    }

    @Test func modelsListsTheBuiltInCatalogueOfAProviderThatCannotBeAsked() async throws {
        // Port 1 on loopback refuses connections: cerebras is offline.
        let config = """
            [providers.cerebras]
            api_key = "csk-x"
            base_url = "http://127.0.0.1:1/v1"
            [pricing."cerebras/priced-only"]
            input_per_million_usd = 1
            output_per_million_usd = 2
            """
        let cli = try CLIRunner(config: config)
        let out = try await cli.run(["models", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("cerebras: cannot list models") && out.stderr.contains("not live"))
        let models = try JSONValue.parse(Data(out.stdout.utf8))
        guard case .array(let items) = models else { Issue.record("not an array: \(out.stdout)"); return }
        #expect(items.allSatisfy { $0["live"] == false })
        let ids = items.compactMap { $0["id"]?.stringValue }
        #expect(ids.contains("cerebras/zai-glm-4.7"))
        #expect(ids.contains("cerebras/priced-only"))
        let priced = items.first { $0["id"] == "cerebras/priced-only" }
        #expect(priced?["input_nano_usd_per_million"] == 1_000_000_000)
        let table = try await cli.run(["models"])
        #expect(table.stdout.contains("built-in"))
    }

    @Test func aLaneIsAModelNameForChatAndLanesShowsItsSlotsInOrder() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        fake.set(.serverError(503), forModel: "broken")
        let config =
            cerebrasConfig(fake) + """

                [lanes.fast]
                models = ["cerebras/broken", "cerebras/zai-glm-4.7"]
                strategy = "cost"
                """
        let cli = try CLIRunner(config: config, environment: ["CEREBRAS_API_KEY": "csk-x"])
        let chat = try await cli.run(["chat", "hi", "-m", "lane:fast", "--no-stream"])
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(fake.lastChat?.json?["model"] == "zai-glm-4.7")
        let lanes = try await cli.run(["lanes", "--json"])
        #expect(lanes.status == 0, "\(lanes.stderr)")
        let json = try JSONValue.parse(Data(lanes.stdout.utf8))
        let slots = json.arrayItem(0)?["slots"]
        // Priced first: the catalogue prices zai-glm-4.7; "broken" has no price.
        #expect(slots?.arrayItem(0)?["slot"] == "cerebras/zai-glm-4.7")
        #expect(slots?.arrayItem(0)?["health"] == "healthy")
        #expect(slots?.arrayItem(1)?["why"] == "unpriced: after the priced slots")
        let table = try await cli.run(["lanes"])
        #expect(table.stdout.contains("lane:fast (cost)"))
        // The order a request would take now, without a call.
        let chats = fake.received.filter { $0.path.hasSuffix("/chat/completions") }.count
        let route = try await cli.run(["route", "lane:fast", "--json"])
        #expect(route.status == 0, "\(route.stderr)")
        let plan = try JSONValue.parse(Data(route.stdout.utf8))
        #expect(plan["target"] == "lane:fast")
        #expect(plan["slots"]?.arrayItem(0)?["slot"] == "cerebras/zai-glm-4.7")
        #expect(plan["slots"]?.arrayItem(1)?["why"] == "unpriced: after the priced slots")
        let direct = try await cli.run(["route", "cerebras/zai-glm-4.7"])
        #expect(direct.stdout.contains("the name's provider, asked as it is"))
        #expect(fake.received.filter { $0.path.hasSuffix("/chat/completions") }.count == chats)
    }

    @Test func healthExitsOneWhenAProviderIsDown() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        let up = try await CLIRunner(config: cerebrasConfig(fake), environment: ["CEREBRAS_API_KEY": "csk-x"]).run(["health"])
        #expect(up.status == 0, "\(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("cerebras  healthy"))
        // Port 1 on loopback refuses connections, and no test server can ever take it.
        let config =
            cerebrasConfig(fake) + """

                [[providers.openai_compat]]
                id = "second"
                base_url = "http://127.0.0.1:1/v1"
                """
        let down = try await CLIRunner(config: config, environment: ["CEREBRAS_API_KEY": "csk-x"]).run(["health", "--json"])
        #expect(down.status == 1)
        let json = try JSONValue.parse(Data(down.stdout.utf8))
        #expect(json.arrayItem(0)?["provider"] == "cerebras" && json.arrayItem(0)?["status"] == "healthy")
        #expect(json.arrayItem(1)?["provider"] == "second" && json.arrayItem(1)?["status"] == "down")
        #expect(json.arrayItem(1)?["latency_ms"]?.intValue != nil)
        #expect(json.arrayItem(1)?["message"]?.stringValue?.contains("network") == true)
    }

    @Test func aBadKeyIsOneClearLineWithoutTheKey() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        fake.requireKey("csk-the-right-one")
        let cli = try CLIRunner(config: cerebrasConfig(fake), environment: ["CEREBRAS_API_KEY": "csk-wrong-0123456789abcdef"])
        let out = try await cli.run(["chat", "hi", "-m", "cerebras/zai-glm-4.7"])
        #expect(out.status == 1)
        #expect(out.stdout == "\n" || out.stdout.isEmpty)
        let lines = out.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("error: cerebras: authentication (HTTP 401)") == true)
        #expect(out.stderr.contains("$CEREBRAS_API_KEY"))
        #expect(!out.stderr.contains("csk-wrong"))
    }

    @Test func aBadConfigNamesFileLineAndKey() async throws {
        let cli = try CLIRunner(config: "[providers.cerebras]\napi_key = \"k\"\nbase_url = 42\n")
        let out = try await cli.run(["models"])
        #expect(out.status == 1)
        #expect(out.stderr == "error: configuration: switchboard.toml:3: 'providers.cerebras.base_url' must be a string, not an integer\n")
    }

    @Test func withNothingConfiguredTheMockAnswersAndProvidersListsTheRegistry() async throws {
        let cli = try CLIRunner(config: nil)
        let chat = try await cli.run(["chat", "echo me back"])
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout == "echo me back\n")
        let providers = try await cli.run(["providers"])
        #expect(providers.stdout.contains("cerebras"))
        #expect(providers.stdout.contains("CEREBRAS_API_KEY"))
        #expect(providers.stdout.contains("mock"))
        let failing = try await cli.run(["chat", "x", "-m", "mock/fail-429"])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("rate_limited (HTTP 429)"))
    }

    @Test func chatRunsAnAgentCLIAndShowsItsAnswer() async throws {
        let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/cli-agents/fake-agent").path
        let config = """
            [[providers.cli_agent]]
            id = "codex"
            preset = "codex"
            command = "\(fake)"
            """
        let cli = try CLIRunner(config: config)
        let out = try await cli.run(["chat", "How many files?", "-m", "codex/default"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("The answer, for a prompt of 15 bytes."), "\(out.stdout)")
        #expect(out.stderr.contains("1820 in / 96 out tokens"), "\(out.stderr)")
        let health = try await cli.run(["health"])
        #expect(health.status == 0 && health.stdout.contains("codex"), "\(health.stdout) \(health.stderr)")
    }
}

extension JSONValue {
    func arrayItem(_ i: Int) -> JSONValue? {
        if case .array(let a) = self, i < a.count { return a[i] }
        return nil
    }
}
