import HTTPTypes
import Hummingbird

/// Outermost middleware: runs the pipeline's conclusion around every route the router answers (the commit of a
/// billed request's record, its headers, its metrics, and any error in the route's dialect).
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let pipeline: RequestPipeline

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let call = context.call
        call.identify(request.headers)
        pipeline.beginSpan(call, request: request.head)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.response(pipeline.errorAnswer(error, call: call))
        }
        let commit = await pipeline.commit(call, status: response.status)
        if commit == .failed { response = Self.response(pipeline.errorAnswer(APIError.ledgerUnavailable, call: call)) }
        pipeline.finish(&response.headers, status: response.status, call: call, commit: commit, route: context.endpointPath ?? "unmatched")
        return response
    }

    private static func response(_ answer: (HTTPResponse.Status, HTTPFields, ByteBuffer)) -> Response {
        Response(status: answer.0, headers: answer.1, body: .init(byteBuffer: answer.2))
    }
}

/// What a route is, set where it is registered: its dialect and ledger task (`RequestPipeline.enter`), and the
/// caller's key when the route requires one (`RequestPipeline.authenticate`). A request with another method is
/// neither billed nor authenticated: it is refused with a 405.
struct RouteMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let pipeline: RequestPipeline
    let route: RequestPipeline.Route
    /// The route's methods.
    let methods: Set<HTTPRequest.Method>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let served = methods.contains(request.method)
        pipeline.enter(context.call, route: route, billed: served)
        if served, route.requiresKey { try await pipeline.authenticate(context.call, headers: request.headers) }
        if served, let session = request.headers[.session], !session.isEmpty, session.utf8.count <= 256 {
            context.call.update { $0.session = session }
        }
        return try await next(request, context)
    }
}
