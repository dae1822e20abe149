import Foundation
import SwitchboardConfig
import SwitchboardCore
import SwitchboardProviders
import Testing
import SwitchboardTesting

@Suite struct ConfigLoaderTests {
    let good = """
        [agent]
        model = "cerebras/zai-glm-4.7"

        [providers.openai]
        api_key = "env:OPENAI_API_KEY"

        [providers.cerebras]
        api_key = "env:CEREBRAS_API_KEY"
        tier = "free"

        [providers.ollama]
        base_url = "http://localhost:11434"

        [[providers.openai_compat]]
        id = "vllm"
        api_key = "literal-key"
        base_url = "http://127.0.0.1:8000/v1"
        chat_path = "/chat/completions"
        model = "qwen"

        [[providers.openai_compat]]
        id = "second"
        base_url = "http://127.0.0.1:8001/v1"
        """

    func build(_ text: String, env: [String: String]) throws -> GatewayBuilder.Result {
        let config = try ConfigLoader.parse(text)
        return try GatewayBuilder(config: config, environment: Environment(env), transport: NIOHTTPTransport.shared).build()
    }

    @Test func readsTheSeedShapedFile() throws {
        let c = try ConfigLoader.parse(good)
        #expect(c.defaultModel == "cerebras/zai-glm-4.7")
        #expect(c.providers.map(\.id) == ["openai", "cerebras", "ollama"])
        #expect(c.providers[1].apiKey == .env("CEREBRAS_API_KEY"))
        #expect(c.providers[1].string("tier") == "free")
        #expect(c.customEndpoints.map(\.id) == ["vllm", "second"])
        #expect(c.customEndpoints[0].apiKey == .literal("literal-key"))
        #expect(c.customEndpoints[0].model == "qwen")
    }

    @Test func slotsFollowTheSeedOrderAndMissingCredentialsAreSkippedByName() throws {
        let r = try build(good, env: ["CEREBRAS_API_KEY": "csk-1"])
        #expect(r.gateway.providers.map(\.id) == ["cerebras", "ollama", "vllm", "second"])
        #expect(r.gateway.router.slots.map(\.provider.id) == ["cerebras", "ollama", "vllm", "second"])
        #expect(r.warnings == ["openai skipped: OPENAI_API_KEY is not set"])
        #expect(!r.mockOnly)
        #expect(r.gateway.provider(id: "ollama") is OllamaProvider, "[providers.ollama] is the native API now")
    }

    @Test func declarationOrderDecidesProviderOrder() throws {
        let c = try ConfigLoader.parse("[providers.groq]\napi_key = \"g\"\n[providers.openai]\napi_key = \"o\"\n")
        #expect(c.providers.map(\.id) == ["groq", "openai"])
    }

    @Test func envFallbacksOnlyWhenNoProviderIsConfigured() throws {
        let none = try build("", env: ["GROQ_API_KEY": "g", "OPENAI_API_KEY": "o", "CEREBRAS_API_KEY": "c"])
        #expect(none.gateway.providers.map(\.id) == ["openai", "groq", "cerebras"])
        let some = try build("[providers.groq]\napi_key = \"g\"\n", env: ["OPENAI_API_KEY": "o"])
        #expect(some.gateway.providers.map(\.id) == ["groq"])
    }

    @Test func mockIsOnWhenNothingElseIsOrWhenAskedFor() throws {
        let empty = try build("", env: [:])
        #expect(empty.gateway.providers.map(\.id) == ["mock"])
        #expect(empty.mockOnly)
        let asked = try build("[providers.groq]\napi_key = \"g\"\n[providers.mock]\nenabled = true\n", env: [:])
        #expect(asked.gateway.providers.map(\.id) == ["groq", "mock"])
        let off = try build("[providers.mock]\nenabled = false\n", env: [:])
        #expect(off.gateway.providers.isEmpty)
    }

