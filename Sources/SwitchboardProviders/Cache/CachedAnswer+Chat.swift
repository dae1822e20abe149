public import Foundation
public import SwitchboardCore

extension CachedAnswer {
    /// `response` as the cache keeps it: its `chat.completion` body, with `usage` (what a hit saves) in it.
    public init(_ response: ChatResponse, usage: Usage, model: String) {
        var recorded = response
        recorded.usage = usage
        let body = OpenAIChatResponseEncoding.completion(recorded, created: Int64(Date().timeIntervalSince1970)).jsonBytes()
        self.init(body: body, usage: usage, provider: response.provider, model: model)
    }

    /// The kept answer as a unified response, with the usage it saves.
    public func response() throws -> ChatResponse {
        var response = try OpenAIResponseDecoding.chatResponse(Data(body), descriptor: Self.reader, provider: provider)
        response.usage = usage
        return response
    }

    /// The kept answer as the events a stream of it sends.
    public func events() throws -> AsyncThrowingStream<StreamEvent, any Error> {
        let events = try response().events
        return AsyncThrowingStream { continuation in
            for event in events { continuation.yield(event) }
            continuation.finish()
        }
    }

    /// Reads a kept body: every reasoning field an upstream may have used.
    private static let reader = ProviderDescriptor(
        id: "cache", displayName: "Response cache", baseURL: "", apiKeyEnv: nil, defaultModel: nil, freeTier: .local)
}
