package import Foundation

/// A UTC date and time of day, by the proleptic Gregorian calendar's arithmetic (days from the civil date and back).
///
/// Foundation's `Calendar`, `TimeZone(identifier:)` and `DateFormatter` load ICU's data, which then stays resident for
/// the process's life, and are slow on a request's path; everything the gateway dates is in UTC.
package struct UTCTime: Equatable, Sendable {
    package var year: Int64
    /// 1...12.
    package var month: Int64
    /// 1...31.
    package var day: Int64
    package var hour: Int64
    package var minute: Int64
    package var second: Int64

    /// The second `unix` (seconds since 1970-01-01T00:00:00Z) falls in.
    package init(unix: Int64) {
        let days = Self.floorDivide(unix, 86_400)
        let within = unix - days * 86_400
        (year, month, day) = Self.civil(days: days)
        hour = within / 3600
        minute = within % 3600 / 60
        second = within % 60
    }

    /// The second `date` falls in.
    package init(_ date: Date) {
        self.init(unix: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// The date and time given; nil for a day the month does not have or a time of day out of range.
    package init?(year: Int64, month: Int64, day: Int64, hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0) {
        guard (1...12).contains(month), day >= 1, day <= Self.days(inMonth: month, of: year), (0..<24).contains(hour),
            (0..<60).contains(minute), (0..<60).contains(second)
        else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    package var unix: Int64 { Self.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second }

    /// `2026-12-05`.
    package var dateString: String { Self.padded(year, 4) + "-" + Self.padded(month, 2) + "-" + Self.padded(day, 2) }

    /// `2026-12-05T09:30:00Z`: ISO 8601, to the second.
    package var isoDateTime: String {
        dateString + "T" + Self.padded(hour, 2) + ":" + Self.padded(minute, 2) + ":" + Self.padded(second, 2) + "Z"
    }

    /// `Sat, 05 Dec 2026 09:30:00 GMT`: the IMF-fixdate HTTP dates a response with.
    package var httpDate: String {
        let weekday = Self.floorModulo(Self.days(year: year, month: month, day: day) + 4, 7)  // 1970-01-01 was a Thursday
        return Self.weekdayNames[Int(weekday)] + ", " + Self.padded(day, 2) + " " + Self.monthNames[Int(month - 1)] + " "
            + Self.padded(year, 4) + " " + Self.padded(hour, 2) + ":" + Self.padded(minute, 2) + ":" + Self.padded(second, 2) + " GMT"
    }

    /// `20261205T093000Z`: ISO 8601's basic format, as AWS signatures date a request.
    package var compactDateTime: String {
        Self.padded(year, 4) + Self.padded(month, 2) + Self.padded(day, 2) + "T" + Self.padded(hour, 2) + Self.padded(minute, 2)
            + Self.padded(second, 2) + "Z"
    }

    /// The day count from 1970-01-01 the second `unix` falls in.
    package static func day(ofUnix unix: Int64) -> Int64 { floorDivide(unix, 86_400) }

    /// The year, month (1...12) and day of a day counted from 1970-01-01.
    package static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, dayOfYear - (153 * mp + 2) / 5 + 1)
    }

    /// Days from 1970-01-01 to `day` (from 1) of `month` (1...12) of `year`.
    package static func days(year: Int64, month: Int64, day: Int64 = 1) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// How many days `month` (1...12) of `year` has.
    package static func days(inMonth month: Int64, of year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Sunday first, as HTTP-dates write them.
    static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDivide(a, b) * b
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }

    private static func padded(_ n: Int64, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
