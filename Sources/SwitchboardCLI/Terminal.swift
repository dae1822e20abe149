import Foundation
import Switchboard

/// Writes to the terminal without buffering, so streamed tokens appear as they arrive.
enum Terminal {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Standard error, after the log lines queued before it (and written before this returns, unless standard
    /// error is not being read).
    static func err(_ text: String) {
        StderrWriter.shared.write(text)
        StderrWriter.shared.flush()
    }

    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    /// Dim text on a terminal, plain otherwise.
    static func dim(_ text: String) -> String {
        stderrIsTTY ? "\u{1B}[2m\(text)\u{1B}[0m" : text
    }

    /// Left-aligned columns.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func json(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
