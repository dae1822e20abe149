import Foundation
import SwitchboardConfig
import SwitchboardCore
import SwitchboardProviders
import Testing
import SwitchboardTesting

@Suite struct LimitsConfigTests {
    @Test func limitsAndAPostgresStoreAreRead() throws {
        let config = try ConfigLoader.parse(
            """
            [store]
            url = "env:DATABASE_URL"
            pool_timeout_seconds = 2.5

            [limits]
            default_reserve_tokens = 512

            [limits.global]
            rpm = 1000

            [limits.user]
            tpm = 50000
            budget_usd_per_month = 25

            [limits.users."alice"]
            rpm = 10
            budget_usd_per_day = 0.5
            """)
        #expect(config.store.url == .env("DATABASE_URL"))
        #expect(config.store.poolTimeout == .milliseconds(2500))
        #expect(try ConfigLoader.parse("").store.poolTimeout == .seconds(5))
        #expect(config.limits.defaultReserveTokens == 512)
        #expect(config.limits.global == UsageLimits(requestsPerMinute: 1000))
        #expect(config.limits.limits(user: "bob") == UsageLimits(tokensPerMinute: 50000, budgetPerMonth: NanoUSD(25_000_000_000)))
        #expect(config.limits.limits(user: "alice") == UsageLimits(requestsPerMinute: 10, budgetPerDay: NanoUSD(500_000_000)))
    }

    @Test func mistakesNameTheirKeyAndLine() {
        let cases: [(String, String, Int)] = [
            ("[limits.global]\nbudget_usd_per_day = 1\n", "limits.global.budget_usd_per_day", 2),
            ("[limits.user]\nrpm = 0\n", "limits.user.rpm", 2),
            ("[limits]\nburst = 3\n", "limits.burst", 2),
            ("[store]\nurl = \"mysql://x\"\n", "store.url", 2),
            ("[store]\npool_timeout_seconds = 0\n", "store.pool_timeout_seconds", 2),
            ("[store]\npool_timeout_seconds = \"5\"\n", "store.pool_timeout_seconds", 2),
            ("[limits.users.\"bo\"]\nbudget_usd_per_month = \"lots\"\n", "limits.users.bo.budget_usd_per_month", 2),
        ]
        for (text, key, line) in cases {
            let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(text, file: "s.toml") }
            #expect(error?.message.contains(key) == true, "\(error?.message ?? "") should name \(key)")
            #expect(error?.line == line, "\(key)")
        }
    }
}

@Suite struct NativeProviderConfigTests {
    @Test func anAnthropicSectionBuildsTheNativeProviderAndSaysWhatIsMissing() throws {
        let config = try ConfigLoader.parse(
            """
            [providers.anthropic]
            api_key = "env:MY_CLAUDE_KEY"
            base_url = "http://127.0.0.1:9/"
            """)
        let built = try GatewayBuilder(
            config: config, environment: Environment(["MY_CLAUDE_KEY": "sk-ant-api03-x"]),
            transport: NIOHTTPTransport.shared
        ).build()
        let provider = try #require(built.gateway.provider(id: "anthropic") as? AnthropicProvider)
        #expect(!provider.usesOAuth && provider.isConfigured)
        let missing = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(missing.warnings.contains("anthropic skipped: MY_CLAUDE_KEY is not set"))
        // With no sections at all, an OAuth token in the environment is enough.
        let fromEnv = try GatewayBuilder(
            config: SwitchboardConfig(), environment: Environment(["ANTHROPIC_OAUTH_TOKEN": "sk-ant-oat01-y"]),
            transport: NIOHTTPTransport.shared
        ).build()
        #expect((fromEnv.gateway.provider(id: "anthropic") as? AnthropicProvider)?.usesOAuth == true)
        let bad = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[providers.anthropic]\nregion = \"x\"\n") }
        #expect(bad?.line == 2)
    }
}

@Suite struct OllamaConfigTests {
    @Test func anOllamaSectionBuildsTheNativeProviderWithItsOptions() throws {
        let config = try ConfigLoader.parse(
            """
            [providers.ollama]
            base_url = "http://127.0.0.1:11434"
            num_ctx = 16384
            keep_alive = "30m"
            """)
        let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(built.gateway.provider(id: "ollama") is OllamaProvider)
        #expect(built.warnings.isEmpty)
        // Without any section, OLLAMA_HOST is what turns it on.
        let none = try GatewayBuilder(config: SwitchboardConfig(), environment: Environment([:]), transport: NIOHTTPTransport.shared)
            .build()
        #expect(none.gateway.provider(id: "ollama") == nil)
        let host = try GatewayBuilder(
            config: SwitchboardConfig(), environment: Environment(["OLLAMA_HOST": "0.0.0.0"]),
            transport: NIOHTTPTransport.shared
        ).build()
        #expect(host.gateway.provider(id: "ollama") is OllamaProvider)
        let bad = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[providers.ollama]\nnum_ctx = 5\n") }
        #expect(bad?.line == 2)
    }
}

@Suite struct BedrockConfigTests {
    @Test func aBedrockSectionTakesRegionAndProfile() throws {
        let config = try ConfigLoader.parse(
            """
            [providers.bedrock]
            region = "eu-central-1"
            """)
        let env = Environment(["AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s"])
        let built = try GatewayBuilder(config: config, environment: env, transport: NIOHTTPTransport.shared).build()
        #expect(built.gateway.provider(id: "bedrock") is BedrockProvider)
        let noRegion = try GatewayBuilder(
            config: try ConfigLoader.parse("[providers.bedrock]\n"), environment: env,
            transport: NIOHTTPTransport.shared
        ).build()
        #expect(noRegion.warnings == ["bedrock skipped: no region: set [providers.bedrock] region or AWS_REGION"])
        let missingProfile = try GatewayBuilder(
            config: try ConfigLoader.parse("[providers.bedrock]\nregion = \"us-east-1\"\nprofile = \"nope\"\n"),
            environment: Environment(["HOME": "/nonexistent"]), transport: NIOHTTPTransport.shared
        ).build()
        #expect(missingProfile.warnings.first?.contains("profile 'nope'") == true)
    }
}

@Suite struct VertexConfigTests {
    @Test func aVertexSectionReadsItsKeyFileAndSaysWhatIsWrong() throws {
        let file = ScratchFiles.url("sa", suffix: ".json")
        try
            #"{"type": "service_account", "project_id": "p1", "client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"}"#
            .write(to: file, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse("[providers.vertex]\nkey_file = \"\(file.path)\"\nlocation = \"global\"\n")
        let built = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(built.gateway.provider(id: "vertex") is VertexProvider)
        let missing = try GatewayBuilder(
            config: try ConfigLoader.parse("[providers.vertex]\n"), environment: Environment([:]),
            transport: NIOHTTPTransport.shared
        ).build()
        #expect(missing.warnings == ["vertex skipped: no key file: set [providers.vertex] key_file or GOOGLE_APPLICATION_CREDENTIALS"])
        try #"{"type": "authorized_user"}"#.write(to: file, atomically: true, encoding: .utf8)
        let wrong = try GatewayBuilder(config: config, environment: Environment([:]), transport: NIOHTTPTransport.shared).build()
        #expect(wrong.warnings.first?.contains("not service_account") == true)
    }
}
