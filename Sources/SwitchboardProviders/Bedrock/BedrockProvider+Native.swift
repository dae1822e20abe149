import SwitchboardCore
extension NativeProvider {
    /// `[providers.bedrock]`: Converse over SigV4 (or a Bedrock API key as `api_key`).
    public static let bedrock = NativeProvider(
        listing: .init(
            id: "bedrock", name: "AWS Bedrock",
            keyVariables: "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials, AWS_BEARER_TOKEN_BEDROCK); AWS_REGION",
            baseURL: "https://bedrock-runtime.{region}.amazonaws.com", note: "Converse / ConverseStream, SigV4"),
        takesAPIKey: true, keys: [Key("region"), Key("profile")]
    ) { setup in
        let section = setup.section
        var values = setup.environment
        // Without a section, only credentials in the environment turn Bedrock on, never a profile file.
        if section.line == nil, values["AWS_ACCESS_KEY_ID"] == nil, values["AWS_BEARER_TOKEN_BEDROCK"] == nil {
            return .failure(Unavailable("no AWS credentials in the environment"))
        }
        if section.apiKey != nil {
            switch credential(setup, variables: []) {
            case .success(let key): values["AWS_BEARER_TOKEN_BEDROCK"] = key
            case .failure(let missing): return .failure(missing)
            }
        }
        let profile = section.string("profile")
        guard let auth = BedrockAuth.resolve(environment: values, profile: profile) else {
            let from =
                profile.map { "profile '\($0)' in ~/.aws/credentials" } ?? "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials"
            return .failure(Unavailable("no AWS credentials (\(from))"))
        }
        guard let region = section.string("region") ?? values["AWS_REGION"] ?? values["AWS_DEFAULT_REGION"] else {
            return .failure(Unavailable("no region: set [providers.bedrock] region or AWS_REGION"))
        }
        var options = BedrockProvider.Options(auth: auth, region: region)
        options.runtimeURL = section.baseURL
        options.modelOverride = section.model
        return .success(BedrockProvider(options: options, transport: setup.transport))
    }
}
