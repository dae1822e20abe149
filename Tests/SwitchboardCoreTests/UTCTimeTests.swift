import Foundation
import SwitchboardTesting
import Testing

@testable import SwitchboardCore

@Suite struct UTCTimeTests {
    /// Foundation's calendar, the slow way, as the reference.
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func instants() -> [Int64] {
        // Leap days (2000, 2024; 1900 and 2100 have none), the epoch and the second before it, then a seeded spread.
        var instants: [Int64] = [0, -1, 951_782_400, 951_868_799, 951_868_800, 1_709_251_199, 1_709_251_200, 4_107_542_399, -2_203_891_200]
        var generator = SeededGenerator(seed: 91)
        for _ in 0..<5_000 { instants.append(Int64.random(in: -2_500_000_000...7_000_000_000, using: &generator)) }
        return instants
    }

    @Test func fieldsAndTheirRoundTripAreTheGregorianCalendars() throws {
        for t in Self.instants() {
            let time = UTCTime(unix: t)
            let c = Self.calendar.dateComponents(
                [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(t)))
            let expected = [c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!].map(Int64.init)
            #expect([time.year, time.month, time.day, time.hour, time.minute, time.second] == expected, "at \(t)")
            #expect(time.unix == t)
            #expect(
                UTCTime(year: time.year, month: time.month, day: time.day, hour: time.hour, minute: time.minute, second: time.second)
                    == time)
        }
    }

    @Test func aDayTheMonthDoesNotHaveOrATimeOutOfRangeIsNoTime() {
        #expect(UTCTime(year: 2024, month: 2, day: 29) != nil)
        #expect(UTCTime(year: 2023, month: 2, day: 29) == nil)
        #expect(UTCTime(year: 2100, month: 2, day: 29) == nil)
        #expect(UTCTime(year: 2000, month: 2, day: 29) != nil)
        #expect(UTCTime(year: 2026, month: 4, day: 31) == nil)
        #expect(UTCTime(year: 2026, month: 13, day: 1) == nil)
        #expect(UTCTime(year: 2026, month: 1, day: 0) == nil)
        #expect(UTCTime(year: 2026, month: 1, day: 1, hour: 24) == nil)
        #expect(UTCTime(year: 2026, month: 1, day: 1, minute: 60) == nil)
    }

    @Test func writtenAsADayAndAsAWSSignaturesDateARequest() {
        let time = UTCTime(unix: 1_764_927_005)  // 2025-12-05 09:30:05 UTC
        #expect(time.dateString == "2025-12-05")
        #expect(time.compactDateTime == "20251205T093005Z")
        #expect(time.isoDateTime == "2025-12-05T09:30:05Z")
        #expect(time.isoDateTime == Date(timeIntervalSince1970: 1_764_927_005).formatted(.iso8601))
        #expect(UTCTime(unix: -62_135_596_800).dateString == "0001-01-01")
    }

    @Test func httpDatesInAllThreeFormsAreFoundationsReading() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        let now: Int64 = 1_764_927_005
        var generator = SeededGenerator(seed: 92)
        for _ in 0..<500 {
            let t = Int64.random(in: 0...4_000_000_000, using: &generator)
            let date = Date(timeIntervalSince1970: TimeInterval(t))
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            #expect(UTCTime(httpDate: formatter.string(from: date), now: now)?.unix == t, "\(formatter.string(from: date))")
            #expect(UTCTime(unix: t).httpDate == formatter.string(from: date))
            formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
            var asctime = formatter.string(from: date)
            // asctime pads a one-digit day with a space.
            if let match = asctime.firstMatch(of: #/^(\w{3} \w{3}) (\d) /#) {
                asctime.replaceSubrange(match.range, with: "\(match.1)  \(match.2) ")
            }
            #expect(UTCTime(httpDate: asctime, now: now)?.unix == t, "\(asctime)")
        }
        // RFC 850's two-digit year: within 50 years of now, else the century before.
        #expect(UTCTime(httpDate: "Sunday, 06-Nov-94 08:49:37 GMT", now: now)?.unix == 784_111_777)
        #expect(UTCTime(httpDate: "Thursday, 06-Nov-25 08:49:37 GMT", now: now)?.year == 2025)
        #expect(UTCTime(httpDate: "Sun, 06 Nov 1994 08:49:37 GMT", now: now)?.unix == 784_111_777)
        #expect(UTCTime(httpDate: "Sun Nov  6 08:49:37 1994", now: now)?.unix == 784_111_777)
    }

    @Test(arguments: [
        "", "soon", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ", "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3 GMT",
    ])
    func anythingElseIsNoHTTPDate(text: String) {
        #expect(UTCTime(httpDate: text, now: 1_764_927_005) == nil)
    }
}

@Suite struct UpstreamWaitTests {
    /// An upstream's headers are untrusted: no number in them may trap while it becomes a wait.
    @Test(arguments: ["inf", "Infinity", "nan", "-nan", "1e400", "-5", "0x10", "1e3", ".", "1.2.3", "5 s"])
    func aNumberThatIsNoPlainDecimalIsNoWait(text: String) {
        #expect(RetryAfter.parse(headers: [("Retry-After", text)]) == nil)
        #expect(RetryAfter.parse(headers: [("retry-after-ms", text)]) == nil)
        #expect(RateLimitInfo.parseReset(text) == nil)
        #expect(RateLimitInfo.parseReset(text + "s") == nil)
    }

    @Test func aHugeWaitIsHeldAtTheLongest() {
        let longest = Duration.seconds(366 * 86_400)
        #expect(RetryAfter.parse(headers: [("Retry-After", "99999999999999999999999")]) == longest)
        #expect(RetryAfter.parse(headers: [("Retry-After", "9999999999999999")]) == longest)
        #expect(RetryAfter.parse(headers: [("retry-after-ms", "9999999999999999999999")]) == longest)
        #expect(RateLimitInfo.parseReset("99999999999h") == longest)
        #expect(
            RateLimitInfo(headers: [("x-ratelimit-reset-requests", "inf"), ("x-ratelimit-remaining-requests", "0")])?.suggestedWait == nil)
    }
}
