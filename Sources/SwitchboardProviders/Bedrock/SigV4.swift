import Crypto
import SwitchboardCore
public import Foundation

/// AWS credentials: an access key pair and, for temporary credentials, a session token.
public struct AWSCredentials: Sendable, Hashable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4, header form, written from the spec (`shared/reference/bedrock.md` §6) and
/// checked in tests against botocore's `SigV4Auth` for the same inputs.
public enum SigV4 {
    /// Headers botocore leaves unsigned (hop-by-hop, or changed by proxies).
    static let unsigned: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization",
    ]

    /// The steps of one signature, for tests and debugging.
    public struct Signed: Sendable {
        /// The headers to send: the input headers plus `Host`, `X-Amz-Date`, the session token and `Authorization`.
        public var headers: [(String, String)]
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
    }

    /// Signs a request. `url` carries the path exactly as it will be sent (already percent-encoded).
    public static func sign(
        method: String, url: String, headers: [(String, String)], body: [UInt8], credentials: AWSCredentials,
        region: String, service: String, date: Date
    ) -> Signed {
        let parts = URLComponents(string: url)
        let host = parts.map { c in c.port.map { "\(c.host ?? ""):\($0)" } ?? (c.host ?? "") } ?? ""
        let (amzDate, dateStamp) = timestamps(date)
        var out = headers.filter { $0.0.lowercased() != "authorization" }
        if !out.contains(where: { $0.0.lowercased() == "host" }) { out.append(("Host", host)) }
        out.removeAll { $0.0.lowercased() == "x-amz-date" || $0.0.lowercased() == "x-amz-security-token" }
        out.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken { out.append(("X-Amz-Security-Token", token)) }

        var canonical: [String: String] = [:]
        for (name, value) in out where !unsigned.contains(name.lowercased()) {
            let v = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            let key = name.lowercased()
            canonical[key] = canonical[key].map { $0 + "," + v } ?? v
        }
        let names = canonical.keys.sorted()
        let signedHeaders = names.joined(separator: ";")
        let rawPath = parts?.percentEncodedPath ?? "/"
        let canonicalRequest = [
            method.uppercased(),
            canonicalURI(rawPath.isEmpty ? "/" : rawPath),
            canonicalQuery(parts?.percentEncodedQuery),
            names.map { "\($0):\(canonical[$0]!)\n" }.joined(),
            signedHeaders,
            // A declared payload hash (UNSIGNED-PAYLOAD, or a precomputed one) is what gets signed.
            canonical["x-amz-content-sha256"] ?? hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(
            separator: "\n")
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        out.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return Signed(headers: out, canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature)
    }

    static func timestamps(_ date: Date) -> (String, String) {
        let stamp = UTCTime(date).compactDateTime
        return (stamp, String(stamp.prefix(8)))
    }

    /// RFC 3986 encoding of everything but `A-Z a-z 0-9 - _ . ~`.
    static func uriEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    /// The already-encoded path with dot segments and empty segments removed, every segment encoded once
    /// more (all services but S3 double-encode).
    static func canonicalURI(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." { _ = segments.popLast() } else { segments.append(segment) }
        }
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return "/" + segments.map { uriEncode(String($0)) }.joined(separator: "/") + trailing
    }

    /// The URL's query as sent (it is already encoded), pairs sorted by name then value.
    static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { item -> (String, String) in
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String($0, radix: 16).leftPadded(2) }.joined()
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
