/// A journal segment's records, in chunks small enough for malloc to serve from its arenas.
///
/// One array of a whole segment's records crossed the gateway's fixed mmap threshold as it grew: each growth was a
/// fresh mapping, faulted in page by page by the event loop appending to it, copied into, and unmapped (a TLB
/// flush on every core) when the segment was moved. Chunks below the threshold reuse memory the arena already has.
struct JournalRecords: Sequence {
    /// Records a chunk holds: a few tens of KB, well below the threshold.
    static let chunkCapacity = 128

    private var chunks: [[UsageRecord]] = []
    private(set) var count = 0

    init() {}

    init(_ records: some Sequence<UsageRecord>) {
        append(contentsOf: records)
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ record: UsageRecord) {
        if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkCapacity {
            var chunk: [UsageRecord] = []
            chunk.reserveCapacity(Self.chunkCapacity)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(record)
        count += 1
    }

    mutating func append(contentsOf records: some Sequence<UsageRecord>) {
        for record in records { append(record) }
    }

    func makeIterator() -> FlattenSequence<[[UsageRecord]]>.Iterator {
        chunks.joined().makeIterator()
    }
}
