import SwitchboardCore
extension NativeProvider {
    /// `[providers.copilot]`: a GitHub token (from `switchboard login copilot`) exchanged for Copilot's short-lived key.
    public static let copilot = NativeProvider(
        listing: .init(
            id: "copilot", name: "GitHub Copilot", keyVariables: "token file from `switchboard login copilot`",
            baseURL: "https://api.githubcopilot.com", note: "GitHub token exchanged for a ~30 min key; observed API"),
        takesAPIKey: false, keys: [Key("token_path")]
    ) { setup in
        let path = setup.section.string("token_path").map(setup.expand) ?? CopilotTokens.defaultPath(home: setup.home)
        let token: String
        do throws(ProviderError) { token = try CopilotTokens.githubToken(fromFile: path) } catch {
            return .failure(Unavailable(error.message))
        }
        let exchange = setup.environment["SWITCHBOARD_COPILOT_TOKEN_URL"] ?? "https://api.github.com/copilot_internal/v2/token"
        return .success(
            OAuthProviders.copilot(
                tokens: CopilotTokens(githubToken: token, exchangeURL: exchange, transport: setup.transport),
                baseURL: setup.section.baseURL, modelOverride: setup.section.model, transport: setup.transport))
    }
}

extension CopilotTokens {
    /// Where `login copilot` writes the GitHub token by default.
    public static func defaultPath(home: String) -> String { home + "/.config/switchboard/copilot.json" }
}
