public import NIOCore
public import SwitchboardCore

/// A provider whose upstream speaks OpenAI's chat dialect itself, found with `as?`: a client speaking the same
/// dialect can have its body sent up as it came and the answer sent back untouched, without a decode and encode.
public protocol OpenAIChatForwarding: LLMProvider {
    /// A non-streamed completion as the upstream sent it; with the client's body, that text goes up when it says what
    /// the encoded request would.
    func chatOpenAIBody(_ request: ChatRequest, client: ClientChatBody?, context: CallContext) async throws -> OpenAIChatBody

    /// `chatOpenAIBody` ready to run in callbacks on `loop`, without a task, within `context`'s deadline; nil (having
    /// reserved nothing) when it must wait for something first (a token to fetch, a shared budget to read) or its
    /// transport cannot answer on that loop. Throws when the provider's own limits are spent.
    func loopForward(
        _ request: ChatRequest, client: ClientChatBody?, context: CallContext, on loop: any EventLoop
    ) throws(ProviderError) -> (any LoopForward)?
}

/// What a forwarded completion run on an event loop ends with: the upstream's body, or what `chatOpenAIBody` would
/// have thrown.
public typealias LoopForwardDone = @Sendable (Result<OpenAIChatBody, any Error>) -> Void

/// A forwarded completion ready to run on an event loop. A class: the request it holds is copied once, not into
/// every callback.
public protocol LoopForward: AnyObject, Sendable {
    /// Starts the call, which calls `done` once, on the loop (possibly before `start` returns); returns what stops it
    /// (call on the loop; `done` then gets a `CancellationError`).
    func start(_ done: @escaping LoopForwardDone) -> @Sendable () -> Void
    /// Gives back what making it ready reserved, for a call that is not started.
    func abandon()
}

extension OpenAICompatibleProvider: OpenAIChatForwarding {}

extension ProviderRouter: OpenAIChatForwarding {
    /// Whether every slot (and every slot of a lane in a slot) speaks OpenAI's chat dialect: only then does the server
    /// forward a client's body through this router.
    public var forwardsEverySlot: Bool {
        slots.allSatisfy { slot in
            guard let forwarding = slot.provider as? any OpenAIChatForwarding else { return false }
            return (forwarding as? ProviderRouter)?.forwardsEverySlot ?? true
        }
    }

    /// The router's failover over its slots' own forwarded answers: each slot gets the client's body with its model.
    public func chatOpenAIBody(_ request: ChatRequest, client: ClientChatBody?, context: CallContext) async throws -> OpenAIChatBody {
        try await attempt(request, context: context, usage: \.usage) { try await Self.forwarded($0, $1, client: client, context: $2) }
    }

    /// One slot's forwarded answer (a slot that does not speak the dialect is passed over as one without the model).
    static func forwarded(
        _ slot: RouterSlot, _ request: ChatRequest, client: ClientChatBody?, context: CallContext
    ) async throws
        -> OpenAIChatBody
    {
        guard let forwarding = slot.provider as? any OpenAIChatForwarding else {
            throw ProviderError(.invalidRequest, provider: slot.provider.id, message: "does not speak OpenAI's chat dialect")
        }
        return try await forwarding.chatOpenAIBody(request, client: client, context: context)
    }

    /// The step's slot ready to run on `loop`; nil when it must wait for something or refuses (its own call says why).
    static func loopForward(_ step: Walk.Step, client: ClientChatBody?, on loop: any EventLoop) -> (any LoopForward)? {
        try? (step.slot.provider as? any OpenAIChatForwarding)?.loopForward(step.request, client: client, context: step.context, on: loop)
    }

    /// The router's failover in callbacks on `loop`: the first slot to try must be ready to run there, or the call is
    /// declined; a later slot that is not continues the failover in a task.
    public func loopForward(
        _ request: ChatRequest, client: ClientChatBody?, context: CallContext, on loop: any EventLoop
    ) throws(ProviderError) -> (any LoopForward)? {
        guard var walk = try walkNow(request, context: context) else { return nil }
        guard let step = walk.next(), let forward = Self.loopForward(step, client: client, on: loop) else {
            walk.declined()
            return nil
        }
        return LoopFailover(router: self, walk: walk, first: (step, forward), client: client, loop: loop)
    }
}
