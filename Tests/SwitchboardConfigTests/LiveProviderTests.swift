import Foundation
import SwitchboardConfig
import SwitchboardCore
import SwitchboardProviders
import Testing

/// Real calls, only where real credentials are in the environment (never in CI, which has no network):
/// each configured native provider answers a two-word prompt, plain and streamed.
@Suite struct LiveProviderTests {
    static let environment = ProcessInfo.processInfo.environment
    static let live: [String] = {
        guard environment["SWITCHBOARD_LIVE_TESTS"] == "1" else { return [] }
        let built = try? GatewayBuilder(
            config: SwitchboardConfig(), environment: Environment(environment),
            transport: NIOHTTPTransport.shared
        ).build()
        return built?.gateway.providers.map(\.id).filter { $0 != "mock" } ?? []
    }()

    @Test(.enabled(if: !live.isEmpty, "set SWITCHBOARD_LIVE_TESTS=1 and a provider's credentials"), arguments: live)
    func aRealProviderAnswersPlainAndStreamed(id: String) async throws {
        let built = try GatewayBuilder(
            config: SwitchboardConfig(), environment: Environment(Self.environment),
            transport: NIOHTTPTransport.shared
        ).build()
        let provider = try #require(built.gateway.provider(id: id))
        let request = ChatRequest(model: "", messages: [.user("Reply with the single word OK.")], maxTokens: 20)
        let context = CallContext(logger: .init(label: "live"), requestID: "live", timeout: .seconds(60))
        let plain = try await provider.chat(request, context: context)
        #expect(!plain.content.isEmpty && plain.usage != nil)
        var acc = StreamAccumulator()
        for try await e in provider.stream(request, context: context) { acc.add(e) }
        #expect(!acc.response.content.isEmpty)
    }
}
