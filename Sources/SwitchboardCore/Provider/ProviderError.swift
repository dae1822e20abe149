/// A failed provider call: what kind of failure, the upstream status and a redacted message.
public struct ProviderError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in provider-neutral terms.
    public enum Kind: Sendable, Hashable {
        case authentication
        case permission
        case modelNotFound
        case invalidRequest
        /// Too many requests; `retryAfter` when the provider said how long to wait.
        case rateLimited(retryAfter: Duration?)
        /// Out of credit or quota: waiting will not help.
        case quotaExceeded
        /// A budget set on this side (a lane's) is spent: switch to a cheaper lane.
        case budgetExceeded
        case timeout
        case network
        case server(status: Int)
        case overloaded
        case contentFiltered
        case cancelled
        case decoding

        /// Short name for logs and attempt summaries.
        public var name: String {
            switch self {
            case .authentication: "authentication"
            case .permission: "permission"
            case .modelNotFound: "model_not_found"
            case .invalidRequest: "invalid_request"
            case .rateLimited: "rate_limited"
            case .quotaExceeded: "quota_exceeded"
            case .budgetExceeded: "budget_exceeded"
            case .timeout: "timeout"
            case .network: "network"
            case .server: "server_error"
            case .overloaded: "overloaded"
            case .contentFiltered: "content_filtered"
            case .cancelled: "cancelled"
            case .decoding: "decoding"
            }
        }
    }

    public var kind: Kind
    /// The provider that failed.
    public var provider: String
    /// The upstream HTTP status, when there was a response.
    public var status: Int?
    /// The upstream (or local) message, with secrets redacted.
    public var message: String
    /// The upstream error code string, when given.
    public var code: String?
    /// Rate-limit headers of the failed response.
    public var rateLimit: RateLimitInfo?
    /// Detail for the gateway's log only (the upstream's host, port and path, the transport's own words); never
    /// part of what a client is told.
    public var diagnostic: String?
    /// The upstream could not be reached at all (refused or timed out connecting): the router skips it until a health
    /// probe sees it up again.
    public var unreachable = false

    /// Creates an error; the message should already be redacted.
    public init(
        _ kind: Kind, provider: String, status: Int? = nil, message: String, code: String? = nil,
        rateLimit: RateLimitInfo? = nil, diagnostic: String? = nil
    ) {
        self.kind = kind
        self.provider = provider
        self.status = status
        self.message = message
        self.code = code
        self.rateLimit = rateLimit
        self.diagnostic = diagnostic
    }

    /// Whether another attempt (here or at another provider) may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited, .timeout, .network, .server, .overloaded: true
        case .authentication, .permission, .modelNotFound, .invalidRequest, .quotaExceeded, .budgetExceeded,
            .contentFiltered, .cancelled, .decoding:
            false
        }
    }

    /// Whether the router tries the next slot: a retryable failure; or one that is this slot's alone, which another
    /// provider may not share: an account out of quota or credit, a key refused, a model it does not have, an answer it
    /// garbled. A request any provider would refuse (a bad request, too long a context, filtered content) is not
    /// sent elsewhere.
    public var triesNextSlot: Bool {
        switch kind {
        case .quotaExceeded, .budgetExceeded, .authentication, .permission, .modelNotFound, .decoding: true
        default: isRetryable
        }
    }

    /// How long the provider asked us to wait, if it said.
    public var retryAfter: Duration? {
        if case .rateLimited(let d) = kind { return d }
        return nil
    }

    /// One line for a person: provider, kind, status and message.
    public var description: String {
        var s = "\(provider): \(kind.name)"
        if let status { s += " (HTTP \(status))" }
        if !message.isEmpty { s += ": \(message)" }
        return s
    }

    /// Classifies an upstream HTTP failure from its status, error code and message.
    public static func classify(
        status: Int, code: String?, message: String, retryAfter: Duration?
    ) -> Kind {
        let code = code?.lowercased() ?? ""
        let lower = message.lowercased()
        if code.contains("content_filter") || code.contains("content_policy") { return .contentFiltered }
        switch status {
        case 400, 413, 422:
            if code == "model_not_found" { return .modelNotFound }
            if code.contains("context_length") { return .invalidRequest }
            return .invalidRequest
        case 401: return .authentication
        case 402: return .quotaExceeded
        case 403: return .permission
        case 404: return .modelNotFound
        case 408: return .timeout
        case 429:
            if code == "insufficient_quota" || lower.contains("exceeded your current quota") { return .quotaExceeded }
            return .rateLimited(retryAfter: retryAfter)
        case 503, 529: return .overloaded
        case 500...599: return .server(status: status)
        case 409: return .server(status: status)
        default: return status >= 400 ? .invalidRequest : .server(status: status)
        }
    }
}

/// Every attempt failed: the router's error, keeping each attempt in order.
public struct AllProvidersFailed: Error, Sendable, CustomStringConvertible {
    /// One attempt at one slot.
    public struct Attempt: Sendable, Hashable {
        /// The slot's provider id.
        public var provider: String
        /// The model asked of it.
        public var model: String
        /// The failure (a cooled-down slot that was skipped is `.rateLimited` with no status).
        public var error: ProviderError
        /// True when the slot was skipped because it was cooling down.
        public var skipped: Bool
    }

    /// Every attempt, first to last.
    public var attempts: [Attempt]

    /// The last error, which decides the status a server reports.
    public var last: ProviderError? { attempts.last?.error }

    /// One line listing every attempt: slot, kind, status.
    public var description: String {
        let list = attempts.enumerated().map { i, a in
            var s = "\(i + 1). \(a.provider)/\(a.model): \(a.skipped ? "skipped, cooling down" : a.error.kind.name)"
            if let status = a.error.status { s += " (HTTP \(status))" }
            return s
        }
        return "all providers failed: " + list.joined(separator: "; ")
    }
}
