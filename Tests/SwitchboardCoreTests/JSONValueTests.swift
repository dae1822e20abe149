import Foundation
import SwitchboardCore
import Testing

@Suite struct JSONValueTests {
    @Test func parsesEveryKindAndKeepsBooleansApartFromNumbers() throws {
        let v = try JSONValue.parse(
            Data(#"{"b":true,"f":false,"i":1,"z":0,"d":1.5,"s":"x","n":null,"a":[1,"two"],"big":9007199254740993}"#.utf8))
        #expect(v == ["b": true, "f": false, "i": 1, "z": 0, "d": 1.5, "s": "x", "n": nil, "a": [1, "two"], "big": 9_007_199_254_740_993])
    }

    @Test func writesCompactSortedEscapedJSONThatParsesBack() throws {
        let v: JSONValue = ["z": "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀 </tag>", "a": [1.25, -3, true, nil], "m": [:]]
        let text = v.jsonString()
        #expect(text == #"{"a":[1.25,-3,true,null],"m":{},"z":"quote \" backslash \\ newline \n tab \t bell \u0007 é 😀 </tag>"}"#)
        #expect(try JSONValue.parse(Data(text.utf8)) == v)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == v)
    }

    @Test func rejectsMalformedText() {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data("{\"a\":".utf8)) }
    }
}
