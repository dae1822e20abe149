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
