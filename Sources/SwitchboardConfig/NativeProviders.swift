public import SwitchboardCore
import SwitchboardProviders

/// Providers with their own wire format and authentication, built from their config sections.
public enum NativeProviders {
    /// One native provider as `switchboard providers` lists it.
    public struct Listing: Sendable {
        public let id: String
        public let name: String
        public let keyVariables: String
        public let baseURL: String
        public let note: String
    }

    /// Every native provider this build has.
    public static let listings: [Listing] = [
        Listing(id: "anthropic", name: "Anthropic", keyVariables: "ANTHROPIC_API_KEY | ANTHROPIC_OAUTH_TOKEN",
                baseURL: "https://api.anthropic.com", note: "native Messages API; sk-ant-oat tokens sent as OAuth"),
    ]

    /// Section ids, in the seed's selection order.
    static let ids = listings.map(\.id)

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func make(_ section: ProviderSection, environment: Environment, transport: any HTTPTransport)
        -> Result<any LLMProvider, Missing>
    {
        switch section.id {
        case "anthropic":
            // An explicit key, else ANTHROPIC_API_KEY, else an OAuth token from ANTHROPIC_OAUTH_TOKEN.
            let credential: String?
            switch section.apiKey {
            case .literal(let k)?: credential = k
            case .env(let name)?:
                guard let v = environment[name] else { return .failure(Missing(description: "\(name) is not set")) }
                credential = v
            case nil: credential = environment["ANTHROPIC_API_KEY"] ?? environment["ANTHROPIC_OAUTH_TOKEN"]
            }
            guard let credential, !credential.isEmpty else {
                return .failure(Missing(description: "ANTHROPIC_API_KEY (or ANTHROPIC_OAUTH_TOKEN) is not set"))
            }
            var options = AnthropicProvider.Options(credential: credential)
            if let base = section.baseURL ?? environment["ANTHROPIC_BASE_URL"] { options.baseURL = base }
            options.modelOverride = section.model
            return .success(AnthropicProvider(options: options, transport: transport))
        default:
            return .failure(Missing(description: "no native provider '\(section.id)'"))
        }
    }
}
