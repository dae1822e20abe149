import Foundation
public import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
public import SwitchboardCore
import SwitchboardStorage

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Extra headers (Retry-After).
    public var headers: HTTPFields

    /// Creates an error.
    public init(
        status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }

    /// 400 naming the offending field.
    public static func invalid(_ message: String, param: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param)
    }

    /// 401.
    public static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, message: message, type: "invalid_request_error", code: "invalid_api_key")
    }

    /// The JSON body.
    public var body: JSONValue {
        [
            "error": [
                "message": .string(message), "type": .string(type),
                "param": param.map(JSONValue.string) ?? .null, "code": code.map(JSONValue.string) ?? .null,
            ]
        ]
    }

    /// The body in the Hugging Face task API's shape: `{"error", "error_type", "message"}`.
    public var huggingFaceBody: JSONValue {
        let (summary, kind): (String, String) =
            switch status.code {
            case 400: ("Invalid request parameters", "BadRequest")
            case 401: ("Missing or invalid API key", "Unauthorized")
            case 403: ("Insufficient permissions", "Forbidden")
            case 404: ("Resource not found", "NotFound")
            case 413: ("Request too large", "PayloadTooLarge")
            case 429: ("Rate limit exceeded", "TooManyRequests")
            case 499: ("Request cancelled", "ClientClosedRequest")
            case 502: ("Provider unavailable", "BadGateway")
            case 503: ("Service temporarily unavailable", "ServiceUnavailable")
            case 504: ("Request timeout", "GatewayTimeout")
            default: status.code >= 500 ? ("Server error", "InternalServerError") : (status.reasonPhrase, "BadRequest")
            }
        if code == "budget_exceeded" {
            return ["error": "Budget exceeded", "error_type": "budget_exceeded", "message": .string(message)]
        }
        return ["error": .string(summary), "error_type": .string(kind), "message": .string(message)]
    }

    /// The error in OpenAI's shape (the gateway's own middleware answers every error in its route's dialect first).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let (fields, bytes) = payload(dialect: .openAI)
        return Response(status: status, headers: fields, body: .init(byteBuffer: bytes))
    }

    /// The headers and body of this error in the shape `dialect`'s clients read.
    func payload(dialect: APIDialect) -> (HTTPFields, ByteBuffer) {
        var fields = headers
        fields[.contentType] = "application/json"
        let shaped: JSONValue =
            switch dialect {
            case .openAI: body
            case .anthropic: AnthropicResponseEncoding.error(self)
            case .huggingFace: huggingFaceBody
            }
        return (fields, ByteBuffer(bytes: shaped.jsonBytes()))
    }

    /// A model name that reaches no provider.
    static func resolution(_ error: ModelResolutionError) -> APIError {
        switch error {
        case .nameTooLong: .invalid("'model' is longer than \(Gateway.maximumModelNameBytes) bytes", param: "model")
        case .unknownModel, .unknownLane:
            APIError(
                status: .notFound, message: error.description, type: "invalid_request_error", param: "model",
                code: "model_not_found")
        }
    }

    /// 499, nginx's status for a client that went away before its answer.
    static let clientClosed = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")

    /// 503: a stream still open when the drain timeout ran out, ended by the gateway before it exits.
    static let shuttingDown = APIError(
        status: .serviceUnavailable, message: "the server is shutting down; the stream was cut before its end",
        type: "server_error", code: "server_shutting_down")

    /// 503: a billed request whose record could not be committed is not answered as a success.
    static let ledgerUnavailable = APIError(
        status: .serviceUnavailable, message: "the usage ledger is unavailable; the request was not recorded",
        type: "server_error", code: "ledger_unavailable")

    static let storeUnavailable = APIError(
        status: .serviceUnavailable, message: "the gateway's store is unavailable; try again shortly", type: "server_error",
        code: "store_unavailable")

    /// Maps any failure to what the client should see: client mistakes keep their 4xx, upstream trouble
    /// becomes 502/503/504 (429 when every attempt was rate limited), and nothing secret is echoed.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as ProviderError: return from(provider: e, summary: nil)
        case let e as AllProvidersFailed:
            guard let last = e.last else {
                return APIError(
                    status: .serviceUnavailable, message: "no provider is configured for this model", type: "server_error",
                    code: "no_provider")
            }
            let allLimited = e.attempts.allSatisfy { if case .rateLimited = $0.error.kind { true } else { false } }
            var mapped = from(provider: last, summary: e.description)
            if allLimited { mapped.status = .tooManyRequests }
            return mapped
        case let e as HTTPError:
            switch e.status {
            case .contentTooLarge:
                return APIError(
                    status: .contentTooLarge, message: "request body is larger than the server accepts",
                    type: "invalid_request_error", code: "request_too_large")
            case .notFound:
                return APIError(status: .notFound, message: e.body ?? "no such route", type: "invalid_request_error", code: "not_found")
            default:
                return APIError(
                    status: e.status, message: e.body ?? e.status.reasonPhrase,
                    type: e.status.code < 500 ? "invalid_request_error" : "server_error")
            }
        case let e as QuotaEnforcer.Exceeded:
            return quota(e)
        case is CancellationError:
            return APIError(
                status: clientClosed, message: "request cancelled", type: "server_error")
        case is StorageError:
            // Which store and why go to the log (`logDiagnostics`), not to the client.
            return storeUnavailable
        default:
            return APIError(status: .internalServerError, message: "internal error", type: "server_error")
        }
    }

    private static func from(provider e: ProviderError, summary: String?) -> APIError {
        let detail = summary ?? e.description
        switch e.kind {
        case .invalidRequest:
            return APIError(
                status: .badRequest, message: "\(e.provider) rejected the request: \(e.message)", type: "invalid_request_error",
                code: e.code)
        case .modelNotFound:
            return APIError(
                status: .notFound, message: "model not found at \(e.provider): \(e.message)", type: "invalid_request_error",
                code: "model_not_found")
        case .contentFiltered:
            return APIError(
                status: .badRequest, message: "content filtered by \(e.provider): \(e.message)", type: "invalid_request_error",
                code: "content_filter")
        case .rateLimited(let wait):
            var headers = HTTPFields()
            if let wait { headers[.retryAfter] = String(max(1, Int(wait.inSeconds.rounded(.up)))) }
            return APIError(
                status: .tooManyRequests, message: "upstream rate limited: \(detail)", type: "rate_limit_error",
                code: "rate_limit_exceeded", headers: headers)
        case .timeout:
            return APIError(
                status: .gatewayTimeout, message: "upstream timed out: \(detail)", type: "server_error", code: "upstream_timeout")
        case .overloaded, .quotaExceeded:
            return APIError(
                status: .serviceUnavailable, message: "upstream unavailable: \(detail)", type: "server_error", code: "upstream_unavailable")
        case .budgetExceeded:
            return APIError(status: .tooManyRequests, message: detail, type: "rate_limit_error", code: "budget_exceeded")
        case .authentication, .permission:
            return APIError(
                status: .badGateway, message: "the gateway's credentials were refused upstream: \(detail)", type: "server_error",
                code: "upstream_auth")
        case .network, .server, .decoding:
            return APIError(status: .badGateway, message: "upstream failed: \(detail)", type: "server_error", code: "upstream_error")
        case .cancelled:
            return APIError(
                status: clientClosed, message: "request cancelled", type: "server_error")
        }
    }
}