    @Test func aSwarmSectionIsBuiltOrSkippedSayingWhy() throws {
        let home = ScratchFiles.path("sb-swarm")
        defer { try? FileManager.default.removeItem(atPath: home) }
        func warnings(_ section: String, env: [String: String] = [:]) throws -> [String] {
            try build("[providers.swarm]\nkey_file = \"\(home)/swarm.key\"\n" + section, env: env).warnings
        }
        #expect(try warnings("relays = []") == ["swarm skipped: no relays: set relays or PYLON_RELAY_URL"])
        #expect(try warnings("relays = [\"http://x\"]") == ["swarm skipped: relay http://x is not a ws:// or wss:// URL"])
        #expect(try warnings("relays = \"ws://r\"\nnwc = \"env:NWC_URI\"") == ["swarm skipped: NWC_URI is not set"])
        #expect(try warnings("relays = \"ws://r\"\nnwc = \"https://wallet\"").first?.hasPrefix("swarm skipped: nwc: ") == true)
        #expect(
            try warnings("relays = \"ws://r\"\ndvms = [\"npub-nope\"]") == [
                "swarm skipped: dvms: npub-nope is not an npub or 64-hex public key"
            ])
        #expect(try warnings("relays = \"ws://r\"\nmode = \"cloud\"") == ["swarm skipped: mode must be swarm, local or hybrid, not cloud"])
        #expect(
            try warnings("relays = \"ws://r\"\nmode = \"hybrid\"\nlocal = \"ollama/llama3.2\"")
                == ["swarm skipped: local names ollama, which is not a configured provider"])
        // Built: a key made once and kept (0600), the same key read back the next time.
        let built = try build(
            "[providers.swarm]\nkey_file = \"\(home)/swarm.key\"\nbid_msats = 7\n", env: ["PYLON_RELAY_URL": "ws://127.0.0.1:1"])
        #expect(built.warnings.isEmpty)
        let swarm = try #require(built.gateway.provider(id: "swarm") as? SwarmProvider)
        #expect(swarm.options.relays == ["ws://127.0.0.1:1"] && swarm.options.bidMsats == 7 && swarm.options.wallet == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: home + "/swarm.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try #require(
            try build("[providers.swarm]\nkey_file = \"\(home)/swarm.key\"\nrelays = \"ws://r\"\n", env: [:]).gateway.provider(id: "swarm")
                as? SwarmProvider)
        #expect(again.options.key == swarm.options.key)
        // Hybrid: a router named swarm over the local model, then the swarm.
        let hybrid = try build(
            "[providers.ollama]\n[providers.swarm]\nkey_file = \"\(home)/swarm.key\"\nrelays = \"ws://r\"\nmode = \"hybrid\"\nlocal = \"ollama/llama3.2\"\n",
            env: [:])
        let router = try #require(hybrid.gateway.provider(id: "swarm") as? ProviderRouter)
        #expect(router.slots.map(\.provider.id) == ["ollama", "swarm"] && router.slots.map(\.model) == ["llama3.2", nil])
    }

    @Test func upstreamConnectionSettingsAreReadAndRangeChecked() throws {
        let c = try ConfigLoader.parse("[server]\nupstream_connect_timeout_seconds = 3\nupstream_idle_timeout_seconds = 90\n")
        #expect(c.server.upstreamConnectTimeoutSeconds == 3)
        #expect(c.server.upstreamIdleTimeoutSeconds == 90)
        #expect(ServerSettings().upstreamIdleTimeoutSeconds == 30)
        let e = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[server]\nupstream_connect_timeout_seconds = 0\n", file: "s.toml")
        }
        #expect(e?.line == 2)
    }

    @Test func directRoutesAndLoopChatAreOnUnlessTurnedOffAndMustBeBooleans() throws {
        #expect(try ConfigLoader.parse("[server]\nport = 1\n").server.directRoutes)
        #expect(try !ConfigLoader.parse("[server]\ndirect_routes = false\n").server.directRoutes)
        let e = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[server]\ndirect_routes = \"no\"\n", file: "s.toml") }
        #expect(e?.description == "s.toml:2: 'server.direct_routes' must be a boolean")
        #expect(try ConfigLoader.parse("[server]\nport = 1\n").server.loopChat)
        #expect(try !ConfigLoader.parse("[server]\nloop_chat = false\n").server.loopChat)
        let loop = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[server]\nloop_chat = 1\n", file: "s.toml") }
        #expect(loop?.description == "s.toml:2: 'server.loop_chat' must be a boolean")
    }

    @Test func unknownKeyNamesTheKeyAndLine() {
        let text = "[agent]\nmodel = \"x\"\n\n[providers.cerebras]\napi_key = \"k\"\ntierr = \"free\"\n"
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(text, file: "s.toml") }
        #expect(error?.description == "s.toml:6: unknown key 'providers.cerebras.tierr'")
    }

    @Test func badValuesNameTheKeyAndLine() {
        let e1 = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[agent]\nmodel = 5\n", file: "s.toml") }
        #expect(e1?.description == "s.toml:2: 'agent.model' must be a string, not an integer")
        let e2 = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[providers.cerebras]\ntier = \"platinum\"\n", file: "s.toml")
        }
        #expect(e2?.description == "s.toml:2: 'providers.cerebras.tier' must be one of developer, free, not 'platinum'")
        let e3 = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(
                "[[providers.openai_compat]]\nid = \"a\"\nbase_url = \"http://x\"\n[[providers.openai_compat]]\nid = \"b\"\nbase_url = \"ftp:/nope\"\n",
                file: "s.toml")
        }
        #expect(e3?.line == 6)
        let e4 = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[providers.nosuch]\napi_key = \"k\"\n", file: "s.toml") }
        #expect(e4?.line == 1)
        #expect(e4?.message.contains("unknown provider 'nosuch'") == true)
    }

    @Test func syntaxErrorsCarryTheParserLine() {
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[agent]\nmodel = \"unterminated\n", file: "s.toml") }
        #expect(error?.line == 2)
    }

    @Test func fallbackNamesSlotsAndMustNameConfiguredProviders() throws {
        let r = try build(
            "[providers.groq]\napi_key = \"g\"\n[providers.openai]\napi_key = \"o\"\n[router]\nfallback = [\"openai/gpt-4o-mini\", \"groq/llama-3.3-70b-versatile\"]\n",
            env: [:])
        #expect(r.gateway.router.slots.map(\.provider.id) == ["openai", "groq"])
        #expect(r.gateway.router.slots.map(\.model) == ["gpt-4o-mini", "llama-3.3-70b-versatile"])
        #expect(throws: ConfigError.self) {
            try build("[providers.groq]\napi_key = \"g\"\n[router]\nfallback = [\"openai/x\"]\n", env: [:])
        }
    }

    @Test func cerebrasEndpointVariableMovesTheBaseURL() throws {
        let r = try build("", env: ["CEREBRAS_API_KEY": "c", "CEREBRAS_ENDPOINT": "http://127.0.0.1:9/v1"])
        let cerebras = try #require(r.gateway.provider(id: "cerebras") as? OpenAICompatibleProvider)
        #expect(cerebras.baseURL == "http://127.0.0.1:9/v1")
        let ollama = try build("[providers.ollama]\nbase_url = \"http://127.0.0.1:11434/\"\n", env: [:])
        #expect((ollama.gateway.provider(id: "ollama") as? OllamaProvider)?.baseURL == "http://127.0.0.1:11434")
    }
}

