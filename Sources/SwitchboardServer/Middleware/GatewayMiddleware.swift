import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let requestID = Self("x-request-id")!
    static let overhead = Self("x-switchboard-overhead-ms")!
    static let apiKey = Self("x-api-key")!
}

/// Outermost middleware: request id, errors in OpenAI's shape, the overhead header and request metrics.
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let incoming = request.headers[.requestID].flatMap { $0.count <= 128 && !$0.isEmpty ? $0 : nil }
        context.requestID = incoming ?? UUID().uuidString.lowercased()
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try APIError.from(error).response(from: request, context: context)
        }
        let total = ContinuousClock.now - start
        let upstream = context.record.upstream
        let overhead = max(.zero, total - upstream)
        response.headers[.requestID] = context.requestID
        response.headers[.overhead] = Self.milliseconds(overhead)
        let labels = context.record.labels
        metrics.request(route: context.endpointPath ?? "unmatched", model: labels.model, provider: labels.provider,
                        status: Int(response.status.code), total: total, upstream: upstream > .zero ? upstream : nil)
        return response
    }

    /// "1.234": milliseconds with three decimals, without `String(format:)`'s cost on every response.
    static func milliseconds(_ d: Duration) -> String {
        let micros = d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
