import Foundation
import SwitchboardCore
import SwitchboardStorage

/// The dashboard as one server-rendered HTML page: the range form, the totals, a chart per measure (drawn by
/// `/dashboard/chart.js` from the series the page carries as JSON) and the tables by model, provider, lane and key.
enum DashboardPage {
    static func html(_ report: DashboardReport) -> String {
        let total = report.total
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Switchboard usage</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>\(style)</style></head><body>
            <header><h1>Switchboard usage</h1>
            <form method="get" action="/dashboard">
            <label>From <input type="date" name="from" value="\(UTCDay.string(report.from))"></label>
            <label>To <input type="date" name="to" value="\(UTCDay.string(report.to.addingTimeInterval(-1)))"></label>
            <button type="submit">Show</button></form></header>
            <section class="cards">
            \(card("Spend", "total-cost-usd", "$" + NanoUSD(total.costNanoUSD).usdString, data: String(total.costNanoUSD)))
            \(card("Requests", "total-requests", String(total.requests)))
            \(card("Input tokens", "total-input-tokens", String(total.inputTokens)))
            \(card("Output tokens", "total-output-tokens", String(total.outputTokens)))
            \(card("Errors", "total-errors", String(total.errors)))
            \(card("Latency p50", "latency-p50", milliseconds(total.percentile(0.5))))
            \(card("Latency p95", "latency-p95", milliseconds(total.percentile(0.95))))
            </section>
            """
        if total.unpricedRequests > 0 || total.corruptRecords > 0 {
            page += "<p class=\"note\">\(total.unpricedRequests) requests had no known price (not in the spend); "
            page += "\(total.corruptRecords) records with impossible counts were left out of the sums.</p>"
        }
        page += "<section class=\"charts\">"
        for (measure, title) in [
            ("cost", "Spend (USD)"), ("requests", "Requests"), ("tokens", "Tokens (input + output)"), ("errors", "Errors"),
            ("p50", "Latency p50 (ms)"), ("p95", "Latency p95 (ms)"),
        ] {
            page += "<figure class=\"chart\" data-measure=\"\(measure)\"><figcaption>\(title)</figcaption></figure>"
        }
        page += "</section>"
        for (title, id, groups) in [
            ("By model", "by-model", report.byModel), ("By provider", "by-provider", report.byProvider),
            ("By lane", "by-lane", report.byLane), ("By key", "by-key", report.byKey),
        ] {
            page += table(title, id: id, groups)
        }
        page += "<script type=\"application/json\" id=\"series\">\(seriesJSON(report))</script>"
        page += "<script src=\"/dashboard/chart.js\"></script></body></html>\n"
        return page
    }

    private static func card(_ title: String, _ id: String, _ value: String, data: String? = nil) -> String {
        let attribute = data.map { " data-value=\"\(escape($0))\"" } ?? ""
        return "<div class=\"card\"><span>\(escape(title))</span><strong id=\"\(id)\"\(attribute)>\(escape(value))</strong></div>"
    }

    private static func table(_ title: String, id: String, _ groups: [DashboardReport.Group]) -> String {
        var html = "<section><h2>\(escape(title))</h2><table id=\"\(id)\"><thead><tr><th>Name</th><th>Requests</th>"
        html += "<th>Errors</th><th>Input</th><th>Output</th><th>Spend (USD)</th><th>p50</th><th>p95</th></tr></thead><tbody>"
        for group in groups {
            let f = group.figures
            html += "<tr><td>\(escape(group.name))</td><td>\(f.requests)</td><td>\(f.errors)</td><td>\(f.inputTokens)</td>"
            html += "<td>\(f.outputTokens)</td><td data-nano-usd=\"\(f.costNanoUSD)\">\(NanoUSD(f.costNanoUSD).usdString)</td>"
            html += "<td>\(milliseconds(f.percentile(0.5)))</td><td>\(milliseconds(f.percentile(0.95)))</td></tr>"
        }
        if groups.isEmpty { html += "<tr><td colspan=\"8\">No requests in this range.</td></tr>" }
        return html + "</tbody></table></section>"
    }

    /// The series for the charts, as JSON: one point per bucket.
    private static func seriesJSON(_ report: DashboardReport) -> String {
        let points = report.series.map { point -> JSONValue in
            let f = point.figures
            return [
                "t": .int(Int64(point.start.timeIntervalSince1970)), "requests": .int(Int64(f.requests)),
                "errors": .int(Int64(f.errors)), "tokens": .int(Int64(f.inputTokens) &+ Int64(f.outputTokens)),
                "cost": .double(Double(f.costNanoUSD) / 1e9), "p50": f.percentile(0.5).map(JSONValue.double) ?? .null,
                "p95": f.percentile(0.95).map(JSONValue.double) ?? .null,
            ]
        }
        // `<` written as an escape, so no value can end the script element.
        return JSONValue.object(["bucket_seconds": .int(Int64(report.bucketSeconds)), "points": .array(points)]).jsonString()
            .replacingOccurrences(of: "<", with: "\\u003c")
    }

    private static func milliseconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value >= Double(slowest) { return "over \(slowest) ms" }
        return value < 10 ? String(format: "%.1f ms", value) : "\(Int(value.rounded())) ms"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// The last latency class's bound: a percentile there is only known to be over it.
    private static let slowest = UsageSeriesRow.latencyBoundsMs.last ?? 0

    private static let style = """
        body{font:14px system-ui,sans-serif;margin:24px;color:#1d2330;background:#f7f8fa}h1{font-size:20px;margin:0 0 8px}
        header{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:12px}
        form label{margin-right:8px}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
        .card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 14px;min-width:130px}
        .card span{display:block;color:#5b6474;font-size:12px}.card strong{font-size:20px}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
        figure{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:0;padding:8px}
        figcaption{font-size:12px;color:#5b6474}svg{width:100%;height:160px;display:block}
        table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:16px}
        th,td{border:1px solid #dde1e8;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
        h2{font-size:16px;margin:20px 0 6px}.note{color:#8a5a00}
        """
}

/// Calendar days in UTC, as the range form writes them (`2026-12-05`).
enum UTCDay {
    static func string(_ date: Date) -> String {
        UTCTime(date).dateString
    }

    /// The start of a day written `yyyy-MM-dd`; nil for anything else, such as a day its month does not have.
    static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
            let day = UTCTime(year: y, month: m, day: d)
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(day.unix))
    }

    /// The start of the day `date` falls on.
    static func start(of date: Date) -> Date {
        Date(timeIntervalSince1970: TimeInterval(UTCTime.day(ofUnix: Int64(date.timeIntervalSince1970.rounded(.down))) * 86_400))
    }
}