extension APIError {
    /// Logs what a client is not told: an upstream failure's host, port, path and transport's own words, why the store
    /// was unavailable, and what an error answered as a bare 500 was.
    static func logDiagnostics(of error: any Error, requestID: String, logger: Logger) {
        let failures: [ProviderError]
        switch error {
        case let e as ProviderError: failures = [e]
        case let e as AllProvidersFailed: failures = e.attempts.filter { !$0.skipped }.map(\.error)
        case is APIError, is HTTPError, is QuotaEnforcer.Exceeded, is CancellationError: failures = []
        case let e as StorageError:
            logger.error("store unavailable", metadata: ["request_id": "\(requestID)", "error": "\(e)"])
            failures = []
        default:
            // Answered as a bare 500: what it was is only here.
            logger.error("internal error", metadata: ["request_id": "\(requestID)", "error": "\(Redacted(error))"])
            failures = []
        }
        for failure in failures {
            guard let detail = failure.diagnostic else { continue }
            logger.warning(
                "upstream call failed",
                metadata: [
                    "request_id": "\(requestID)", "provider": "\(failure.provider)",
                    "kind": "\(failure.kind.name)", "detail": "\(detail)",
                ])
        }
    }

    /// A refused request: 429 with Retry-After and the limit's state, or 400 when it can never fit.
    static func quota(_ e: QuotaEnforcer.Exceeded) -> APIError {
        var headers = HTTPFields()
        switch e.kind {
        case .requestTooLarge:
            return APIError(
                status: .badRequest, message: e.description, type: "invalid_request_error", param: "max_tokens",
                code: "request_exceeds_limit")
        case .rateLimited, .budget:
            headers[.retryAfter] = String(e.retryAfter)
            if e.kind == .rateLimited {
                headers[HTTPField.Name("x-ratelimit-limit")!] = String(e.limit)
                headers[HTTPField.Name("x-ratelimit-remaining")!] = "0"
                headers[HTTPField.Name("x-ratelimit-reset")!] = String(e.reset)
            }
            let code = e.kind == .budget ? "budget_exceeded" : "rate_limit_exceeded"
            return APIError(
                status: .tooManyRequests, message: e.description,
                type: e.kind == .budget ? "budget_exceeded" : "rate_limit_error", code: code, headers: headers)
        }
    }
}
