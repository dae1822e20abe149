import Foundation
import SwitchboardCore
import SwitchboardTesting
import Testing

/// Foundation's reading of the same text, as the reference the parser is checked against.
private func reference(_ text: [UInt8]) -> JSONValue? {
    guard let any = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else { return nil }
    func convert(_ value: Any) -> JSONValue {
        switch value {
        case let s as String: return .string(s)
        case let n as NSNumber:
            let type = n.objCType.pointee
            if type == CChar(UInt8(ascii: "c")) { return .bool(n.boolValue) }
            if type == CChar(UInt8(ascii: "d")) || type == CChar(UInt8(ascii: "f")) { return .double(n.doubleValue) }
            return .int(n.int64Value)
        case let a as [Any]: return .array(a.map(convert))
        case let o as [String: Any]: return .object(o.mapValues(convert))
        default: return .null
        }
    }
    return convert(any)
}

/// Equal, except that numbers need only agree to about 15 digits and an integer may come back as a double:
/// Foundation's reader on Linux rounds some doubles in the last digit and reads some 64-bit integers as
/// doubles, where ours is exact (the writer round trip below checks exactness).
private func agrees(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
    switch (a, b) {
    case (.some(.array(let x)), .some(.array(let y))): return x.count == y.count && zip(x, y).allSatisfy(agrees)
    case (.some(.object(let x)), .some(.object(let y))): return x.keys == y.keys && x.allSatisfy { agrees($0.value, y[$0.key]) }
    case (.some(let x), .some(let y)):
        if let p = x.doubleValue, let q = y.doubleValue, x.boolValue == nil, y.boolValue == nil {
            return p == q || abs(p - q) <= 1e-14 * max(abs(p), abs(q))
        }
        return x == y
    default: return a == nil && b == nil
    }
}

