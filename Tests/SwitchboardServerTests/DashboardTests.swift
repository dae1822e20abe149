import Foundation
import SwitchboardStorage
import Testing

@testable import SwitchboardServer

/// The dashboard's report and page, without a server (the page in a browser: `Tests/python/test_dashboard.py`).
@Suite struct DashboardTests {
    static let day0 = Date(timeIntervalSince1970: 1_799_971_200)  // a UTC midnight

    static func row(
        hour: Int, model: String = "m", lane: String? = nil, key: String = "key_a", latencyClass: Int, requests: Int = 1,
        errors: Int = 0, cost: Int64 = 0
    ) -> UsageSeriesRow {
        UsageSeriesRow(
            bucket: day0.addingTimeInterval(Double(hour) * 3600), provider: "p", model: model, lane: lane, keyID: key,
            latencyClass: latencyClass, requests: requests, errors: errors, inputTokens: 10 * requests,
            outputTokens: 5 * requests, costNanoUSD: cost, unpricedRequests: 0, corruptRecords: 0)
    }

    @Test func theReportFillsEveryBucketAndRanksGroupsBySpend() {
        let query = UsageSeriesQuery(from: Self.day0, to: Self.day0.addingTimeInterval(86_400), bucketSeconds: 3600)
        let rows = [
            Self.row(hour: 1, model: "cheap", latencyClass: 3, requests: 3),
            Self.row(hour: 5, model: "dear", lane: "lane:fast", key: "key_b", latencyClass: 7, errors: 1, cost: 900),
        ]
        let report = DashboardReport(rows: rows, query: query)
        #expect(report.series.count == 24)
        #expect(report.series.map(\.figures.requests) == [0, 3] + [Int](repeating: 0, count: 3) + [1] + [Int](repeating: 0, count: 18))
        #expect(report.total.requests == 4 && report.total.errors == 1 && report.total.costNanoUSD == 900)
        #expect(report.byModel.map(\.name) == ["p/dear", "p/cheap"])
        #expect(report.byLane.map(\.name) == ["lane:fast", "(no lane)"])
        #expect(report.byKey.map(\.name) == ["key_b", "key_a"])
    }

    @Test func percentilesAreReadOffTheLatencyClasses() {
        var f = DashboardReport.Figures()
        #expect(f.percentile(0.5) == nil)
        // 10 requests at 25-50 ms (class 3), 10 at 500-1000 ms (class 7).
        f.latency[3] = 10
        f.latency[7] = 10
        #expect(f.percentile(0.5) == 50)
        #expect(f.percentile(0.95) == 500 + 500 * 0.9)
        f.latency[UsageSeriesRow.latencyBoundsMs.count] = 100
        #expect(f.percentile(0.95) == Double(UsageSeriesRow.latencyBoundsMs.last ?? 0))
    }

    @Test func thePageEscapesWhatClientsNamed() {
        let query = UsageSeriesQuery(from: Self.day0, to: Self.day0.addingTimeInterval(86_400), bucketSeconds: 3600)
        let html = DashboardPage.html(
            DashboardReport(rows: [Self.row(hour: 0, model: "<script>alert(1)</script>", latencyClass: 2)], query: query))
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("p/&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains(#"id="total-requests">1<"#))
    }

    @Test func theRangeIsWholeUTCDaysAndBadOnesAreRefused() throws {
        let now = Self.day0.addingTimeInterval(3600 * 15)
        let week = try GatewayRoutes.dashboardQuery(from: nil, to: nil, now: now)
        #expect(week.from == Self.day0.addingTimeInterval(-6 * 86_400) && week.to == Self.day0.addingTimeInterval(86_400))
        #expect(week.bucketSeconds == 86_400)
        let one = try GatewayRoutes.dashboardQuery(from: "2026-12-05", to: "2026-12-05", now: now)
        #expect(one.bucketSeconds == 3600 && one.to.timeIntervalSince(one.from) == 86_400)
        for (from, to) in [("2026-02-31", "2026-03-01"), ("2026-12-06", "2026-12-05"), ("2020-01-01", "2026-01-01"), ("12/05/2026", "")] {
            #expect(throws: APIError.self) { try GatewayRoutes.dashboardQuery(from: from, to: to, now: now) }
        }
    }
}
