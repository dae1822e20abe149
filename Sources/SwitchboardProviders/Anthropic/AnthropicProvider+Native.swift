import SwitchboardCore
extension NativeProvider {
    /// `[providers.anthropic]`: an API key, or an OAuth token (`sk-ant-oat...`) sent as a bearer token.
    public static let anthropic = NativeProvider(
        listing: .init(
            id: "anthropic", name: "Anthropic", keyVariables: "ANTHROPIC_API_KEY | ANTHROPIC_OAUTH_TOKEN",
            baseURL: "https://api.anthropic.com", note: "native Messages API; sk-ant-oat tokens sent as OAuth"),
        takesAPIKey: true, keys: []
    ) { setup in
        // An explicit key, else ANTHROPIC_API_KEY, else an OAuth token from ANTHROPIC_OAUTH_TOKEN.
        let key: String?
        switch credential(setup, variables: ["ANTHROPIC_API_KEY", "ANTHROPIC_OAUTH_TOKEN"]) {
        case .success(let value): key = value
        case .failure(let missing): return .failure(missing)
        }
        guard let key, !key.isEmpty else {
            return .failure(Unavailable("ANTHROPIC_API_KEY (or ANTHROPIC_OAUTH_TOKEN) is not set"))
        }
        var options = AnthropicProvider.Options(credential: key)
        if let base = setup.section.baseURL ?? setup.environment["ANTHROPIC_BASE_URL"] {
            guard !ProviderSection.carriesCredentials(base) else {
                return .failure(Unavailable("ANTHROPIC_BASE_URL must not carry credentials (user:password@)"))
            }
            options.baseURL = base
        }
        options.modelOverride = setup.section.model
        return .success(AnthropicProvider(options: options, transport: setup.transport))
    }
}
