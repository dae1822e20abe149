import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardStorage

/// `/dashboard`: where the money goes, from the ledger, for the master key or a key with the `admin` scope. A browser
/// is asked for HTTP Basic credentials (any user name, the key as the password).
extension GatewayRoutes {
    /// The longest range one page sums.
    static let dashboardMaxDays = 366

    /// `GET /dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, both included; the last seven days by default).
    func dashboard(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        do {
            try await pipeline.authenticate(context.call, headers: request.headers)
        } catch let error as APIError where error.status == .unauthorized {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = #"Basic realm="switchboard", charset="UTF-8""#
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(
                status: .unauthorized, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: "The dashboard needs an admin key: give it as the password.\n")))
        }
        guard context.call.principal?.isAdmin == true else {
            throw APIError(
                status: .forbidden, message: "the dashboard needs the master key or a key with the admin scope",
                type: "invalid_request_error", code: "admin_required")
        }
        let query = try Self.dashboardQuery(
            from: request.uri.queryParameters["from"].map(String.init), to: request.uri.queryParameters["to"].map(String.init),
            now: Date())
        let report = DashboardReport(rows: try await store.series(query), query: query)
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // The page runs only the gateway's own script; its data is inert JSON.
        headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html(report))))
    }

    /// `GET /dashboard/chart.js`: the charting script (no secrets in it, so no key is asked for).
    func dashboardScript(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/javascript; charset=utf-8"
        headers[.cacheControl] = "max-age=3600"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.dashboard_js)))
    }

    /// The range the page sums: whole UTC days, hourly buckets for up to two days, daily ones beyond.
    static func dashboardQuery(from: String?, to: String?, now: Date) throws -> UsageSeriesQuery {
        func day(_ text: String?, _ name: String, default value: Date) throws -> Date {
            guard let text, !text.isEmpty else { return value }
            guard let date = UTCDay.parse(text) else { throw APIError.invalid("'\(name)' must be a day, e.g. 2026-12-05", param: name) }
            return date
        }
        let today = UTCDay.start(of: now)
        let last = try day(to, "to", default: today)
        let first = try day(from, "from", default: last.addingTimeInterval(-6 * 86_400))
        guard first <= last else { throw APIError.invalid("'from' must not come after 'to'", param: "from") }
        let days = Int(last.timeIntervalSince(first) / 86_400) + 1
        guard days <= dashboardMaxDays else {
            throw APIError.invalid("the range may span at most \(dashboardMaxDays) days", param: "from")
        }
        return UsageSeriesQuery(from: first, to: last.addingTimeInterval(86_400), bucketSeconds: days <= 2 ? 3600 : 86_400)
    }
}
