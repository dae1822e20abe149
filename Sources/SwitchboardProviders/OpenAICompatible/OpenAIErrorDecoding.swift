public import Foundation
public import SwitchboardCore

/// Reads the many error body shapes of upstream services into one `ProviderError`: OpenAI-compatible ones,
/// Anthropic's, Google's (`status` names the error, `RetryInfo.retryDelay` the wait) and AWS's (the error
/// type in `x-amzn-ErrorType`).
public enum OpenAIErrorDecoding {
    /// Decodes an HTTP error response: `{"error":{...}}`, `{"error":"..."}`, a top-level
    /// `{message, type, code}` (Cerebras) or `{"detail": ...}` (FastAPI hosts).
    public static func error(
        status: Int, headers: [(String, String)], body: Data, provider: String, secrets: [String]
    ) -> ProviderError {
        let parsed = try? JSONValue.parse(body)
        var error: ProviderError
        if let parsed, case .object = parsed {
            error = self.error(fromObject: parsed["error"] ?? parsed, status: status, provider: provider, headers: headers)
        } else {
            let text = String(decoding: body.prefix(512), as: UTF8.self)
            let kind = ProviderError.classify(status: status, code: nil, message: text, retryAfter: RetryAfter.parse(headers: headers))
            error = ProviderError(
                kind, provider: provider, status: status, message: text.isEmpty ? "HTTP \(status)" : text,
                rateLimit: RateLimitInfo(headers: headers))
        }
        error.message = Redaction.redact(error.message, secrets: secrets)
        return error
    }

    /// Decodes an error object (or string) with a known status.
    static func error(fromObject value: JSONValue, status: Int, provider: String, headers: [(String, String)]) -> ProviderError {
        var message = ""
        var code: String?
        switch value {
        case .string(let s): message = s
        case .object(let o):
            message = o["message"]?.stringValue ?? o["detail"].map(detailText) ?? o["error"]?.stringValue ?? ""
            switch o["code"] {
            case .some(.string(let s)): code = s
            // Google puts the HTTP status in `code` and the error's name in `status`.
            case .some(.int(let i)): code = o["status"]?.stringValue ?? String(i)
            default: code = o["type"]?.stringValue ?? o["__type"]?.stringValue
            }
            if o["code"]?.stringValue == nil, let type = o["type"]?.stringValue, type.contains("content_filter") { code = type }
        default: break
        }
        code = code ?? awsErrorType(headers)
        let effectiveStatus = (status == 200 || status == 0) ? 500 : status
        let retryAfter = RetryAfter.parse(headers: headers) ?? googleRetryDelay(value)
        let kind = ProviderError.classify(status: effectiveStatus, code: code, message: message, retryAfter: retryAfter)
        return ProviderError(
            kind, provider: provider, status: effectiveStatus, message: message.isEmpty ? "HTTP \(effectiveStatus)" : message,
            code: code, rateLimit: RateLimitInfo(headers: headers))
    }

    /// AWS names the error in a header, sometimes followed by `:` and a URL.
    private static func awsErrorType(_ headers: [(String, String)]) -> String? {
        guard let value = headers.first(where: { $0.0.lowercased() == "x-amzn-errortype" })?.1 else { return nil }
        let name = value.split(separator: ":", maxSplits: 1).first.map(String.init) ?? value
        return name.isEmpty ? nil : name
    }

    /// The wait in a Google `RetryInfo` detail (`"retryDelay": "17s"`, possibly fractional).
    private static func googleRetryDelay(_ error: JSONValue) -> Duration? {
        for detail in error["details"]?.arrayValue ?? [] {
            guard detail["@type"]?.stringValue?.hasSuffix("google.rpc.RetryInfo") == true,
                let text = detail["retryDelay"]?.stringValue, text.hasSuffix("s"), let seconds = WaitText.decimal(text.dropLast())
            else { continue }
            return WaitText.wait(seconds: seconds)
        }
        return nil
    }

    private static func detailText(_ v: JSONValue) -> String {
        v.stringValue ?? v.jsonString()
    }
}
