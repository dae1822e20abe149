import Foundation
import SwitchboardCore

extension UsageRecord {
    /// The record as one journal line (a JSON object with short keys), written field by field: this runs on
    /// every request, and a dictionary of 17 values with sorted keys cost more than the copy into the journal.
    var journalLine: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        func field(_ name: StaticString, _ value: JSONValue) {
            out.append(out.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
            value.write(into: &out)
        }
        field("id", .string(requestID))
        field("ts", .double(timestamp.timeIntervalSince1970))
        field("task", .string(task))
        field("in", .int(Int64(inputTokens)))
        field("out", .int(Int64(outputTokens)))
        field("cached", .int(Int64(cachedTokens)))
        field("reasoning", .int(Int64(reasoningTokens)))
        field("est", .bool(estimated))
        field("lat", .int(Int64(latencyMs)))
        field("status", .int(Int64(status)))
        field("attempts", .int(Int64(attempts)))
        if let keyID { field("key", .string(keyID)) }
        if let user { field("user", .string(user)) }
        if let provider { field("provider", .string(provider)) }
        if let model { field("model", .string(model)) }
        if let costNanoUSD { field("cost", .int(costNanoUSD)) }
        if let ttftMs { field("ttft", .int(Int64(ttftMs))) }
        if let route { field("route", .string(route)) }
        if let cache { field("cache", .string(cache)) }
        if cacheWriteTokens != 0 { field("cwrite", .int(Int64(cacheWriteTokens))) }
        if let costMsats { field("msats", .int(costMsats)) }
        if let costs {
            field("costs", .array([costs.input, costs.cacheRead, costs.cacheWrite, costs.output, costs.reasoning].map { .int($0.value) }))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func costs(journal value: JSONValue?) -> CostBreakdown? {
        guard case .array(let parts)? = value, parts.count == 5 else { return nil }
        let n = parts.map { NanoUSD($0.intValue ?? 0) }
        return CostBreakdown(input: n[0], cacheRead: n[1], cacheWrite: n[2], output: n[3], reasoning: n[4])
    }

    /// A record read back from a journal line; nil when a required field is missing.
    init?(journal v: JSONValue) {
        guard let id = v["id"]?.stringValue, let ts = v["ts"]?.doubleValue, let task = v["task"]?.stringValue,
            let input = v["in"]?.intValue, let output = v["out"]?.intValue, let status = v["status"]?.intValue
        else { return nil }
        self.init(
            requestID: id, timestamp: Date(timeIntervalSince1970: ts), keyID: v["key"]?.stringValue, user: v["user"]?.stringValue,
            task: task, provider: v["provider"]?.stringValue, model: v["model"]?.stringValue, inputTokens: Int(input),
            outputTokens: Int(output), cachedTokens: Int(v["cached"]?.intValue ?? 0), reasoningTokens: Int(v["reasoning"]?.intValue ?? 0),
            costNanoUSD: v["cost"]?.intValue, estimated: v["est"]?.boolValue ?? false, latencyMs: Int(v["lat"]?.intValue ?? 0),
            ttftMs: v["ttft"]?.intValue.map { Int($0) }, status: Int(status), attempts: Int(v["attempts"]?.intValue ?? 0),
            route: v["route"]?.stringValue, cache: v["cache"]?.stringValue, cacheWriteTokens: Int(v["cwrite"]?.intValue ?? 0),
            costs: Self.costs(journal: v["costs"]), costMsats: v["msats"]?.intValue)
    }
}
