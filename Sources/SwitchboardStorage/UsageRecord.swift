public import Foundation
public import SwitchboardCore

/// One request's compact ledger entry. No prompt or response text.
public struct UsageRecord: Sendable, Hashable, Codable {
    /// UUID of the request.
    public var requestID: String
    public var timestamp: Date
    public var keyID: String?
    public var user: String?
    /// What was asked: `chat.completions`, `embeddings`, `hf.text-generation`, ...
    public var task: String
    public var provider: String?
    public var model: String?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cachedTokens: Int
    public var reasoningTokens: Int
    /// Of the input, tokens written to the provider's prompt cache.
    public var cacheWriteTokens: Int
    /// Exact cost; nil when the model has no price (flagged, never 0).
    public var costNanoUSD: Int64?
    /// The cost by token class (its parts add up to `costNanoUSD`); nil when the model has no price.
    public var costs: CostBreakdown?
    /// What the call was paid in millisatoshis (a swarm job); nil for calls priced in dollars.
    public var costMsats: Int64?
    /// Token counts were estimated because the provider reported none.
    public var estimated: Bool
    public var latencyMs: Int
    /// Time to first token of a stream.
    public var ttftMs: Int?
    /// HTTP status returned to the client.
    public var status: Int
    /// Provider attempts made (failovers included).
    public var attempts: Int
    /// Where a routed request went: the lanes entered, each slot tried or skipped and how it ended
    /// (`x-switchboard-route`); nil for a request to one provider.
    public var route: String?
    /// What the response cache did: `hit` (answered from it, at no upstream cost), `miss` or `bypass`; nil when
    /// no cache is configured.
    public var cache: String?

    /// Creates a record.
    public init(
        requestID: String, timestamp: Date = Date(), keyID: String? = nil, user: String? = nil, task: String,
        provider: String? = nil, model: String? = nil, inputTokens: Int = 0, outputTokens: Int = 0, cachedTokens: Int = 0,
        reasoningTokens: Int = 0, costNanoUSD: Int64? = nil, estimated: Bool = false, latencyMs: Int = 0, ttftMs: Int? = nil,
        status: Int, attempts: Int = 0, route: String? = nil, cache: String? = nil, cacheWriteTokens: Int = 0,
        costs: CostBreakdown? = nil, costMsats: Int64? = nil
    ) {
        self.costMsats = costMsats
        self.cacheWriteTokens = cacheWriteTokens
        self.costs = costs
        self.requestID = requestID
        self.timestamp = timestamp
        self.keyID = keyID
        self.user = user
        self.task = task
        self.provider = provider
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
        self.costNanoUSD = costNanoUSD
        self.estimated = estimated
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.status = status
        self.attempts = attempts
        self.route = route
        self.cache = cache
    }
}

/// Which ledger records to read.
public struct UsageFilter: Sendable, Hashable {
    public var since: Date?
    public var keyID: String?
    public var user: String?
    public var model: String?
    public var limit: Int = 1000
    public var offset: Int = 0

    /// Everything.
    public init(since: Date? = nil, keyID: String? = nil, user: String? = nil, model: String? = nil) {
        self.since = since
        self.keyID = keyID
        self.user = user
        self.model = model
    }
}

/// Totals for one model (or for everything when `model` is nil).
public struct UsageTotals: Sendable, Hashable {
    public var provider: String?
    public var model: String?
    public var requests: Int
    public var inputTokens: Int
    public var outputTokens: Int
    /// Sum of the known costs.
    public var costNanoUSD: Int64
    /// Requests whose cost is unknown (no price).
    public var unpricedRequests: Int
    /// Records whose counts are negative or implausibly large (`UsageTotals.plausible`): counted in `requests`, left
    /// out of the sums, and reported here rather than breaking the report.
    public var corruptRecords: Int = 0
    /// Sum of what was paid in msats (swarm jobs; their nano-USD cost is in `costNanoUSD` too).
    public var paidMsats: Int64 = 0