private func randomValue(_ rng: inout SeededGenerator, depth: Int = 0) -> JSONValue {
    let pieces = ["a", "é", "日本", "😀", "\"", "\\", "\n", "\t", "\u{1}", "/", " ", "\u{7F}", "𝄞"]
    switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng) >> UInt64.random(in: 0..<63, using: &rng))
    case 3: return .double(Double.random(in: -1e12...1e12, using: &rng) * (Bool.random(using: &rng) ? 1 : 1e-9))
    case 4: return .string((0..<Int.random(in: 0..<8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined())
    case 5: return .array((0..<Int.random(in: 0..<5, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
    default:
        var o: [String: JSONValue] = [:]
        for i in 0..<Int.random(in: 0..<5, using: &rng) {
            o["k\(i)\(pieces.randomElement(using: &rng)!)"] = randomValue(&rng, depth: depth + 1)
        }
        return .object(o)
    }
}

@Suite struct JSONParsingTests {
    @Test(arguments: [
        #"{"model":"up/bench-model","messages":[{"role":"user","content":"hi"}],"stream":false,"temperature":0.7}"#,
        #"  [1, -0, 0.5, -2.5e-3, 1E+2, 9223372036854775807, -9223372036854775808, 1.0, 12e0]  "#,
        #"{"escapes":"\"\\\/\b\f\n\r\t","unicode":"\u00e9\u65e5\ud83d\ude00\u0000","raw":"é日😀"}"#,
        #"{"a":{"b":{"c":[[],{},[{}],""]}},"t":true,"f":false,"n":null}"#,
        #"{"dup":1,"dup":2}"#,
        "\"just a string\"", "42", "-7.25", "true", "null", "[]", "{}", "\r\n\t [ \r\n\t ] \r\n\t",
    ])
    func readsWhatFoundationReads(text: String) throws {
        let bytes = Array(text.utf8)
        let parsed = try bytes.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
        #expect(parsed != .null || text == "null")
        #expect(agrees(parsed, reference(bytes)))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "[,1]", #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, "[1 2]", "01", "-", "1.", ".5", "+1", "1e", "1e+",
        "tru", "nul", "True", "NaN", "Infinity", "-Infinity", #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\udc00x""#,
        #""\ud800\u0041""#, "\"tab\there\"", "\"line\nbreak\"", #""unterminated"#, "1 2", "[1] x", "{\"a\":1}}", "1e999", "'single'",
        "/* comment */ 1", "[1,,2]",
    ])
    func refusesWhatIsNotJSON(text: String) {
        #expect(throws: JSONParseError.self) { try Array(text.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0) } }
    }

    @Test func refusesInvalidUTF8InsideStringsAndOutside() {
        for bytes: [UInt8] in [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22], [0xEF, 0xBB, 0xBF, 0x31],
        ] {
            #expect(throws: JSONParseError.self) { try bytes.withUnsafeBytes { try JSONValue.parse(bytes: $0) } }
        }
    }

    @Test func integersPastSixtyFourBitsBecomeDoublesNotWrappedIntegers() throws {
        // Foundation's reader on Linux wraps this one to Int64.min.
        #expect(try JSONValue.parse(Data("9223372036854775808".utf8)) == .double(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse(Data("-9223372036854775809".utf8)) == .double(-9_223_372_036_854_775_809))
        #expect(try JSONValue.parse(Data("-9223372036854775808".utf8)) == .int(.min))
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(deep.utf8)) }
        #expect(error?.description.contains("nested too deeply") == true)
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        _ = try JSONValue.parse(Data(fine.utf8))
    }

    @Test func errorsSayWhereReadingStopped() {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(#"{"a": [1, 2,, 3]}"#.utf8)) }
        #expect(error?.offset == 12)
    }

    @Test func whatTheWriterWritesReadsBackEqualAndAsFoundationReadsIt() throws {
        var rng = SeededGenerator(seed: 20_261_122)
        for _ in 0..<2_000 {
            let value = randomValue(&rng)
            let text = value.jsonBytes()
            let parsed = try text.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
            #expect(parsed == value, "\(String(decoding: text, as: UTF8.self))")
            #expect(agrees(parsed, reference(text)), "\(String(decoding: text, as: UTF8.self))")
        }
    }

    @Test func objectsAreWrittenWithTheirKeysSortedAtEveryDepth() {
        let value: JSONValue = ["zeta": 1, "alpha": ["y": true, "b": .null, "m": [["k2": "v", "k1": 2.5]]], "mid": [], "": "empty"]
        #expect(
            String(decoding: value.jsonBytes(), as: UTF8.self)
                == #"{"":"empty","alpha":{"b":null,"m":[{"k1":2.5,"k2":"v"}],"y":true},"mid":[],"zeta":1}"#)
        #expect(String(decoding: JSONValue.object([:]).jsonBytes(), as: UTF8.self) == "{}")
    }

    static func parse(_ text: String, building: Set<String>) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0, building: building) }
    }

    @Test func buildingNamedMembersKeepsTheOthersOnlyAsTheirShape() throws {
        let text =
            #"{"model":"gpt-é","usage":{"prompt_tokens":3,"x":[1,{"y":null}]},"choices":[{"message":{"content":"h\u00e9 \"q\""}}],"#
            + #""empty":[],"obj":{"a":1},"s":"t\n","n":-5.5e3,"t":true}"#
        let value = try Self.parse(text, building: ["model", "usage"])
        #expect(value["model"] == .string("gpt-é"))
        #expect(value["usage"] == ["prompt_tokens": 3, "x": [1, ["y": .null]]])
        #expect(value["choices"] == .array([.null]))
        #expect(value["empty"] == .array([]))
        #expect(value["obj"] == .object([:]))
        #expect(value["s"] == .string(""))
        #expect(value["n"] == .null && value["t"] == .null)
        // Anything but an object at the top is parsed whole.
        #expect(try Self.parse("[1,2]", building: []) == [1, 2])
    }

    @Test(arguments: [
        #"{"model":"m","choices":[1,]}"#, #"{"choices":"\q"}"#, #"{"choices":"open"#, #"{"choices":{"a" 1}}"#,
        #"{"choices":[tru]}"#, #"{"choices":"\u12"}"#, "{\"choices\":\"a\u{01}b\"}", #"{"choices":[]} x"#, #"{"choices":{"a":1,}}"#,
    ])
    func membersNotBuiltAreStillChecked(_ text: String) {
        #expect(throws: JSONParseError.self) { try Self.parse(text, building: ["model"]) }
    }
    static func noting(_ text: String) throws -> (JSONValue, JSONParseNotes) {
        try Array(text.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0, noting: "model") }
    }

    @Test func notesWhereTheTopLevelMemberIsAndWhetherAnyMemberIsNamedTwice() throws {
        let text = #" { "messages": [{"model": "inner"}], "model" : "gpt-é\"x" , "n": 1 } "#
        let (value, notes) = try Self.noting(text)
        #expect(value == (try JSONValue.parse(Data(text.utf8))))
        let span = try #require(notes.span)
        #expect(String(decoding: Array(text.utf8)[span], as: UTF8.self) == #""gpt-é\"x""#)
        #expect(!notes.repeatedMember)
        for twice in [
            #"{"model":"a","model":"b"}"#, #"{"model":"a","m":[{"role":"x","role":"y"}]}"#, #"{"a":{"b":{"c":1,"c":1}},"model":"m"}"#,
        ] {
            let (_, notes) = try Self.noting(twice)
            #expect(notes.repeatedMember, "\(twice)")
        }
        #expect(try Self.noting(#"[{"model":"a"}]"#).1.span == nil)
        #expect(try Self.noting(#"{"models":"a"}"#).1.span == nil)
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -1_000_000, -10, -9, -1, 0, 1, 9, 10, 99, 100, 1_700_000_000, Int64.max - 1, Int64.max])
    func integersAreWrittenAndReadAsTheirDecimalText(_ n: Int64) throws {
        #expect(String(decoding: JSONValue.int(n).jsonBytes(), as: UTF8.self) == String(n))
        #expect(try JSONValue.parse(Data(String(n).utf8)) == .int(n))
    }
}
