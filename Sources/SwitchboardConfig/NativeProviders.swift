public import SwitchboardCore
import Foundation
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
        Listing(
            id: "anthropic", name: "Anthropic", keyVariables: "ANTHROPIC_API_KEY | ANTHROPIC_OAUTH_TOKEN",
            baseURL: "https://api.anthropic.com", note: "native Messages API; sk-ant-oat tokens sent as OAuth"),
        Listing(
            id: "ollama", name: "Ollama", keyVariables: "OLLAMA_HOST (no key locally; OLLAMA_API_KEY for the cloud)",
            baseURL: "http://127.0.0.1:11434", note: "native /api/chat with NDJSON streaming, /api/tags, /api/embed"),
        Listing(
            id: "bedrock", name: "AWS Bedrock",
            keyVariables: "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials, AWS_BEARER_TOKEN_BEDROCK); AWS_REGION",
            baseURL: "https://bedrock-runtime.{region}.amazonaws.com", note: "Converse / ConverseStream, SigV4"),
        Listing(
            id: "vertex", name: "Google Vertex AI", keyVariables: "GOOGLE_APPLICATION_CREDENTIALS (service-account key file)",
            baseURL: "https://{location}-aiplatform.googleapis.com", note: "Gemini generateContent; RS256 JWT exchanged for cached tokens"),
        Listing(
            id: "copilot", name: "GitHub Copilot", keyVariables: "token file from `switchboard login copilot`",
            baseURL: "https://api.githubcopilot.com", note: "GitHub token exchanged for a ~30 min key; observed API"),
        Listing(
            id: "qwen_oauth", name: "Qwen (OAuth)", keyVariables: "~/.qwen/oauth_creds.json from `switchboard login qwen`",
            baseURL: "https://portal.qwen.ai/v1", note: "device flow + PKCE, refreshed automatically; observed API"),
    ]

    /// Where `login copilot` writes the GitHub token by default.
    public static func defaultCopilotTokenPath(home: String) -> String { home + "/.config/switchboard/copilot.json" }
    /// qwen-code's credentials file, shared with it.
    public static func defaultQwenCredentialsPath(home: String) -> String { home + "/.qwen/oauth_creds.json" }

    /// Section ids, in the seed's selection order.
    static let ids = listings.map(\.id)

    static func expand(_ path: String, home: String) -> String {
        path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func make(
        _ section: ProviderSection, environment: Environment, transport: any HTTPTransport
    )
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
            if let base = section.baseURL ?? environment["ANTHROPIC_BASE_URL"] {
                guard !ConfigLoader.carriesCredentials(base) else {
                    return .failure(Missing(description: "ANTHROPIC_BASE_URL must not carry credentials (user:password@)"))
                }
                options.baseURL = base
            }
            options.modelOverride = section.model
            return .success(AnthropicProvider(options: options, transport: transport))
        case "ollama":
            // Ollama needs no key; without a section it is used only when OLLAMA_HOST says where it runs.
            if section.line == nil, section.baseURL == nil, environment["OLLAMA_HOST"] == nil {
                return .failure(Missing(description: "OLLAMA_HOST is not set"))
            }
            if let host = environment["OLLAMA_HOST"], section.baseURL == nil,
                ConfigLoader.carriesCredentials(OllamaTranslation.baseURL(host: host))
            {
                return .failure(Missing(description: "OLLAMA_HOST must not carry credentials (user:password@)"))
            }
            var options = OllamaProvider.Options()
            options.baseURL =
                section.baseURL.map { OllamaTranslation.baseURL(host: $0) } ?? OllamaTranslation.baseURL(host: environment["OLLAMA_HOST"])
            switch section.apiKey {
            case .literal(let k)?: options.apiKey = k
            case .env(let name)?: options.apiKey = environment[name]
            case nil: options.apiKey = environment["OLLAMA_API_KEY"]
            }
            options.modelOverride = section.model
            options.defaults = OllamaTranslation.Defaults(numCtx: section.numCtx, keepAlive: section.keepAlive)
            return .success(OllamaProvider(options: options, transport: transport))
        case "bedrock":
            // Without a section, only credentials in the environment turn Bedrock on, never a profile file.
            if section.line == nil, environment["AWS_ACCESS_KEY_ID"] == nil, environment["AWS_BEARER_TOKEN_BEDROCK"] == nil {
                return .failure(Missing(description: "no AWS credentials in the environment"))
            }
            var values = environment.values
            if case .literal(let key)? = section.apiKey { values["AWS_BEARER_TOKEN_BEDROCK"] = key }
            if case .env(let name)? = section.apiKey {
                guard let key = environment[name] else { return .failure(Missing(description: "\(name) is not set")) }
                values["AWS_BEARER_TOKEN_BEDROCK"] = key
            }
            guard let auth = BedrockAuth.resolve(environment: values, profile: section.profile) else {
                let from =
                    section.profile.map { "profile '\($0)' in ~/.aws/credentials" }
                    ?? "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials"
                return .failure(Missing(description: "no AWS credentials (\(from))"))
            }
            guard let region = section.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] else {
                return .failure(Missing(description: "no region: set [providers.bedrock] region or AWS_REGION"))
            }
            var options = BedrockProvider.Options(auth: auth, region: region)
            options.runtimeURL = section.baseURL
            options.modelOverride = section.model
            return .success(BedrockProvider(options: options, transport: transport))
        case "vertex":
            guard let path = section.keyFile ?? environment["GOOGLE_APPLICATION_CREDENTIALS"] else {
                return .failure(Missing(description: "no key file: set [providers.vertex] key_file or GOOGLE_APPLICATION_CREDENTIALS"))
            }
            let expanded = expand(path, home: environment["HOME"] ?? NSHomeDirectory())
            guard let data = FileManager.default.contents(atPath: expanded) else {
                return .failure(Missing(description: "cannot read the key file \(expanded)"))
            }
            let key: ServiceAccountKey
            do { key = try ServiceAccountKey(json: data) } catch { return .failure(Missing(description: "\(expanded): \(error.message)")) }
            var options = VertexProvider.Options(key: key, projectID: section.projectID ?? environment["GOOGLE_CLOUD_PROJECT"])
            options.location = section.location ?? environment["GOOGLE_CLOUD_LOCATION"] ?? "us-central1"
            options.baseURL = section.baseURL
            options.modelOverride = section.model
            guard !options.projectID.isEmpty else { return .failure(Missing(description: "no project: set [providers.vertex] project_id")) }
            return .success(VertexProvider(options: options, transport: transport))
        case "copilot":
            let home = environment["HOME"] ?? NSHomeDirectory()
            let path = section.tokenPath.map { expand($0, home: home) } ?? defaultCopilotTokenPath(home: home)
            let token: String
            do { token = try CopilotTokens.githubToken(fromFile: path) } catch let e as ProviderError {
                return .failure(Missing(description: e.message))
            } catch { return .failure(Missing(description: "\(error)")) }
            let exchange = environment["SWITCHBOARD_COPILOT_TOKEN_URL"] ?? "https://api.github.com/copilot_internal/v2/token"
            return .success(
                OAuthProviders.copilot(
                    tokens: CopilotTokens(githubToken: token, exchangeURL: exchange, transport: transport),
                    baseURL: section.baseURL, modelOverride: section.model, transport: transport))
        case "qwen_oauth":
            let home = environment["HOME"] ?? NSHomeDirectory()
            let path = section.tokenPath.map { expand($0, home: home) } ?? defaultQwenCredentialsPath(home: home)
            guard FileManager.default.fileExists(atPath: path) else {
                return .failure(Missing(description: "no Qwen credentials at \(path): run `switchboard login qwen`"))
            }
            let tokenURL =
                environment["SWITCHBOARD_QWEN_OAUTH_URL"].map { $0 + "/api/v1/oauth2/token" } ?? QwenTokens.oauthBase
                + "/api/v1/oauth2/token"
            return .success(
                OAuthProviders.qwen(
                    tokens: QwenTokens(path: path, tokenURL: tokenURL, transport: transport),
                    baseURL: section.baseURL, modelOverride: section.model, transport: transport))
        default:
            return .failure(Missing(description: "no native provider '\(section.id)'"))
        }
    }
}
