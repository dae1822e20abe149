public import Foundation

/// What an upstream's rate-limit headers said.
public struct RateLimitInfo: Sendable, Hashable {
    public var limitRequests: Int?
    public var remainingRequests: Int?
    public var resetRequests: Duration?
    public var limitTokens: Int?
    public var remainingTokens: Int?
    public var resetTokens: Duration?
    /// The window the request figures apply to ("minute", "day"), when the header names one.
    public var requestWindow: String?
    /// The window the token figures apply to, when the header names one.
    public var tokenWindow: String?

    /// Nothing known.
    public init() {}

    /// Reads OpenAI-style (`x-ratelimit-limit-requests`) and Cerebras-style
    /// (`x-ratelimit-limit-requests-day`, `...-tokens-minute`) headers; nil when none is present.
    public init?(headers: [(String, String)]) {
        var info = RateLimitInfo()
        var found = false
        for (rawName, value) in headers {
            // Most names do not start with an x: no lowercased copy of each (every upstream answer comes here).
            guard rawName.utf8.first.map({ $0 | 0x20 == UInt8(ascii: "x") }) == true else { continue }
            let name = rawName.lowercased()
            guard name.hasPrefix("x-ratelimit-") else { continue }
            let rest = name.dropFirst("x-ratelimit-".count).split(separator: "-").map(String.init)
            guard rest.count >= 2 else { continue }
            let field = rest[0]
            let subject = rest[1]
            let window = rest.count >= 3 ? rest[2...].joined(separator: "-") : nil
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            switch (field, subject) {
            case ("limit", "requests"): info.limitRequests = Int(trimmed); info.requestWindow = window ?? info.requestWindow
            case ("remaining", "requests"): info.remainingRequests = Int(trimmed)
            case ("reset", "requests"): info.resetRequests = RateLimitInfo.parseReset(trimmed)
            case ("limit", "tokens"): info.limitTokens = Int(trimmed); info.tokenWindow = window ?? info.tokenWindow
            case ("remaining", "tokens"): info.remainingTokens = Int(trimmed)
            case ("reset", "tokens"): info.resetTokens = RateLimitInfo.parseReset(trimmed)
            default: continue
            }
            found = true
        }
        guard found else { return nil }
        self = info
    }

    /// The longest wait the headers imply when something is exhausted.
    public var suggestedWait: Duration? {
        var waits: [Duration] = []
        if remainingRequests == 0, let r = resetRequests { waits.append(r) }
        if remainingTokens == 0, let r = resetTokens { waits.append(r) }
        return waits.max()
    }

    /// A short summary for health output ("requests 59/60 per minute, tokens ...").
    public var summary: String {
        var parts: [String] = []
        if let r = remainingRequests {
            parts.append("requests \(r)" + (limitRequests.map { "/\($0)" } ?? "") + (requestWindow.map { " per \($0)" } ?? ""))
        }
        if let t = remainingTokens {
            parts.append("tokens \(t)" + (limitTokens.map { "/\($0)" } ?? "") + (tokenWindow.map { " per \($0)" } ?? ""))
        }
        return parts.joined(separator: ", ")
    }

    /// Parses a reset value: plain seconds ("1.5") or a Go duration ("6m0s", "12ms", "1h2m3.5s").
    public static func parseReset(_ text: String) -> Duration? {
        if let seconds = WaitText.decimal(text) { return WaitText.wait(seconds: seconds) }
        var total = 0.0
        var number = ""
        let chars = Array(text)
        var i = 0
        var matched = false
        while i < chars.count {
            let c = chars[i]
            if c.isASCII, c.isNumber || c == "." {
                number.append(c)
                i += 1
                continue
            }
            var unit = String(c)
            if c == "m", i + 1 < chars.count, chars[i + 1] == "s" { unit = "ms"; i += 1 }
            guard let value = WaitText.decimal(number) else { return nil }
            switch unit {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            case "ms": total += value / 1000
            default: return nil
            }
            number = ""
            matched = true
            i += 1
        }
        guard matched, number.isEmpty else { return nil }
        return WaitText.wait(seconds: total)
    }
}

/// Parsing of `Retry-After` and `retry-after-ms`.
public enum RetryAfter {
    /// The wait a response asks for: `retry-after-ms`, else `retry-after` as seconds or an HTTP-date.
    public static func parse(headers: [(String, String)], now: Date = Date()) -> Duration? {
        for (name, value) in headers where name.lowercased() == "retry-after-ms" {
            if let ms = WaitText.decimal(value.trimmingCharacters(in: .whitespaces)) { return WaitText.wait(seconds: ms / 1000) }
        }
        for (name, value) in headers where name.lowercased() == "retry-after" {
            return parse(value, now: now)
        }
        return nil
    }

    /// Parses one `Retry-After` value: delta-seconds or an IMF-fixdate.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = WaitText.decimal(text) { return WaitText.wait(seconds: seconds) }
        let seconds = now.timeIntervalSince1970
        guard let date = UTCTime(httpDate: text, now: Int64(seconds.rounded(.down))) else { return nil }
        return WaitText.wait(seconds: max(0, Double(date.unix) - seconds))
    }
}

/// The numbers of an upstream's rate-limit headers, which may hold anything: `Double("inf")` is infinity, and turning
/// an infinite, not-a-number or huge wait into a `Duration` traps.
package enum WaitText {
    /// The longest wait a header is taken to ask for.
    package static let longest: Double = 366 * 86_400

    /// `7`, `1.5`: digits with at most one point among them; nil for anything else (signs, exponents, `inf`, `nan`, hex).
    package static func decimal(_ text: some StringProtocol) -> Double? {
        var digits = 0
        var points = 0
        for byte in text.utf8 {
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits += 1
            } else if byte == UInt8(ascii: ".") {
                points += 1
            } else {
                return nil
            }
        }
        guard digits > 0, points <= 1 else { return nil }
        return Double(text)
    }

    /// A wait of `seconds` (from `decimal`, so finite and not negative), held at `longest`.
    package static func wait(seconds: Double) -> Duration {
        .milliseconds(Int64((min(seconds, longest) * 1000).rounded()))
    }
}