@Suite struct PricingConfigTests {
    @Test func pricingOverridesAreExactAndSeedsAreBuiltIn() throws {
        let text = """
            [providers.cerebras]
            api_key = "c"
            [pricing."cerebras/llama-3.3-70b"]
            input_per_million_usd = 0.6
            output_per_million_usd = "1.2"
            cached_input_per_million_usd = 0
            [pricing."groq/llama-3.3-70b-versatile"]
            input_per_million_usd = 0.59
            output_per_million_usd = 0.79
            [billing]
            btc_usd = 64000
            """
        let config = try ConfigLoader.parse(text)
        let r = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        let prices = r.gateway.prices
        #expect(prices.price(provider: "cerebras", model: "llama-3.3-70b")?.inputPerMillion.value == 600_000_000)
        #expect(prices.price(provider: "cerebras", model: "llama-3.3-70b")?.outputPerMillion.value == 1_200_000_000)
        #expect(prices.price(provider: "cerebras", model: "llama-3.3-70b")?.cachedInputPerMillion == .zero)
        #expect(prices.price(provider: "cerebras", model: "zai-glm-4.7")?.inputPerMillion.value == 2_250_000_000)
        #expect(prices.price(provider: "groq", model: "llama-3.3-70b-versatile")?.inputPerMillion.value == 590_000_000)
        #expect(r.gateway.sats.btcPrice.value == 64_000_000_000_000)
    }

