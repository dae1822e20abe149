import Foundation
import SwitchboardStorage
import Testing

@Suite struct RequestIDTests {
    @Test func idsAreVersion7UUIDsThatSortByTime() throws {
        let early = UsageRecord.newRequestID(now: Date(timeIntervalSince1970: 1_700_000_000))
        let late = UsageRecord.newRequestID(now: Date(timeIntervalSince1970: 1_700_000_000.002))
        for id in [early, late] {
            let uuid = try #require(UUID(uuidString: id), "\(id) is a UUID")
            #expect(id == uuid.uuidString.lowercased())
            #expect(Array(id)[14] == "7", "version 7: \(id)")
            #expect("89ab".contains(Array(id)[19]), "RFC 9562 variant: \(id)")
        }
        #expect(early < late)
        // The first 48 bits are the milliseconds.
        #expect(early.hasPrefix("018bcfe5-6800"))
        #expect(Set((0..<1000).map { _ in UsageRecord.newRequestID() }).count == 1000)
    }
    @Test func idsMadeAtOnceOnManyThreadsWithinOneMillisecondAreAllDistinct() async {
        // One instant for all: only the random bits (drawn from one shared pool, refilled as it runs out) tell them apart.
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { (0..<2_000).map { _ in UsageRecord.newRequestID(now: now) } } }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(ids.count == 16_000 && Set(ids).count == 16_000)
        // The random part is not mostly zeros (a pool handed out before it was filled would be).
        let zeros = ids.prefix(100).map { $0.suffix(12).filter { $0 == "0" }.count }.reduce(0, +)
        #expect(zeros < 300)
    }
}
