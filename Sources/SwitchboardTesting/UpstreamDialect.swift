public import CryptoExtras
public import Foundation
public import SwitchboardCore
public import SwitchboardProviders

/// The wire dialects the fake upstream answers in, each with the provider that speaks it pointed at a fake: one
/// suite (or matrix) runs the same request through every dialect.
public enum UpstreamDialect: String, CaseIterable, Sendable {
    case openAICompatible, anthropic, bedrock, vertex, ollama

    /// The provider of this dialect, with the id its factory gives it, talking to `fake`.
    public func provider(at fake: FakeUpstream, key: String = "sk-secret-conformance-key") throws -> any LLMProvider {
        let root = String(fake.baseURL.dropLast(3))
        switch self {
        case .openAICompatible:
            // A registry row whose service returns reasoning text (OpenAI's own does not).
            var options = OpenAICompatibleProvider.Options(descriptor: ProviderRegistry.descriptor(id: "groq")!, apiKey: key)
            options.baseURL = fake.baseURL
            return OpenAICompatibleProvider(options: options, transport: NIOHTTPTransport.shared)
        case .anthropic:
            var options = AnthropicProvider.Options(credential: key)
            options.baseURL = root
            return AnthropicProvider(options: options, transport: NIOHTTPTransport.shared)
        case .ollama:
            var options = OllamaProvider.Options()
            options.baseURL = root
            options.apiKey = key
            return OllamaProvider(options: options, transport: NIOHTTPTransport.shared)
        case .bedrock:
            var options = BedrockProvider.Options(
                auth: .sigV4(AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: key)), region: "us-east-1")
            options.runtimeURL = root
            options.controlURL = root
            return BedrockProvider(options: options, transport: NIOHTTPTransport.shared)
        case .vertex:
            var options = VertexProvider.Options(key: try TestServiceAccount.key(tokenURI: root + "/token"))
            options.baseURL = root
            return VertexProvider(options: options, transport: NIOHTTPTransport.shared)
        }
    }
}

/// A throwaway service account: one RSA key per test run, in the key file's JSON shape.
public enum TestServiceAccount {
    /// The account's key.
    public static let privateKey: _RSA.Signing.PrivateKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    /// The key file's JSON.
    public static func json(tokenURI: String) -> JSONValue {
        [
            "type": "service_account", "project_id": "switchboard-test", "private_key_id": "key-1",
            "private_key": .string(privateKey.pkcs8PEMRepresentation), "client_email": "svc@switchboard-test.iam.gserviceaccount.com",
            "token_uri": .string(tokenURI),
        ]
    }

    /// The key, read as a gateway reads a key file.
    public static func key(tokenURI: String) throws -> ServiceAccountKey {
        try ServiceAccountKey(json: Data(json(tokenURI: tokenURI).jsonBytes()))
    }
}
