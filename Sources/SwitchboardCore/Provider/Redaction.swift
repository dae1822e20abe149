/// Removes secrets from text that may reach a log, an error or a response.
///
/// Scanned by hand rather than with `Regex`: an upstream's error message is redacted on the event loop that received
/// it, and Swift's regex engine took long enough over a short message to matter in a storm of upstream errors.
public enum Redaction {
    /// Replaces each known secret and anything shaped like an API key or bearer token with `[REDACTED]`.
    public static func redact(_ text: String, secrets: [String] = []) -> String {
        var out = text
        for secret in secrets where secret.count >= 4 {
            out = out.replacing(secret, with: "[REDACTED]")
        }
        return bearerTokens(keyShaped(out))
    }

    static let replacement = Array("[REDACTED]".unicodeScalars)

    /// Prefixes of provider keys, lowercased; a key is one of them at the start of a word, then at least
    /// `keyRun` key characters.
    static let keyPrefixes: [[Unicode.Scalar]] = ["sk", "csk", "gsk", "xai", "pk", "rk", "sb", "ghu", "gho", "ghp", "aiza", "akia"]
        .map { Array($0.unicodeScalars) }
    static let keyRun = 12
    /// Characters of a bearer token after `Bearer` and blanks, at least `tokenRun` of them, then any `=` padding.
    static let tokenRun = 8

    /// Key-shaped tokens, case-insensitively: a known prefix where a word starts (after anything but an ASCII letter,
    /// digit or `_`), followed by a run of `[-_A-Za-z0-9]` at least `keyRun` long, replaced whole.
    static func keyShaped(_ text: String) -> String {
        replacing(in: text) { s, i in
            guard i == 0 || !isWordCharacter(s[i - 1]) else { return nil }
            for prefix in keyPrefixes where startsCaseInsensitively(s, at: i, with: prefix) {
                var end = i + prefix.count
                while end < s.count, isKeyCharacter(s[end]) { end += 1 }
                if end - (i + prefix.count) >= keyRun { return (i, end) }
            }
            return nil
        }
    }

    static let bearer = Array("bearer".unicodeScalars)

    /// `Bearer` (any case), blanks, then a token of at least `tokenRun` characters of `[-._~+/A-Za-z0-9]` and any `=`
    /// after it: the token and its padding replaced, `Bearer` and the blanks kept.
    static func bearerTokens(_ text: String) -> String {
        replacing(in: text) { s, i in
            guard startsCaseInsensitively(s, at: i, with: bearer) else { return nil }
            var start = i + bearer.count
            while start < s.count, s[start].properties.isWhitespace { start += 1 }
            var end = start
            while end < s.count, isTokenCharacter(s[end]) { end += 1 }
            guard start > i + bearer.count, end - start >= tokenRun else { return nil }
            while end < s.count, s[end] == "=" { end += 1 }
            return (start, end)
        }
    }

    /// `text` with `replacement` in place of each match, scanning left to right: `match` looks at position `i` and gives
    /// where the replaced part starts and ends (what comes before its start is kept), or nil to keep `i` and move on.
    private static func replacing(
        in text: String, _ match: (_ s: [Unicode.Scalar], _ i: Int) -> (start: Int, end: Int)?
    ) -> String {
        let s = Array(text.unicodeScalars)
        var out: [Unicode.Scalar] = []
        var i = 0
        var changed = false
        while i < s.count {
            if let (start, end) = match(s, i) {
                out += s[i..<start]
                out += replacement
                i = end
                changed = true
            } else {
                out.append(s[i])
                i += 1
            }
        }
        guard changed else { return text }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: out)
        return String(view)
    }

    private static func startsCaseInsensitively(_ s: [Unicode.Scalar], at i: Int, with lowercased: [Unicode.Scalar]) -> Bool {
        guard i + lowercased.count <= s.count else { return false }
        for (offset, expected) in lowercased.enumerated() {
            let c = s[i + offset]
            let folded = c.value >= 0x41 && c.value <= 0x5A ? c.value + 0x20 : c.value
            if folded != expected.value { return false }
        }
        return true
    }

    private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
    }

    private static func isWordCharacter(_ c: Unicode.Scalar) -> Bool { isASCIIAlphanumeric(c) || c == "_" }

    private static func isKeyCharacter(_ c: Unicode.Scalar) -> Bool { isASCIIAlphanumeric(c) || c == "_" || c == "-" }

    private static func isTokenCharacter(_ c: Unicode.Scalar) -> Bool {
        isASCIIAlphanumeric(c) || c == "-" || c == "." || c == "_" || c == "~" || c == "+" || c == "/"
    }
}
