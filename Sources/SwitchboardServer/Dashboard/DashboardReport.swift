import Foundation
import SwitchboardCore
import SwitchboardStorage

/// What the dashboard shows, made from the ledger's series rows: the range's totals, one point per time bucket, and
/// the totals by model, provider, lane and key. Pure, so it is tested without a server.
struct DashboardReport: Sendable {
    /// Requests, errors, tokens, cost and the latency classes of a set of records; percentiles come from the classes.
    struct Figures: Sendable, Equatable {
        var requests = 0
        var errors = 0
        var inputTokens = 0
        var outputTokens = 0
        var costNanoUSD: Int64 = 0
        var unpricedRequests = 0
        var corruptRecords = 0
        /// Requests per latency class (`UsageSeriesRow.latencyBoundsMs`, and one above the last bound).
        var latency = [Int](repeating: 0, count: UsageSeriesRow.latencyBoundsMs.count + 1)

        mutating func add(_ row: UsageSeriesRow) {
            requests += row.requests
            errors += row.errors
            inputTokens = inputTokens.saturatingAdding(row.inputTokens)
            outputTokens = outputTokens.saturatingAdding(row.outputTokens)
            costNanoUSD = costNanoUSD.saturatingAdding(row.costNanoUSD)
            unpricedRequests += row.unpricedRequests
            corruptRecords += row.corruptRecords
            latency[min(max(row.latencyClass, 0), latency.count - 1)] += row.requests
        }

        /// The latency under which `q` of the requests fall, in milliseconds, interpolated within its class; nil with
        /// no requests. Above the last bound it is that bound (the dashboard says "over").
        func percentile(_ q: Double) -> Double? {
            let total = latency.reduce(0, +)
            guard total > 0 else { return nil }
            let rank = q * Double(total)
            let bounds = UsageSeriesRow.latencyBoundsMs
            var before = 0
            for (index, count) in latency.enumerated() where count > 0 {
                if Double(before + count) >= rank {
                    guard index < bounds.count else { return Double(bounds[bounds.count - 1]) }
                    let lower = index == 0 ? 0 : Double(bounds[index - 1])
                    let upper = Double(bounds[index])
                    return lower + (upper - lower) * max(0, rank - Double(before)) / Double(count)
                }
                before += count
            }
            return Double(bounds[bounds.count - 1])
        }
    }

    /// One named group's figures (a model, a provider, a lane or a key).
    struct Group: Sendable, Equatable {
        var name: String
        var figures: Figures
    }

    var from: Date
    var to: Date
    var bucketSeconds: Int
    var total = Figures()
    /// Every bucket of the range in order, empty ones included, so a chart's time axis is even.
    var series: [(start: Date, figures: Figures)] = []
    var byModel: [Group] = []
    var byProvider: [Group] = []
    var byLane: [Group] = []
    var byKey: [Group] = []

    init(rows: [UsageSeriesRow], query: UsageSeriesQuery) {
        from = query.from
        to = query.to
        bucketSeconds = query.bucketSeconds
        let width = Double(query.bucketSeconds)
        let first = (query.from.timeIntervalSince1970 / width).rounded(.down) * width
        let count = max(1, Int(((query.to.timeIntervalSince1970 - first) / width).rounded(.up)))
        var buckets = [Figures](repeating: Figures(), count: count)
        var models: [String: Figures] = [:]
        var providers: [String: Figures] = [:]
        var lanes: [String: Figures] = [:]
        var keys: [String: Figures] = [:]
        for row in rows {
            total.add(row)
            let index = Int((row.bucket.timeIntervalSince1970 - first) / width)
            if buckets.indices.contains(index) { buckets[index].add(row) }
            models["\(row.provider ?? "-")/\(row.model ?? "-")", default: Figures()].add(row)
            providers[row.provider ?? "-", default: Figures()].add(row)
            lanes[row.lane ?? "(no lane)", default: Figures()].add(row)
            keys[row.keyID ?? "(no key)", default: Figures()].add(row)
        }
        series = buckets.enumerated().map { (Date(timeIntervalSince1970: first + Double($0.offset) * width), $0.element) }
        func ranked(_ groups: [String: Figures]) -> [Group] {
            groups.map { Group(name: $0.key, figures: $0.value) }.sorted {
                ($0.figures.costNanoUSD, $0.figures.requests, $1.name) > ($1.figures.costNanoUSD, $1.figures.requests, $0.name)
            }
        }
        byModel = ranked(models)
        byProvider = ranked(providers)
        byLane = ranked(lanes)
        byKey = ranked(keys)
    }
}
