public import Logging
import Synchronization

/// What a provider or model can do.
public enum Capability: String, Sendable, Hashable, Codable, CaseIterable {
    case chat, streaming, tools, reasoning, structuredOutput, embeddings, vision, images
    /// Serves OpenAI's Responses API itself, so a Responses request goes to it as the client wrote it.
    case responses
}

/// Per-call context: logger, request id and deadline. Cancellation is the calling task's.
public struct CallContext: Sendable {
    /// Where the call logs; log calls add `request_id` themselves (setting logger metadata per request
    /// costs a re-render of the metadata in common handlers).
    public var logger: Logger
    /// The id that ties this call to the client's request.
    public var requestID: String
    /// When the whole call must be done.
    public var deadline: ContinuousClock.Instant
    /// Collects the providers tried for this call (the router appends), for the ledger's attempt count.
    public var trace: CallTrace?
    /// The agent session the client asked to continue (`x-switchboard-session`), for providers that keep sessions.
    public var session: String?
    /// The longest wait for a streamed call's first byte, over the provider's own setting (a lane's TTFT timeout).
    public var firstByteTimeout: Duration?
    /// Watches each upstream attempt as it happens (tracing); nil when nothing watches.
    public var observer: (any AttemptObserver)?
    /// Headers every upstream request of this call carries (a trace's `traceparent`), added by the transport.
    public var upstreamHeaders: [(String, String)] = []

    /// Creates a context with a timeout from now.
    public init(logger: Logger, requestID: String, timeout: Duration = .seconds(600)) {
        self.logger = logger
        self.requestID = requestID
        self.deadline = .now + timeout
    }

    /// A copy that records provider attempts in a new trace.
    public func traced() -> CallContext {
        var copy = self
        copy.trace = CallTrace()
        return copy
    }

    /// Time left before the deadline (zero when past it).
    public var remaining: Duration { max(.zero, deadline - .now) }
}

/// Watches the upstream attempts of one call as they happen: the router tells it when an attempt at a slot begins and
/// how it ends, so a tracer can give each attempt its own span and carry it upstream.
public protocol AttemptObserver: Sendable {
    /// An attempt at `provider`, asking for `model`, begins; returns the headers that carry it upstream.
    func began(provider: String, model: String) -> [(String, String)]
    /// The attempt that began last ended: `error` nil when it answered (a stream: when it finished).
    func ended(_ error: ProviderError?)
}

/// A provider that tries other providers' slots and tells the call's observer of each attempt itself (the router, a
/// lane); found with `as?`, so a caller begins an attempt of its own only for a provider that is not one.
public protocol RoutingProvider: LLMProvider {}

extension CallContext {
    /// The context of one attempt at `provider`: the observer is told it began and its headers go upstream.
    public func attempt(_ provider: String, model: String) -> CallContext {
        guard let observer else { return self }
        var copy = self
        copy.upstreamHeaders = observer.began(provider: provider, model: model)
        return copy
    }
}

/// A model a provider serves.
public struct ModelInfo: Sendable, Hashable {
    /// The model id as the provider names it.
    public var id: String
    /// The provider's id.
    public var provider: String
    /// A human name, when known.
    public var displayName: String?
    /// Context window in tokens, when known.
    public var contextWindow: Int?
    /// Input price per million tokens, nil when unknown.
    public var inputPricePerMillion: NanoUSD?
    /// Output price per million tokens, nil when unknown.
    public var outputPricePerMillion: NanoUSD?
    public var capabilities: Set<Capability>

    /// Creates a model description.
    public init(
        id: String, provider: String, displayName: String? = nil, contextWindow: Int? = nil,
        inputPricePerMillion: NanoUSD? = nil, outputPricePerMillion: NanoUSD? = nil,
        capabilities: Set<Capability> = [.chat, .streaming]
    ) {
        self.id = id
        self.provider = provider
        self.displayName = displayName
        self.contextWindow = contextWindow
        self.inputPricePerMillion = inputPricePerMillion
        self.outputPricePerMillion = outputPricePerMillion
        self.capabilities = capabilities
    }

    /// The model's price, when both input and output prices are known.
    public var price: ModelPrice? {
        guard let i = inputPricePerMillion, let o = outputPricePerMillion else { return nil }
        return ModelPrice(inputPerMillion: i, outputPerMillion: o)
    }
}

/// The result of a health probe.
public struct ProviderHealth: Sendable, Hashable {
    /// Health states.
    public enum Status: String, Sendable, Hashable, Codable {
        case healthy, degraded, down
    }

    public var status: Status
    /// How long the probe took.
    public var latency: Duration?
    /// Detail for a person: the error, or remaining rate limits.
    public var message: String?

    /// Creates a health result.
    public init(status: Status, latency: Duration? = nil, message: String? = nil) {
        self.status = status
        self.latency = latency
        self.message = message
    }
}

/// A source of chat completions.
public protocol LLMProvider: Sendable {
    /// Stable id, used in `provider/model` names and config.
    var id: String { get }
    /// Name for people.
    var displayName: String { get }
    /// What it can do.
    var capabilities: Set<Capability> { get }
    /// Whether it has what it needs (credentials, endpoint) to make calls.
    var isConfigured: Bool { get }
    /// One complete answer.
    func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse
    /// The answer as it is generated; the stream throws on failure and never ends silently early.
    func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error>
    /// The models it serves.
    func models(context: CallContext) async throws -> [ModelInfo]
    /// A cheap real probe.
    func health(context: CallContext) async -> ProviderHealth
}

extension LLMProvider {
    /// Default `chat`: drain `stream` through the shared accumulator.
    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        try await StreamAccumulator.collect(stream(request, context: context))
    }
}

