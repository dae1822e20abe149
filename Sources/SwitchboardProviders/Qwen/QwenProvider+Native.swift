import SwitchboardCore
import Foundation

extension NativeProvider {
    /// `[providers.qwen_oauth]`: qwen-code's OAuth credentials (from `switchboard login qwen`), refreshed as needed.
    public static let qwenOAuth = NativeProvider(
        listing: .init(
            id: "qwen_oauth", name: "Qwen (OAuth)", keyVariables: "~/.qwen/oauth_creds.json from `switchboard login qwen`",
            baseURL: "https://portal.qwen.ai/v1", note: "device flow + PKCE, refreshed automatically; observed API"),
        takesAPIKey: false, keys: [Key("credentials_path")]
    ) { setup in
        let path = setup.section.string("credentials_path").map(setup.expand) ?? QwenTokens.defaultPath(home: setup.home)
        guard FileManager.default.fileExists(atPath: path) else {
            return .failure(Unavailable("no Qwen credentials at \(path): run `switchboard login qwen`"))
        }
        let base = setup.environment["SWITCHBOARD_QWEN_OAUTH_URL"] ?? QwenTokens.oauthBase
        return .success(
            OAuthProviders.qwen(
                tokens: QwenTokens(path: path, tokenURL: base + "/api/v1/oauth2/token", transport: setup.transport),
                baseURL: setup.section.baseURL, modelOverride: setup.section.model, transport: setup.transport))
    }
}

extension QwenTokens {
    /// qwen-code's credentials file, shared with it.
    public static func defaultPath(home: String) -> String { home + "/.qwen/oauth_creds.json" }
}
