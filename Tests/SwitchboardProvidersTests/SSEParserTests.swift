import NIOCore
import SwitchboardProviders
import Testing

@Suite struct SSEParserTests {
    private func parse(_ chunks: [String]) throws -> [SSEEvent] {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for c in chunks { events += try parser.feed(ByteBuffer(string: c)) }
        return events + parser.finish()
    }

    @Test func dataLinesSplitAcrossReads() throws {
        let events = try parse(["da", "ta: {\"a\"", ":1}\n", "\ndata: [DO", "NE]\n\n"])
        #expect(events.map(\.data) == ["{\"a\":1}", "[DONE]"])
    }

    @Test func crlfAndACRLFSplitBetweenReads() throws {
        let events = try parse(["data: one\r", "\n\r", "\ndata: two\r\n\r\n"])
        #expect(events.map(\.data) == ["one", "two"])
    }

    @Test func bareCRLineEndings() throws {
        #expect(try parse(["data: a\r\rdata: b\r\r"]).map(\.data) == ["a", "b"])
    }

    @Test func commentsAndKeepAlivesAreSkipped() throws {
        let events = try parse([": keep-alive\n\n", ":OPENROUTER PROCESSING\n\n", "data: x\n\n"])
        #expect(events.map(\.data) == ["x"])
    }

    @Test func multiLineDataJoinsWithNewlinesAndEventNamesAreKept() throws {
        let events = try parse(["event: message_start\ndata: line1\ndata: line2\nid: 7\n\n"])
        #expect(events == [SSEEvent(event: "message_start", data: "line1\nline2", id: "7")])
    }

    @Test func aLastEventWithoutBlankLineIsDelivered() throws {
        #expect(try parse(["data: tail"]).map(\.data) == ["tail"])
    }

    @Test func dataWithoutSpaceAfterColon() throws {
        #expect(try parse(["data:{}\n\n"]).map(\.data) == ["{}"])
    }

    @Test func anEndlessLineIsRefused() throws {
        var parser = SSEParser(maxLineBytes: 16)
        #expect(throws: SSEParseError.self) { try parser.feed(ByteBuffer(string: String(repeating: "x", count: 32))) }
    }
}
