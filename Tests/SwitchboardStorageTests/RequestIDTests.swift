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
}
