import Foundation
import TOMLKit

/// A parsed TOML value with Swift types, plus the means to find a key's line in the source.
indirect enum TOMLNode: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case table([(String, TOMLNode)])
    case array([TOMLNode])
    case other(String)

    var typeName: String {
        switch self {
        case .string: "a string"
        case .int: "an integer"
        case .double: "a number"
        case .bool: "a boolean"
        case .table: "a table"
        case .array: "an array"
        case .other(let t): t
        }
    }

    init(_ value: any TOMLValueConvertible) {
        if let t = value.table {
            self = .table(t.keys.compactMap { key in t[key].map { (key, TOMLNode($0)) } })
        } else if let a = value.array {
            self = .array(a.map { TOMLNode($0) })
        } else if let s = value.string {
            self = .string(s)
        } else if let b = value.bool {
            self = .bool(b)
        } else if let i = value.int {
            self = .int(i)
        } else if let d = value.double {
            self = .double(d)
        } else {
            self = .other("a \(value.type)")
        }
    }
}

/// The source of a TOML file, for reporting lines. TOMLKit gives values without positions, so keys are
/// found by scanning headers and `key =` lines; a key it cannot place is reported at its table's header.
struct TOMLSource: Sendable {
    let file: String
    private let lines: [Substring]

    init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The line (1-based) of the `occurrence`-th header `[table]` or `[[table]]`.
    func headerLine(_ table: String, occurrence: Int = 0) -> Int? {
        var seen = 0
        // `[a."b"]` and `[a.b]` name the same table.
        let wanted = table.replacingOccurrences(of: "\"", with: "")
        for (i, raw) in lines.enumerated() {
            guard let name = Self.header(raw) else { continue }
            if name.replacingOccurrences(of: "\"", with: "") == wanted {
                if seen == occurrence { return i + 1 }
                seen += 1
            }
        }
        return nil
    }

    /// The line of `key` inside `table` (its `occurrence`-th instance for arrays of tables); the table's
    /// header line when the key is not written as `key = ...`.
    func keyLine(_ key: String, table: String, occurrence: Int = 0) -> Int? {
        let headerIndex = table.isEmpty ? nil : headerLine(table, occurrence: occurrence).map { $0 - 1 }
        if !table.isEmpty, headerIndex == nil { return nil }
        var i = (headerIndex ?? -1) + 1
        while i < lines.count, Self.header(lines[i]) == nil {
            let text = lines[i].trimmingCharacters(in: .whitespaces)
            for form in [key, "\"\(key)\""] where text.hasPrefix(form) {
                let rest = text.dropFirst(form.count).trimmingCharacters(in: .whitespaces)
                if rest.hasPrefix("=") || rest.hasPrefix(".") { return i + 1 }
            }
            i += 1
        }
        return headerIndex.map { $0 + 1 }
    }

    private static func header(_ raw: Substring) -> String? {
        let line = raw.trimmingCharacters(in: .whitespaces)
        guard line.hasPrefix("[") else { return nil }
        let inner = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t"))
        guard let close = inner.firstIndex(of: "#") else { return inner.replacingOccurrences(of: " ", with: "") }
        return String(inner[..<close]).trimmingCharacters(in: CharacterSet(charactersIn: "[] \t"))
            .replacingOccurrences(of: " ", with: "")
    }
}