    @Test func badPricesNameTheKey() {
        let e = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[pricing.\"a/b\"]\ninput_per_million_usd = -1\noutput_per_million_usd = 1\n", file: "p.toml")
        }
        #expect(e?.line == 2)
        let missing = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[pricing.\"a/b\"]\ninput_per_million_usd = 1\n") }
        #expect(missing?.message.contains("needs input_per_million_usd and output_per_million_usd") == true)
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[pricing.nomodel]\ninput_per_million_usd = 1\noutput_per_million_usd = 1\n")
        }
    }
}

@Suite struct EnvironmentTests {
    @Test func dotenvParsesQuotesExportAndComments() throws {
        let values = try DotEnv.parse(
            """
            # comment
            export A=1
            B="two words"
            C='x#y'
            D=plain # trailing
            """)
        #expect(values == ["A": "1", "B": "two words", "C": "x#y", "D": "plain"])
        #expect(throws: ConfigError.self) { try DotEnv.parse("novalue\n") }
    }

    @Test func realEnvironmentWinsThenEnvLocalThenEnv() throws {
        let dir = ScratchFiles.url("sb-env")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "SB_TEST_ONE=local\nSB_TEST_TWO=local\n".write(to: dir.appendingPathComponent(".env.local"), atomically: true, encoding: .utf8)
        try "SB_TEST_TWO=dotenv\nSB_TEST_THREE=dotenv\nPATH=/nope\n".write(
            to: dir.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let env = try Environment.load(directory: dir.path)
        #expect(env["SB_TEST_ONE"] == "local")
        #expect(env["SB_TEST_TWO"] == "local")
        #expect(env["SB_TEST_THREE"] == "dotenv")
        #expect(env["PATH"] != "/nope")
    }

    @Test func baseURLsWithCredentialsAreRefusedBeforeAnythingQuotesThem() throws {
        let inFile = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(
                "[providers.groq]\napi_key = \"x\"\nbase_url = \"https://user:hunter2@proxy.example/v1\"\n", file: "s.toml")
        }
        #expect(inFile?.description.contains("credentials") == true)
        #expect(inFile?.description.contains("hunter2") == false)
        let custom = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[[providers.openai_compat]]\nid = \"mine\"\nbase_url = \"http://u:p@127.0.0.1:9/v1\"\n", file: "s.toml")
        }
        #expect(custom?.description.contains("credentials") == true)
        let env = Environment(["CEREBRAS_API_KEY": "csk-x", "CEREBRAS_ENDPOINT": "https://u:hunter2@proxy.example/v1"])
        let fromEnv = try GatewayBuilder(
            config: try ConfigLoader.parse("[providers.cerebras]\n"), environment: env,
            transport: NIOHTTPTransport.shared
        ).build()
        #expect(fromEnv.gateway.provider(id: "cerebras") == nil)
        #expect(fromEnv.warnings.contains { $0.contains("CEREBRAS_ENDPOINT") && !$0.contains("hunter2") })
    }

    @Test func aFallbackMadeInCodeThatNamesNoModelOrNoProviderIsAnErrorNotACrash() throws {
        for entry in ["openai", "/gpt-4o", "openai/", "nobody/model"] {
            var config = try ConfigLoader.parse("[providers.openai]\napi_key = \"sk-x\"\n")
            config.fallback = [entry]
            #expect(throws: ConfigError.self) {
                try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
            }
        }
    }

    @Test func everyNativeProviderSectionIsReadFromItsRegistryEntry() throws {
        for native in NativeProvider.all {
            // Its own keys are read (typed as the entry says) and kept for its factory.
            var text = "[providers.\(native.id)]\nmodel = \"m\"\n"
            for key in native.keys {
                switch key.kind {
                case .string: text += "\(key.name) = \"v\"\n"
                case .int(let range): text += "\(key.name) = \(range.lowerBound)\n"
                case .strings: text += "\(key.name) = [\"v\"]\n"
                }
            }
            let section = try #require(try ConfigLoader.parse(text).providers.first)
            #expect(section.id == native.id && section.model == "m" && section.values.count == native.keys.count)
            // Anything else is refused with the keys the section takes.
            let key = native.takesAPIKey ? "region_x" : "api_key"
            #expect(throws: ConfigError.self) { try ConfigLoader.parse("[providers.\(native.id)]\n\(key) = \"k\"\n") }
            do { _ = try ConfigLoader.parse("[providers.\(native.id)]\n\(key) = \"k\"\n") } catch {
                #expect(error.description.contains("(expected \(native.allowedKeys.joined(separator: ", ")))"))
            }
        }
    }

    @Test func noRegistryRowIsShadowedByANativeProvider() throws {
        let native = Set(NativeProvider.all.map(\.id))
        for descriptor in ProviderRegistry.builtIn {
            #expect(!native.contains(descriptor.id), "\(descriptor.id) would never be built from the registry")
            let config = try ConfigLoader.parse("[providers.\(descriptor.id)]\napi_key = \"k\"\n")
            let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
            #expect(built.gateway.provider(id: descriptor.id) is OpenAICompatibleProvider, "\(descriptor.id)")
        }
    }

    @Test func theSpecificationsVariableNamesWorkToo() throws {
        let env = Environment(["CEREBRAS_API_KEY": "csk-x", "CEREBRAS_URL": "http://127.0.0.1:9000/v1", "GOOGLE_API_KEY": "g-x"])
        let built = try GatewayBuilder(config: try ConfigLoader.parse(""), environment: env, transport: NIOHTTPTransport.shared).build()
        #expect((built.gateway.provider(id: "cerebras") as? OpenAICompatibleProvider)?.baseURL == "http://127.0.0.1:9000/v1")
        #expect(built.gateway.provider(id: "gemini")?.isConfigured == true)
        // The primary name wins when both are set.
        let both = Environment(["CEREBRAS_API_KEY": "csk-x", "CEREBRAS_ENDPOINT": "http://a/v1", "CEREBRAS_URL": "http://b/v1"])
        let first = try GatewayBuilder(config: try ConfigLoader.parse(""), environment: both, transport: NIOHTTPTransport.shared).build()
        #expect((first.gateway.provider(id: "cerebras") as? OpenAICompatibleProvider)?.baseURL == "http://a/v1")
    }

    @Test func aCustomEndpointCanServeEmbeddings() throws {
        let text = """
            [[providers.openai_compat]]
            id = "tei"
            base_url = "http://127.0.0.1:8080/v1"
            embeddings_path = "/embed"
            [[providers.openai_compat]]
            id = "chat-only"
            base_url = "http://127.0.0.1:8081/v1"
            """
        let config = try ConfigLoader.parse(text)
        #expect(config.customEndpoints.map(\.embeddings) == [true, false])
        let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(built.gateway.provider(id: "tei")?.capabilities.contains(.embeddings) == true)
        #expect(built.gateway.provider(id: "chat-only")?.capabilities.contains(.embeddings) == false)
        #expect((built.gateway.provider(id: "tei") as? OpenAICompatibleProvider)?.descriptor.embeddingsPath == "/embed")
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[[providers.openai_compat]]\nid = \"x\"\nbase_url = \"http://h/v1\"\nembeddings = \"yes\"\n")
        }
    }

    @Test func aCustomEndpointCanServeImages() throws {
        let text = """
            [[providers.openai_compat]]
            id = "painter"
            base_url = "http://127.0.0.1:8080/v1"
            images_path = "/paint"
            [[providers.openai_compat]]
            id = "plain"
            base_url = "http://127.0.0.1:8081/v1"
            images = true
            [[providers.openai_compat]]
            id = "chat-only"
            base_url = "http://127.0.0.1:8082/v1"
            """
        let config = try ConfigLoader.parse(text)
        #expect(config.customEndpoints.map(\.images) == [true, true, false])
        let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(built.gateway.provider(id: "painter")?.capabilities.contains(.images) == true)
        #expect(built.gateway.provider(id: "chat-only")?.capabilities.contains(.images) == false)
        #expect((built.gateway.provider(id: "painter") as? OpenAICompatibleProvider)?.descriptor.imagesPath == "/paint")
        #expect((built.gateway.provider(id: "plain") as? OpenAICompatibleProvider)?.descriptor.imagesPath == "/images/generations")
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[[providers.openai_compat]]\nid = \"x\"\nbase_url = \"http://h/v1\"\nimages = 1\n")
        }
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[[providers.openai_compat]]\nid = \"x\"\nbase_url = \"http://h/v1\"\nimages_path = \"paint\"\n")
        }
    }

    @Test func aCustomEndpointNamingARegistryServiceWithoutAURLIsThatService() throws {
        let text = """
            [[providers.openai_compat]]
            id = "groq"
            [[providers.openai_compat]]
            id = "mistral"
            """
        let built = try GatewayBuilder(
            config: try ConfigLoader.parse(text), environment: Environment(["GROQ_API_KEY": "gsk-x"]), transport: NIOHTTPTransport.shared
        ).build()
        let groq = try #require(built.gateway.provider(id: "groq") as? OpenAICompatibleProvider)
        #expect(groq.baseURL == "https://api.groq.com/openai/v1")
        #expect(groq.isConfigured)
        #expect(groq.descriptor.reasoningFields == ["reasoning"])
        // Its key variable is named when it is not set.
        #expect(built.gateway.provider(id: "mistral") == nil)
        #expect(built.warnings.contains("mistral skipped: MISTRAL_API_KEY is not set"))
        // Any other id still needs its URL.
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[[providers.openai_compat]]\nid = \"mine\"\n") }
        #expect(error?.message.contains("needs a 'base_url'") == true)
    }

    @Test func aCustomEndpointMarkedAnyModelTakesNamesNoProviderLists() throws {
        let text = """
            [[providers.openai_compat]]
            id = "listed"
            base_url = "http://127.0.0.1:8080/v1"
            [[providers.openai_compat]]
            id = "open"
            base_url = "http://127.0.0.1:8081/v1"
            any_model = true
            """
        let built = try GatewayBuilder(
            config: try ConfigLoader.parse(text), environment: Environment([:]), transport: NIOHTTPTransport.shared
        )
        .build()
        #expect(built.gateway.catalog.openProviders == ["open"])
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("[[providers.openai_compat]]\nid = \"x\"\nbase_url = \"http://h/v1\"\nany_model = 1\n")
        }
    }

    @Test func timeoutsAreSetPerProviderOverTheServersDefaults() throws {
        let text = """
            [server]
            upstream_connect_timeout_seconds = 7
            upstream_first_byte_timeout_seconds = 30
            [providers.groq]
            api_key = "g"
            first_byte_timeout_seconds = 2.5
            stream_idle_timeout_seconds = 20
            [[providers.openai_compat]]
            id = "local"
            base_url = "http://127.0.0.1:8080/v1"
            connect_timeout_seconds = 0.5
            """
        let config = try ConfigLoader.parse(text)
        #expect(config.server.upstreamFirstByteTimeout == .seconds(30))
        #expect(config.providers.first?.timeouts == UpstreamTimeouts(firstByte: .milliseconds(2500), streamIdle: .seconds(20)))
        #expect(config.customEndpoints.first?.timeouts == UpstreamTimeouts(connect: .milliseconds(500)))
        let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        func timeouts(_ id: String) -> UpstreamTimeouts? {
            ((built.gateway.provider(id: id) as? OpenAICompatibleProvider)?.transport as? TimedTransport)?.timeouts
        }
        #expect(timeouts("groq") == UpstreamTimeouts(connect: .seconds(7), firstByte: .milliseconds(2500), streamIdle: .seconds(20)))
        #expect(timeouts("local") == UpstreamTimeouts(connect: .milliseconds(500), firstByte: .seconds(30), streamIdle: .seconds(300)))
        for bad in ["first_byte_timeout_seconds = 0", "stream_idle_timeout_seconds = \"long\""] {
            #expect(throws: ConfigError.self) { try ConfigLoader.parse("[providers.groq]\napi_key = \"g\"\n\(bad)\n") }
        }
    }

    @Test func lanesAreReadInFileOrderAndBuiltOverTheProviders() throws {
        let text = """
            [providers.groq]
            api_key = "g"
            [providers.cerebras]
            api_key = "c"
            [lanes.local-first]
            models = ["groq/llama-3.1-8b-instant", "lane:fast"]
            ttft_timeout_seconds = 2
            [lanes.fast]
            models = ["cerebras/llama-3.3-70b", "groq/llama-3.3-70b-versatile"]
            strategy = "weighted"
            weights = [3, 1]
            total_timeout_seconds = 120
            budget_usd = 2.5
            """
        let config = try ConfigLoader.parse(text)
        #expect(config.lanes.map(\.name) == ["local-first", "fast"])
        #expect(config.lanes[0].ttftTimeout == .seconds(2))
        #expect(config.lanes[1].strategy == .weighted && config.lanes[1].weights == [3, 1])
        #expect(config.lanes[1].budget == NanoUSD(usd: "2.5"))
        let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(built.gateway.lanes.names == ["local-first", "fast"])
        #expect(built.gateway.lane("fast")?.slots.map(\.provider.id) == ["cerebras", "groq"])
        let bad: [(String, String)] = [
            ("[lanes.x]\nmodels = [\"groq/m\"]\nstrategy = \"fastest\"\n", "must be one of priority, latency, cost, weighted, round-robin"),
            ("[lanes.x]\nmodels = [\"groq/m\", \"groq/n\"]\nstrategy = \"weighted\"\n", "one weight per model"),
            ("[lanes.x]\nmodels = [\"llama\"]\n", "must be \"provider/model\" or \"lane:NAME\""),
            ("[lanes.x]\nstrategy = \"cost\"\n", "needs 'models'"),
        ]
        for (lane, message) in bad {
            let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(lane) }
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        }
        // A slot at a provider that is not configured is an error naming the lane.
        let error = #expect(throws: ConfigError.self) {
            try GatewayBuilder(
                config: try ConfigLoader.parse("[providers.groq]\napi_key = \"g\"\n[lanes.x]\nmodels = [\"openai/gpt-4o\"]\n"),
                environment: Environment([:]), transport: NIOHTTPTransport.shared
            ).build()
        }
        #expect(error?.message.contains("lane 'x': 'openai/gpt-4o' is not a configured provider's") == true)
    }

    @Test func withoutLanesConfiguredTheDetectedOnesAreThere() throws {
        let text = "[providers.groq]\napi_key = \"g\"\n[providers.ollama]\n"
        let built = try GatewayBuilder(
            config: try ConfigLoader.parse(text), environment: Environment([:]), transport: NIOHTTPTransport.shared
        )
        .build()
        #expect(built.gateway.lanes.names == ["default", "cloud", "local"])
        #expect(built.gateway.lane("default")?.status().map(\.name) == ["groq/llama-3.3-70b-versatile", "ollama/llama3.2"])
        #expect(built.gateway.lane("cloud")?.plan.strategy == .cost)
        #expect(built.gateway.lane("local")?.status().map(\.name) == ["ollama/llama3.2"])
    }

    @Test func envIndirectionReadsTheNamedVariable() throws {
        let config = try ConfigLoader.parse("[providers.groq]\napi_key = \"env:MY_GROQ\"\n")
        let r = try GatewayBuilder(
            config: config, environment: Environment(["MY_GROQ": "gsk-x"]),
            transport: NIOHTTPTransport.shared
        ).build()
        #expect(r.gateway.provider(id: "groq")?.isConfigured == true)
        #expect(r.warnings.isEmpty)
    }
}

