import Foundation
import NIOCore
public import SwitchboardCore
import SwitchboardProviders

/// Recorded upstream answers with hostile values put in their JSON (extreme and negative numbers, wrong types, empty
/// and long strings), for tests that an upstream's answer, which is untrusted input, never traps whatever it holds.
public enum HostileJSON {
    /// What a node may be replaced with.
    public static let values: [JSONValue] = [
        .int(.max), .int(.min), .int(-1), .int(0), .double(1e308), .double(-1e308), .double(0.5), .string(""),
        .string(String(repeating: "x", count: 5_000)), .string("inf"), .string("-1"), .null, .bool(true), .array([]),
        .array([.null, .int(.max)]), .object([:]), .object(["index": .int(.max), "id": .null]),
    ]

    /// `value` with each node replaced by a hostile one at `rate`.
    public static func mutate(_ value: JSONValue, rate: Double, using g: inout SeededGenerator) -> JSONValue {
        if Double.random(in: 0..<1, using: &g) < rate { return values.randomElement(using: &g)! }
        switch value {
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(mutate(item, rate: rate, using: &g)) }
            return .array(out)
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members.sorted(by: { $0.key < $1.key }) { out[key] = mutate(member, rate: rate, using: &g) }
            return .object(out)
        default:
            return value
        }
    }

    /// A JSON text mutated, or the text as it was when it is not JSON.
    public static func mutate(text: Substring, rate: Double, using g: inout SeededGenerator) -> String {
        guard let json = try? JSONValue.parse(Data(text.utf8)) else { return String(text) }
        return mutate(json, rate: rate, using: &g).jsonString()
    }

    /// A stream piece with its JSON mutated: SSE `data:` lines, NDJSON lines, or event-stream message payloads.
    public static func mutate(piece: [UInt8], eventStream: Bool, rate: Double, using g: inout SeededGenerator) throws -> [UInt8] {
        if eventStream {
            var decoder = EventStreamDecoder()
            return try decoder.feed(ByteBuffer(bytes: piece)).flatMap { message in
                var message = message
                message.payload = Array(mutate(text: Substring(decoding: message.payload, as: UTF8.self), rate: rate, using: &g).utf8)
                return message.encoded()
            }
        }
        let lines = String(decoding: piece, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("data:") { return "data: " + mutate(text: line.dropFirst(5), rate: rate, using: &g) }
            return line.hasPrefix("{") ? mutate(text: line, rate: rate, using: &g) : String(line)
        }
        return Array(lines.joined(separator: "\n").utf8)
    }
}
