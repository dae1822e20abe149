extension UTCTime {
    private static let months = monthNames.map { Array($0.utf8) }
    private static let weekdays = weekdayNames.map { Array($0.utf8) }
    private static let longWeekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"].map { Array($0.utf8) }

    /// An HTTP-date (RFC 9110, section 5.6.7): the IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, or either obsolete form
    /// a recipient must still accept, `Sunday, 06-Nov-94 08:49:37 GMT` and asctime's `Sun Nov  6 08:49:37 1994`; nil
    /// for anything else. A two-digit year more than 50 years after `now`'s (seconds since 1970) is in the century
    /// before.
    package init?(httpDate text: some StringProtocol, now: Int64) {
        var scan = DateScanner(Array(text.utf8))
        let parsed: (year: Int64, month: Int64, day: Int64, time: (Int64, Int64, Int64))?
        if scan.word(in: Self.weekdays), scan.take(", ") {
            // IMF-fixdate
            guard let day = scan.number(digits: 2), scan.take(" "), let month = scan.month(Self.months), scan.take(" "),
                let year = scan.number(digits: 4), scan.take(" "), let time = scan.time(), scan.take(" GMT")
            else { return nil }
            parsed = (year, month, day, time)
        } else if scan.rewind(), scan.word(in: Self.longWeekdays), scan.take(", ") {
            // RFC 850
            guard let day = scan.number(digits: 2), scan.take("-"), let month = scan.month(Self.months), scan.take("-"),
                let short = scan.number(digits: 2), scan.take(" "), let time = scan.time(), scan.take(" GMT")
            else { return nil }
            let nowYear = UTCTime(unix: now).year
            var year = nowYear - nowYear % 100 + short
            if year > nowYear + 50 { year -= 100 }
            parsed = (year, month, day, time)
        } else if scan.rewind(), scan.word(in: Self.weekdays), scan.take(" ") {
            // asctime: the day is two characters, a space before a single digit
            guard let month = scan.month(Self.months), scan.take(" "),
                let day = scan.take(" ") ? scan.number(digits: 1) : scan.number(digits: 2),
                scan.take(" "), let time = scan.time(), scan.take(" "), let year = scan.number(digits: 4)
            else { return nil }
            parsed = (year, month, day, time)
        } else {
            parsed = nil
        }
        guard let parsed, scan.atEnd else { return nil }
        self.init(
            year: parsed.year, month: parsed.month, day: parsed.day, hour: parsed.time.0, minute: parsed.time.1,
            second: parsed.time.2)
    }
}

/// A cursor over an HTTP-date's bytes.
private struct DateScanner {
    let bytes: [UInt8]
    var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at == bytes.count }

    /// Back to the start; true, so it chains in a condition.
    mutating func rewind() -> Bool {
        at = 0
        return true
    }

    /// Consumes `literal` if the text continues with it.
    mutating func take(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - at >= count else { return false }
        for k in 0..<count where bytes[at + k] != literal.utf8Start[k] { return false }
        at += count
        return true
    }

    /// Consumes a run of letters if it is one of `words`.
    mutating func word(in words: [[UInt8]]) -> Bool {
        var end = at
        while end < bytes.count, (bytes[end] | 0x20) >= UInt8(ascii: "a"), (bytes[end] | 0x20) <= UInt8(ascii: "z") { end += 1 }
        guard words.contains(where: { $0[...] == bytes[at..<end] }) else { return false }
        at = end
        return true
    }

    /// A month's three-letter name, as 1...12.
    mutating func month(_ names: [[UInt8]]) -> Int64? {
        guard bytes.count - at >= 3, let index = names.firstIndex(where: { $0[...] == bytes[at..<at + 3] }) else { return nil }
        at += 3
        return Int64(index + 1)
    }

    /// Exactly `digits` decimal digits.
    mutating func number(digits: Int) -> Int64? {
        guard bytes.count - at >= digits else { return nil }
        var value: Int64 = 0
        for byte in bytes[at..<at + digits] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        at += digits
        return value
    }

    /// `HH:MM:SS`.
    mutating func time() -> (Int64, Int64, Int64)? {
        guard let h = number(digits: 2), take(":"), let m = number(digits: 2), take(":"), let s = number(digits: 2) else { return nil }
        return (h, m, s)
    }
}
