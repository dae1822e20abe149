public import Foundation

/// The ledger summed over time for a dashboard: which records (a time range) and how finely (bucket width).
public struct UsageSeriesQuery: Sendable, Hashable {
    /// Records at or after this instant.
    public var from: Date
    /// Records before this instant.
    public var to: Date
    /// The width of one time bucket, in seconds.
    public var bucketSeconds: Int

    /// Records in `from..<to`, in buckets of `bucketSeconds`.
    public init(from: Date, to: Date, bucketSeconds: Int) {
        self.from = from
        self.to = to
        self.bucketSeconds = max(1, bucketSeconds)
    }
}

/// The records of one time bucket that share a provider, model, lane, key and latency class, summed as
/// `UsageTotals` sums (corrupt records are counted, not summed).
public struct UsageSeriesRow: Sendable, Hashable {
    /// The bucket's start.
    public var bucket: Date
    public var provider: String?
    public var model: String?
    /// The outermost lane the requests went through (`lane:NAME`); nil for requests to one provider.
    public var lane: String?
    public var keyID: String?
    /// Which of `latencyBoundsMs` the latency falls under (`latencyBoundsMs.count`: above the last).
    public var latencyClass: Int
    public var requests: Int
    /// Requests answered with a status of 400 or more.
    public var errors: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var costNanoUSD: Int64
    public var unpricedRequests: Int
    public var corruptRecords: Int

    /// Creates a row.
    public init(
        bucket: Date, provider: String?, model: String?, lane: String?, keyID: String?, latencyClass: Int, requests: Int,
        errors: Int, inputTokens: Int, outputTokens: Int, costNanoUSD: Int64, unpricedRequests: Int, corruptRecords: Int
    ) {
        self.bucket = bucket
        self.provider = provider
        self.model = model
        self.lane = lane
        self.keyID = keyID
        self.latencyClass = latencyClass
        self.requests = requests
        self.errors = errors
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costNanoUSD = costNanoUSD
        self.unpricedRequests = unpricedRequests
        self.corruptRecords = corruptRecords
    }

    /// The upper bounds of the latency classes, in milliseconds: percentiles are read off these classes.
    public static let latencyBoundsMs = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000]

    /// The SQL expression of a record's latency class (the same in both stores).
    static let latencyClassSQL: String = {
        let cases = latencyBoundsMs.enumerated().map { "WHEN latency_ms <= \($0.element) THEN \($0.offset)" }
        return "CASE " + cases.joined(separator: " ") + " ELSE \(latencyBoundsMs.count) END"
    }()
}
