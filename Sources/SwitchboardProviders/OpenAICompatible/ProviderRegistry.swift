public import SwitchboardCore

/// The built-in OpenAI-compatible services: one row each, all served by `OpenAICompatibleProvider`.
///
/// Rows follow `shared/reference/openai-compatible-registry.tsv` (a copy lives in the test fixtures and a
/// test checks every row against it); quirks come from its companion notes.
public enum ProviderRegistry {
    /// Every built-in descriptor, OpenAI first.
    public static let builtIn: [ProviderDescriptor] = [
        row("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini", .no) {
            $0.renames = ["max_tokens": "max_completion_tokens"]
            $0.reasoningFields = []
            $0.embeddings = true
            $0.images = true
            $0.responsesPath = "/responses"
        },
        row("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "llama-3.3-70b-versatile", .yes) {
            $0.reasoningFields = ["reasoning"]
        },
        row("deepseek", "DeepSeek", "https://api.deepseek.com", "DEEPSEEK_API_KEY", "deepseek-v4-flash", .no) {
            $0.reasoningFields = ["reasoning_content"]
        },
        row("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "openrouter/auto", .yes) {
            $0.reasoningFields = ["reasoning"]
            $0.reasoningStyle = .reasoningObject
            $0.extraHeaders = ["X-Title": "Switchboard"]
        },
        row("xai", "xAI (Grok)", "https://api.x.ai/v1", "XAI_API_KEY", "grok-4.3", .no),
        row("mistral", "Mistral AI", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "mistral-small-latest", .yes) {
            $0.embeddings = true
        },
        row("perplexity", "Perplexity (Sonar)", "https://api.perplexity.ai", "PERPLEXITY_API_KEY", "sonar", .no),
        row("together", "Together AI", "https://api.together.ai/v1", "TOGETHER_API_KEY", "openai/gpt-oss-20b", .no) {
            $0.embeddings = true
            $0.images = true
        },
        row(
            "fireworks", "Fireworks AI", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY",
            "accounts/fireworks/models/gpt-oss-120b", .no),
        Cerebras.descriptor,
        row(
            "sambanova", "SambaNova Cloud", "https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY",
            "Meta-Llama-3.3-70B-Instruct", .yes
        ) { $0.note = "free tier not re-verified" },
        row(
            "hyperbolic", "Hyperbolic", "https://api.hyperbolic.xyz/v1", "HYPERBOLIC_API_KEY",
            "meta-llama/Llama-3.3-70B-Instruct", .no),
        row(
            "novita", "Novita AI", "https://api.novita.ai/openai", "NOVITA_API_KEY",
            "meta-llama/llama-3.3-70b-instruct", .no),
        row(
            "lepton", "Lepton AI (serverless discontinued)", "https://llama3-1-8b.lepton.run/api/v1", "LEPTON_API_KEY",
            "llama3-1-8b", .no
        ) { $0.note = "serverless endpoints discontinued; kept for compatibility, expect failures" },
        row("corethink", "CoreThink", "https://api.corethink.ai/v1", "CORETHINK_API_KEY", "corethink", .no) {
            $0.note = "unconfirmed: model id and routes"
        },
        row(
            "featherless", "Featherless AI", "https://api.featherless.ai/v1", "FEATHERLESS_API_KEY",
            "Qwen/Qwen2.5-7B-Instruct", .no),
        row("requesty", "Requesty", "https://router.requesty.ai/v1", "REQUESTY_API_KEY", "openai/gpt-4o-mini", .no),
        row("glama", "Glama Gateway", "https://glama.ai/api/gateway/openai/v1", "GLAMA_API_KEY", "openai/gpt-4o-mini", .no) {
            $0.note = "unconfirmed: default model"
        },
        row("chutes", "Chutes", "https://llm.chutes.ai/v1", "CHUTES_API_KEY", "deepseek-ai/DeepSeek-V3.2-TEE", .no),
        row(
            "cohere", "Cohere (Compatibility API)", "https://api.cohere.ai/compatibility/v1", "COHERE_API_KEY",
            "command-a-03-2025", .yes
        ) {
            $0.streamUsage = false
            $0.dropParams = ["stream_options"]
            $0.embeddings = true
        },
        row(
            "gemini", "Google Gemini (OpenAI compatibility)", "https://generativelanguage.googleapis.com/v1beta/openai",
            "GEMINI_API_KEY", "gemini-2.5-flash", .yes
        ) {
            $0.embeddings = true
            $0.apiKeyEnvAliases = ["GOOGLE_API_KEY"]
        },
        row("moonshot", "Moonshot AI (Kimi)", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", "kimi-k2.6", .no) {
            $0.reasoningFields = ["reasoning_content"]
        },
        row(
            "glm", "Zhipu AI BigModel (GLM, China)", "https://open.bigmodel.cn/api/paas/v4", "ZHIPUAI_API_KEY",
            "glm-4.5-flash", .yes
        ) {
            $0.reasoningFields = ["reasoning_content"]
            $0.reasoningStyle = .thinkingType
        },
        row(
            "doubao", "Volcengine Ark (Doubao)", "https://ark.cn-beijing.volces.com/api/v3", "ARK_API_KEY",
            "doubao-seed-1-6-251015", .no
        ) {
            $0.reasoningFields = ["reasoning_content"]
            $0.reasoningStyle = .thinkingType
        },
        row(
            "qwen", "Alibaba Cloud Model Studio (Qwen, DashScope compatible-mode)",
            "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY", "qwen-plus", .no
        ) {
            $0.reasoningFields = ["reasoning_content"]
            $0.reasoningStyle = .enableThinking
        },
        row("zai", "Z.ai (GLM, international)", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", "glm-4.5-flash", .yes) {
            $0.reasoningFields = ["reasoning_content"]
            $0.reasoningStyle = .thinkingType
        },
        row("yi", "01.AI Yi (Lingyiwanwu)", "https://api.lingyiwanwu.com/v1", "YI_API_KEY", "yi-lightning", .no) {
            $0.note = "unconfirmed: availability and key variable name"
        },
        row("minimax", "MiniMax", "https://api.minimax.io/v1", "MINIMAX_API_KEY", "MiniMax-M2", .no) {
            $0.renames = ["max_tokens": "max_completion_tokens"]
            $0.reasoningFields = ["reasoning_details", "reasoning_content"]
        },
        row(
            "hunyuan", "Tencent Hunyuan", "https://api.hunyuan.cloud.tencent.com/v1", "HUNYUAN_API_KEY",
            "hunyuan-turbos-latest", .yes
        ) { $0.note = "unconfirmed: host variant and free tier" },
        row("stepfun", "StepFun", "https://api.stepfun.com/v1", "STEPFUN_API_KEY", "step-3.5-flash", .no),
        row("lmstudio", "LM Studio (local server)", "http://localhost:1234/v1", nil, nil, .local),
        row("llamacpp", "llama.cpp server (llama-server)", "http://localhost:8080/v1", nil, nil, .local),
        row("localai", "LocalAI", "http://localhost:8080/v1", nil, nil, .local),
        row("litellm", "LiteLLM Proxy", "http://localhost:4000", "LITELLM_MASTER_KEY", nil, .local),
        row("ollama_openai", "Ollama (OpenAI-compatible /v1)", "http://localhost:11434/v1", nil, "llama3.2", .local) {
            $0.reasoningFields = ["reasoning"]
            $0.embeddings = true
        },
    ]

