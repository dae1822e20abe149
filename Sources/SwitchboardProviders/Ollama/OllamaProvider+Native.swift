import SwitchboardCore
extension NativeProvider {
    /// `[providers.ollama]`: the native `/api/chat`; no key locally, `OLLAMA_API_KEY` for Ollama's cloud.
    public static let ollama = NativeProvider(
        listing: .init(
            id: "ollama", name: "Ollama", keyVariables: "OLLAMA_HOST (no key locally; OLLAMA_API_KEY for the cloud)",
            baseURL: "http://127.0.0.1:11434", note: "native /api/chat with NDJSON streaming, /api/tags, /api/embed"),
        takesAPIKey: true, keys: [Key("num_ctx", .int(256...10_000_000)), Key("keep_alive")]
    ) { setup in
        let section = setup.section
        let host = setup.environment["OLLAMA_HOST"]
        // Without a section it is used only when OLLAMA_HOST says where it runs.
        if section.line == nil, section.baseURL == nil, host == nil { return .failure(Unavailable("OLLAMA_HOST is not set")) }
        if let host, section.baseURL == nil, ProviderSection.carriesCredentials(OllamaTranslation.baseURL(host: host)) {
            return .failure(Unavailable("OLLAMA_HOST must not carry credentials (user:password@)"))
        }
        var options = OllamaProvider.Options()
        options.baseURL = OllamaTranslation.baseURL(host: section.baseURL ?? host)
        switch credential(setup, variables: ["OLLAMA_API_KEY"]) {
        case .success(let key): options.apiKey = key
        case .failure: options.apiKey = nil  // a key named but unset: a local server needs none
        }
        options.modelOverride = section.model
        options.defaults = OllamaTranslation.Defaults(numCtx: section.int("num_ctx"), keepAlive: section.string("keep_alive"))
        return .success(OllamaProvider(options: options, transport: setup.transport))
    }
}