    /// The SQL condition a sound record meets, for a ledger table: token counts within `Usage.plausibleTokens`, a
    /// cost that is not negative. Sums over sound records are held at `Int64.max` rather than overflowing.
    static let plausible = """
        (input_tokens BETWEEN 0 AND \(Usage.plausibleTokens) AND output_tokens BETWEEN 0 AND \(Usage.plausibleTokens) \
        AND (cost_nano_usd IS NULL OR cost_nano_usd >= 0))
        """
}

/// Where usage records live.
public protocol LedgerStore: Sendable {
    /// Appends records in one transaction: all are stored or none.
    func append(_ records: [UsageRecord]) async throws
    /// Records matching the filter, newest first.
    func records(_ filter: UsageFilter) async throws -> [UsageRecord]
    /// How many records match.
    func count(_ filter: UsageFilter) async throws -> Int
    /// Totals per provider and model, then the grand total last.
    func totals(_ filter: UsageFilter) async throws -> [UsageTotals]
    /// The records of a time range summed by bucket, provider, model, lane, key and latency class.
    func series(_ query: UsageSeriesQuery) async throws -> [UsageSeriesRow]
}

/// A ledger store that can also commit on the caller's thread, so the writer can run on a thread of its own
/// instead of hopping through queues for every batch.
public protocol BlockingLedgerStore: LedgerStore {
    /// Appends records in one transaction, blocking the calling thread.
    func appendBlocking(_ records: [UsageRecord]) throws
    /// Housekeeping the writer's second thread runs about ten times a second (moving a journal into the
    /// tables, checkpointing the WAL); a failure is retried at the next round.
    func maintain() throws
}

/// A ledger store that can make a record durable on the caller's thread without blocking it (a copy into
/// memory the kernel keeps), so a request waits for no other thread.
public protocol ImmediateLedgerStore: BlockingLedgerStore {
    /// Makes `record` durable and returns true, or returns false, writing nothing, when it cannot do so
    /// without blocking (then `appendBlocking` takes it). Refuses an id it still holds unmoved; an id reused
    /// from a record already moved is kept once, and reported by `maintain()`.
    func appendImmediately(_ record: UsageRecord) throws -> Bool
    /// Transactions that moved immediate records into the tables, and the records they moved.
    var immediateStatistics: (batches: Int, records: Int) { get }
    /// Has the store call `wanted` when it has used the room it readied for immediate records. It is called
    /// on the caller's thread (an event loop), so it must only wake a thread that then calls `prepareRoom()`.
    func onRoomWanted(_ wanted: @escaping @Sendable () -> Void)
    /// Readies room for immediate records, moving none into the tables: quick, but blocking. Returns whether
    /// so many records wait unmoved that a move should not wait for the next housekeeping round.
    func prepareRoom() throws -> Bool
}

extension UsageRecord {
    /// A new request id: a UUID version 7 (RFC 9562), 48 bits of Unix milliseconds and then random bits.
    ///
    /// Ids that grow with time keep the ledger's primary-key index appending at its right edge; random
    /// version 4 ids put every insert on a different page, which each commit then has to write out.
    public static func newRequestID(now: Date = Date()) -> String {
        // Every request makes one, so the text is written straight into the string's storage.
        var bytes: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            let ms = UInt64(max(0, now.timeIntervalSince1970 * 1000))
            for i in 0..<6 { raw[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
            RandomBytes.shared.fill(UnsafeMutableRawBufferPointer(rebasing: raw[6..<16]))
            raw[6] = 0x70 | (raw[6] & 0x0F)  // version 7
            raw[8] = 0x80 | (raw[8] & 0x3F)  // RFC 9562 variant
        }
        return withUnsafeBytes(of: &bytes) { raw in
            String(unsafeUninitializedCapacity: 36) { out in
                let digits: StaticString = "0123456789abcdef"
                var o = 0
                for i in 0..<16 {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    out[o] = digits.utf8Start[Int(raw[i] >> 4)]
                    out[o + 1] = digits.utf8Start[Int(raw[i] & 0x0F)]
                    o += 2
                }
                return o
            }
        }
    }
}