    /// The descriptor with this id.
    public static func descriptor(id: String) -> ProviderDescriptor? {
        builtIn.first { $0.id == id }
    }

    private static func row(
        _ id: String, _ name: String, _ base: String, _ keyEnv: String?, _ model: String?, _ free: FreeTier,
        _ quirks: (inout ProviderDescriptor) -> Void = { _ in }
    ) -> ProviderDescriptor {
        ProviderDescriptor(id: id, displayName: name, baseURL: base, apiKeyEnv: keyEnv, defaultModel: model, freeTier: free)
            .with(quirks)
    }
}

/// Cerebras: an OpenAI-compatible row with its own reasoning controls, catalogue and plan tiers.
public enum Cerebras {
    /// Plan limits from the seed: enforced client-side when `[providers.cerebras] tier` names one.
    public static let tiers: [String: RateLimitTier] = [
        "free": RateLimitTier(name: "free", requestsPerMinute: 10, tokensPerMinute: 150_000, tokensPerDay: 1_000_000),
        "developer": RateLimitTier(name: "developer", requestsPerMinute: 250, tokensPerMinute: 250_000),
    ]

    /// The Cerebras descriptor.
    public static let descriptor = ProviderDescriptor(
        id: "cerebras", displayName: "Cerebras", baseURL: "https://api.cerebras.ai/v1",
        apiKeyEnv: "CEREBRAS_API_KEY", defaultModel: "gpt-oss-120b", freeTier: .yes
    ).with {
        $0.baseURLEnv = "CEREBRAS_ENDPOINT"
        $0.baseURLEnvAliases = ["CEREBRAS_URL"]
        $0.renames = ["max_tokens": "max_completion_tokens"]
        $0.reasoningFields = ["reasoning"]
        $0.reasoningStyle = .cerebras
        $0.replayReasoningField = "reasoning"
        $0.tiers = tiers
        $0.catalogue = [
            CatalogueEntry(
                "zai-glm-4.7", context: 131_072, input: "2.25", output: "2.75",
                capabilities: [.chat, .streaming, .tools, .structuredOutput, .reasoning]),
            CatalogueEntry("qwen-3-32b", context: 128_000, input: "0.15", output: "0.30"),
            CatalogueEntry("llama-3.3-70b", context: 128_000, input: "0.85", output: "1.20"),
            CatalogueEntry("llama3.1-8b", context: 128_000, input: "0.10", output: "0.10"),
        ]
    }
}