@Suite struct CacheConfigTests {
    @Test func theCacheSectionIsReadAndCheckedAndALaneMayHaveItsOwnTimeToLive() throws {
        let defaults = try ConfigLoader.parse("")
        #expect(defaults.cache.mode == .deterministic && defaults.cache.store == .memory && defaults.cache.ttl == .seconds(3600))
        let config = try ConfigLoader.parse(
            """
            [cache]
            mode = "all"
            store = "postgres"
            ttl_seconds = 90
            max_bytes = 1048576
            per_key = true
            [lanes.fast]
            models = ["groq/m"]
            cache_ttl_seconds = 30
            """)
        #expect(config.cache.mode == .all && config.cache.store == .postgres && config.cache.ttl == .seconds(90))
        #expect(config.cache.maxBytes == 1 << 20 && config.cache.perKey)
        #expect(config.lanes.first?.cacheTTL == .seconds(30))
        let bad: [(String, String)] = [
            ("[cache]\nmode = \"sometimes\"\n", "'cache.mode' must be one of off, requested, deterministic, all"),
            ("[cache]\nstore = \"redis\"\n", "'cache.store' must be one of memory, shared, sqlite, postgres"),
            ("[cache]\nttl_seconds = 0\n", "'cache.ttl_seconds' must be between"),
            ("[cache]\nper_key = \"yes\"\n", "'cache.per_key' must be a boolean"),
            ("[cache]\nsize = 3\n", "unknown key 'cache.size'"),
        ]
        for (text, message) in bad {
            let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(text) }
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        }
    }
}