/// Embedding vectors for a batch of inputs.
public struct EmbeddingResponse: Sendable, Hashable {
    /// One vector per input, in input order.
    public var vectors: [[Double]]
    public var model: String
    public var usage: Usage

    /// Creates an embedding response.
    public init(vectors: [[Double]], model: String, usage: Usage) {
        self.vectors = vectors
        self.model = model
        self.usage = usage
    }
}

/// A provider that also computes embeddings; found with `as?`.
public protocol EmbeddingProvider: LLMProvider {
    /// Embeds each input text.
    func embed(_ inputs: [String], model: String, context: CallContext) async throws -> EmbeddingResponse
}

/// What to draw.
public struct ImageRequest: Sendable, Hashable {
    public var prompt: String
    public var model: String
    /// How many images.
    public var count: Int
    /// `"1024x1024"` and the like, as the provider names sizes; nil for its default.
    public var size: String?

    /// Creates a request.
    public init(prompt: String, model: String, count: Int = 1, size: String? = nil) {
        self.prompt = prompt
        self.model = model
        self.count = count
        self.size = size
    }
}

/// One generated image: base64 data or a URL, as the provider returned it.
public struct GeneratedImage: Sendable, Hashable {
    public var base64: String?
    public var url: String?
    public var revisedPrompt: String?

    /// Creates an image.
    public init(base64: String? = nil, url: String? = nil, revisedPrompt: String? = nil) {
        self.base64 = base64
        self.url = url
        self.revisedPrompt = revisedPrompt
    }
}

/// A provider with an images API; found with `as?`.
public protocol ImageGenerationProvider: LLMProvider {
    /// Generates images for a prompt.
    func generateImages(_ request: ImageRequest, context: CallContext) async throws -> [GeneratedImage]
}

/// The slots one call tried or skipped, in order, with the model each was asked for and how it ended, and the lanes it
/// went through: the ledger's attempt count, the price of the model that answered, and `x-switchboard-route`.
public final class CallTrace: Sendable {
    /// One slot, tried or skipped.
    public struct Entry: Sendable {
        public var provider: String
        public var model: String
        /// Nil while tried and not failed (the one that answered); else why it was left.
        public var failure: ProviderError?
        public var skipped: Bool
        /// Why it was skipped, in a word (`cooling`, `circuit_open`).
        public var reason: String?
    }

    private struct State {
        var entries: [Entry] = [] {
            didSet { route = nil }
        }
        var lanes: [String] = [] {
            didSet { route = nil }
        }
        var session: String?
        /// `route`, once asked for, until the entries or lanes change (the header and the ledger both ask).
        var route: String??
    }

    private let state = Mutex(State())

    /// An empty trace.
    public init() {}

    /// Notes one attempt at `provider`, asking it for `model`.
    public func attempt(_ provider: String, model: String) {
        state.withLock { $0.entries.append(Entry(provider: provider, model: model, failure: nil, skipped: false, reason: nil)) }
    }

    /// The last attempt failed with `error`.
    public func failed(_ error: ProviderError) {
        state.withLock { s in
            guard let last = s.entries.indices.last else { return }
            s.entries[last].failure = error
        }
    }

    /// A slot passed over (cooling down, unreachable until probed, or its circuit breaker open), `reason` in a word.
    public func skipped(_ provider: String, model: String, because error: ProviderError, reason: String) {
        state.withLock { $0.entries.append(Entry(provider: provider, model: model, failure: error, skipped: true, reason: reason)) }
    }

    /// The provider that answered keeps a session under `id` the client may continue.
    public func noteSession(_ id: String) {
        state.withLock { $0.session = id }
    }

    /// The lanes the call entered, outermost first.
    public var lanes: [String] { state.withLock { $0.lanes } }

    /// The session the answering provider kept, if any.
    public var session: String? { state.withLock { $0.session } }

    /// The call entered a lane.
    public func entered(lane: String) {
        state.withLock { $0.lanes.append(lane) }
    }

    /// Providers tried, first to last (skipped slots are not attempts).
    public var attempts: [String] { state.withLock { $0.entries.filter { !$0.skipped }.map(\.provider) } }

    /// How many slots were tried (skipped slots are not attempts).
    public var attemptCount: Int { state.withLock { $0.entries.reduce(0) { $1.skipped ? $0 : $0 + 1 } } }

    /// Every slot tried or skipped, first to last.
    public var entries: [Entry] { state.withLock { $0.entries } }

    /// The model the last attempt at `provider` asked for (a router's slot or a lane's may name its own).
    public func model(askedOf provider: String) -> String? {
        state.withLock { $0.entries.last { $0.provider == provider && !$0.skipped }?.model }
    }

    /// One compact line: the lanes entered, then each slot and how it ended, e.g.
    /// `lane:fast: groq/llama=failed(overloaded 503), cerebras/llama=skipped(rate_limited), up/m=ok`; nil when nothing
    /// was routed.
    public var route: String? {
        state.withLock { s in
            if let route = s.route { return route }
            let route = Self.route(s)
            s.route = .some(route)
            return route
        }
    }

    private static func route(_ s: State) -> String? {
        guard !s.entries.isEmpty else { return nil }
        let slots = s.entries.map { e -> String in
            let outcome: String
            if let failure = e.failure {
                let status = failure.status.map { " \($0)" } ?? ""
                outcome = e.skipped ? "skipped(\(e.reason ?? failure.kind.name))" : "failed(\(failure.kind.name)\(status))"
            } else {
                outcome = "ok"
            }
            return "\(e.provider)/\(e.model)=\(outcome)"
        }
        let lanes = s.lanes.isEmpty ? "" : s.lanes.joined(separator: ">") + ": "
        return lanes + slots.joined(separator: ", ")
    }
}
