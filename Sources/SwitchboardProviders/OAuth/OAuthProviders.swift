public import SwitchboardCore

/// Copilot and Qwen speak OpenAI's chat format once authorised: the one adapter, with a token source and
/// each service's headers.
public enum OAuthProviders {
    /// GitHub Copilot's chat API (base URL from the token exchange's `endpoints.api`).
    public static let copilotDescriptor = ProviderDescriptor(
        id: "copilot", displayName: "GitHub Copilot", baseURL: "https://api.githubcopilot.com", apiKeyEnv: nil, defaultModel: "gpt-4.1",
        freeTier: .no
    ).with {
        $0.extraHeaders = CopilotTokens.editorHeaders
        $0.note = "observed API (editor integration), not a documented public one"
    }

    /// Qwen's DashScope-compatible API for OAuth users (base URL from the credentials' `resource_url`).
    public static let qwenDescriptor = ProviderDescriptor(
        id: "qwen_oauth", displayName: "Qwen (OAuth)", baseURL: QwenTokens.fallbackBaseURL, apiKeyEnv: nil, defaultModel: "coder-model",
        freeTier: .yes
    ).with {
        $0.extraHeaders = QwenTokens.headers
        $0.note = "observed from qwen-code; free quota unconfirmed"
    }

    /// Copilot over a token source.
    public static func copilot(
        tokens: CopilotTokens, baseURL: String? = nil, modelOverride: String? = nil,
        transport: any HTTPTransport
    ) -> OpenAICompatibleProvider {
        var options = OpenAICompatibleProvider.Options(descriptor: copilotDescriptor)
        options.tokenSource = tokens
        options.baseURL = baseURL
        options.modelOverride = modelOverride
        return OpenAICompatibleProvider(options: options, transport: transport)
    }

    /// Qwen over a token source.
    public static func qwen(
        tokens: QwenTokens, baseURL: String? = nil, modelOverride: String? = nil,
        transport: any HTTPTransport
    ) -> OpenAICompatibleProvider {
        var options = OpenAICompatibleProvider.Options(descriptor: qwenDescriptor)
        options.tokenSource = tokens
        options.baseURL = baseURL
        options.modelOverride = modelOverride
        return OpenAICompatibleProvider(options: options, transport: transport)
    }
}
