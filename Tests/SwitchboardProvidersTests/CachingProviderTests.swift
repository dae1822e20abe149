import Logging
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// The response cache as a library caller uses it, around any provider: the same keys and rules as the gateway's.
@Suite struct CachingProviderTests {
    let context = CallContext(logger: Logger(label: "test"), requestID: "t")

    @Test func aRepeatedDeterministicCallIsAnsweredFromTheCacheStreamedOrNot() async throws {
        let upstream = ScriptedProvider(id: "s", steps: [.reply("kept words here"), .reply("a second answer")])
        let cached = CachingProvider(upstream, cache: ResponseCache(.init()))
        let request = ChatRequest(model: "m", messages: [.user("hi")], temperature: 0)
        let first = try await cached.chat(request, context: context)
        let second = try await cached.chat(request, context: context)
        #expect(first.content == "kept words here" && second.content == first.content)
        #expect(second.usage == first.usage && second.provider == "s")
        var text = ""
        for try await event in cached.stream(request, context: context) { if case .textDelta(let t) = event { text += t } }
        #expect(text == "kept words here")
        #expect(upstream.calls == ["m"])
        // Another model, or a call the mode does not cache, goes to the provider.
        _ = try await cached.chat(request.withModel("n"), context: context)
        _ = try await cached.chat(request.withTemperature(0.5), context: context)
        #expect(upstream.calls == ["m", "n", "m"])
    }

    @Test func aStreamIsKeptOnlyWhenItEndsCleanly() async throws {
        let upstream = ScriptedProvider(id: "s", steps: [.drop(afterEvents: 2, text: "one two three"), .reply("whole answer")])
        let cached = CachingProvider(upstream, cache: ResponseCache(.init(mode: .requested)), directives: .init(requested: true))
        let request = ChatRequest(model: "m", messages: [.user("hi")], temperature: 0.7)
        await #expect(throws: ProviderError.self) {
            for try await _ in cached.stream(request, context: context) {}
        }
        var text = ""
        for try await event in cached.stream(request, context: context) { if case .textDelta(let t) = event { text += t } }
        #expect(text == "whole answer")
        #expect(try await cached.chat(request, context: context).content == "whole answer")
        #expect(upstream.calls.count == 2)
    }
}
