import Foundation
import Logging
public import NIOCore
public import SwitchboardCore

/// What every HTTP provider does around a call: send through the transport, turn transport failures and
/// HTTP error statuses into `ProviderError` (secrets redacted), and read bodies within a limit.
public struct UpstreamClient: Sendable {
    public let provider: String
    public let transport: any HTTPTransport
    /// Base URL without a trailing slash.
    public let baseURL: String
    /// Values never to echo in an error (the provider's keys and tokens).
    public let secrets: [String]

    /// Creates a client for one provider.
    public init(provider: String, transport: any HTTPTransport, baseURL: String, secrets: [String]) {
        self.provider = provider
        self.transport = transport
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.secrets = secrets.filter { !$0.isEmpty }
    }

    /// Sends `request`; a non-2xx status becomes the `ProviderError` its body describes.
    public func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse {
        let response: TransportResponse
        do {
            response = try await transport.send(request, context: context)
        } catch let error as TransportError {
            throw self.error(error)
        }
        guard (200..<300).contains(response.status) else {
            let body = await response.body.collectPrefix(upTo: TransportBody.errorBodyLimit)
            context.logger.debug("upstream error", metadata: ["provider": "\(provider)", "status": "\(response.status)"])
            throw error(status: response.status, headers: response.headers, body: body)
        }
        return response
    }

    /// The error a non-2xx answer describes, secrets redacted.
    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> ProviderError {
        OpenAIErrorDecoding.error(
            status: status, headers: headers, body: Data(body.readableBytesView), provider: provider, secrets: secrets)
    }

    /// Posts a JSON body to `path` under the base URL.
    public func post(_ path: String, json: JSONValue, headers: [(String, String)], context: CallContext) async throws -> TransportResponse {
        try await send(
            TransportRequest(method: "POST", url: baseURL + path, headers: headers, body: ByteBuffer(bytes: json.jsonBytes())),
            context: context)
    }

    /// Reads a whole body.
    public func collect(_ response: TransportResponse, upTo limit: Int) async throws -> ByteBuffer {
        do { return try await response.body.collect(upTo: limit) } catch let error as TransportError { throw self.error(error) }
    }

    /// A transport failure as the provider error callers classify and retry on. The client-facing message names no
    /// host, port or path; those, and the transport's own words, are the error's `diagnostic`, for the log.
    public func error(_ error: TransportError) -> ProviderError {
        func failure(_ kind: ProviderError.Kind, _ message: String, _ detail: String) -> ProviderError {
            ProviderError(
                kind, provider: provider, message: message, diagnostic: "\(baseURL): \(Redaction.redact(detail, secrets: secrets))")
        }
        return switch error {
        case .timedOut(.deadline):
            ProviderError(.timeout, provider: provider, message: "upstream did not answer within the request timeout")
        case .timedOut(.firstByte):
            ProviderError(.timeout, provider: provider, message: "upstream sent nothing within the first-byte timeout")
        case .timedOut(.idle): ProviderError(.timeout, provider: provider, message: "upstream went silent past the stream idle timeout")
        case .connectFailed(let m):
            {
                var error = failure(.network, "cannot connect to the upstream", m)
                error.unreachable = true
                return error
            }()
        case .connectionClosed(let m): failure(.network, "the upstream connection was lost", m)
        case .bodyTooLarge(let limit): ProviderError(.decoding, provider: provider, message: "upstream response larger than \(limit) bytes")
        case .invalidURL(let m): failure(.invalidRequest, "the provider's base URL is not usable", m)
        case .invalidRequest(let m): ProviderError(.invalidRequest, provider: provider, message: m)
        case .invalidResponse(let m): failure(.network, "the upstream sent a malformed response", m)
        }
    }
}
