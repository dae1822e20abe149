public import SwitchboardProviders
import Foundation

/// Environment variables: the real environment first, then `.env.local`, then `.env`, none overriding
/// a variable already set.
public struct Environment: Sendable {
    public private(set) var values: [String: String]

    /// An environment made of exactly these values (for tests and embedding).
    public init(_ values: [String: String]) {
        self.values = values
    }

    /// The process environment plus `.env.local` and `.env` from `directory`.
    public static func load(directory: String? = nil) throws(ConfigError) -> Environment {
        let directory = directory ?? FileManager.default.currentDirectoryPath
        var env = Environment(ProcessInfo.processInfo.environment)
        for name in [".env.local", ".env"] {
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ConfigError(file: path, line: nil, message: "cannot read: \(error.localizedDescription)")
            }
            env.addDefaults(try DotEnv.parse(text, file: path))
        }
        return env
    }

    /// Adds values for names not set yet.
    public mutating func addDefaults(_ more: [String: String]) {
        for (k, v) in more where values[k] == nil { values[k] = v }
    }

    /// The secret a `SecretSource` names: the literal, or the variable's value (nil when unset).
    public func resolve(_ source: SecretSource?) -> String? {
        switch source {
        case .literal(let s)?: s.isEmpty ? nil : s
        case .env(let name)?: self[name]
        case nil: nil
        }
    }

    /// The value of `name`, nil when unset or empty.
    public subscript(name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }
}

/// A small `.env` reader: `KEY=value`, optional `export`, quotes, `#` comments.
public enum DotEnv {
    /// Parses `.env` text.
    public static func parse(_ text: String, file: String = ".env") throws(ConfigError) -> [String: String] {
        var out: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: number + 1, message: "expected KEY=value")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(file: file, line: number + 1, message: "bad variable name '\(key)'")
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "\"" || quote == "'", value.count >= 2, value.last == quote {
                value = String(value.dropFirst().dropLast())
                if quote == "\"" { value = value.replacingOccurrences(of: "\\n", with: "\n") }
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            out[key] = value
        }
        return out
    }
}
