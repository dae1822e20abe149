import Foundation
import Logging
import Switchboard

/// Logs to standard error through `StderrWriter` (a log call never waits for standard error), rendering metadata only
/// when a message is actually written.
///
/// swift-log's `StreamLogHandler` re-renders its metadata string every time metadata is set; Hummingbird sets
/// a request id on a logger for every request, so that rendering was paid per request even though nothing
/// was logged.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        let rendered = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // Not `Date.formatted`, which loads ICU's data on the first line logged.
        let time = UTCTime(Date()).isoDateTime
        StderrWriter.shared.write("\(time) \(event.level) \(label):\(rendered) \(event.message)\n")
    }
}
