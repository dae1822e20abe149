public import NIOCore
public import SwitchboardCore

/// A provider whose upstream speaks OpenAI's chat dialect itself, found with `as?`: a client speaking the same
/// dialect can have its body sent up as it came and the answer sent back untouched, without a decode and encode.
public protocol OpenAIChatForwarding: LLMProvider {
    /// A non-streamed completion as the upstream sent it; with the client's body, that text goes up when it says what
    /// the encoded request would.
    func chatOpenAIBody(_ request: ChatRequest, client: ClientChatBody?, context: CallContext) async throws -> OpenAIChatBody

    /// The completion ready to be sent from `loop` without a task, or nil when it must wait for something first (a
    /// token to fetch) or the transport cannot answer on that loop. Throws when the provider's own plan limits are spent.
    func loopCompletion(_ request: ChatRequest, client: ClientChatBody?, on loop: any EventLoop) throws(ProviderError) -> LoopCompletion?

    /// What `chatOpenAIBody` would have returned or thrown for a loop completion's outcome.
    func finish(_ call: LoopCompletion, _ outcome: Result<TransportResponse, any Error>) -> Result<OpenAIChatBody, any Error>
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
        try await attempt(request, context: context, usage: \.usage) { slot, request, context in
            guard let forwarding = slot.provider as? any OpenAIChatForwarding else {
                throw ProviderError(.invalidRequest, provider: slot.provider.id, message: "does not speak OpenAI's chat dialect")
            }
            return try await forwarding.chatOpenAIBody(request, client: client, context: context)
        }
    }

    /// None: a router fails over between slots, which an exchange on the loop does not.
    public func loopCompletion(
        _ request: ChatRequest, client: ClientChatBody?, on loop: any EventLoop
    ) throws(ProviderError) -> LoopCompletion? {
        nil
    }

    /// Never called, as `loopCompletion` makes no completion.
    public func finish(_ call: LoopCompletion, _ outcome: Result<TransportResponse, any Error>) -> Result<OpenAIChatBody, any Error> {
        .failure(ProviderError(.invalidRequest, provider: id, message: "a router makes no loop completion"))
    }
}
