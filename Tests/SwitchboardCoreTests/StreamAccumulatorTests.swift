import SwitchboardCore
import Testing

@Suite struct StreamAccumulatorTests {
    @Test func assemblesParallelToolCallsByIndexInOrder() {
        var acc = StreamAccumulator()
        let events: [StreamEvent] = [
            .started(id: "r1", model: "m", provider: "p"),
            .toolCallDelta(.init(index: 1, id: "call_B", name: "get_time", arguments: "")),
            .toolCallDelta(.init(index: 0, id: "call_A", name: "get_weather", arguments: "{\"city\":")),
            .toolCallDelta(.init(index: 1, arguments: "{\"tz\":\"CET\"}")),
            .toolCallDelta(.init(index: 0, arguments: "\"Paris\"}")),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 5, outputTokens: 7)),
        ]
        for e in events { acc.add(e) }
        let r = acc.response
        #expect(
            r.toolCalls == [
                ToolCall(id: "call_A", name: "get_weather", arguments: "{\"city\":\"Paris\"}"),
                ToolCall(id: "call_B", name: "get_time", arguments: "{\"tz\":\"CET\"}"),
            ])
        #expect(r.finishReason == .toolCalls)
        #expect(r.usage == Usage(inputTokens: 5, outputTokens: 7))
        #expect(r.id == "r1" && r.provider == "p")
    }

    @Test func joinsTextAndReasoningSeparately() {
        var acc = StreamAccumulator()
        for e: StreamEvent in [.reasoningDelta("think "), .reasoningDelta("hard"), .textDelta("Hel"), .textDelta("lo"), .finish(.stop)] {
            acc.add(e)
        }
        #expect(acc.response.content == "Hello")
        #expect(acc.response.reasoning == "think hard")
        #expect(acc.isFinished)
    }

    @Test func finishReasonMapsWireSpellings() {
        #expect(FinishReason(wire: "stop") == .stop)
        #expect(FinishReason(wire: "length") == .length)
        #expect(FinishReason(wire: "tool_calls") == .toolCalls)
        #expect(FinishReason(wire: "content_filter") == .contentFilter)
        #expect(FinishReason(wire: "weird") == .other("weird"))
        #expect(FinishReason.other("weird").wireValue == "weird")
    }
}
