/// Where one request goes: the connection it needs (scheme, host, port) and the request target.
struct UpstreamTarget: Sendable {
    /// The connections a request may share.
    struct Key: Hashable, Sendable {
        var tls: Bool
        var host: String
        var port: Int
    }

    var key: Key
    /// Path and query, as written on the request line.
    var requestTarget: String
    /// The `Host` header value.
    var hostHeader: String

    /// Parses an absolute `http` or `https` URL. Userinfo and fragments are refused or dropped as a client must.
    init(url: String) throws(TransportError) {
        let tls: Bool
        var rest: Substring
        if url.hasPrefix("https://") {
            tls = true
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            tls = false
            rest = url.dropFirst(7)
        } else {
            throw .invalidURL("only http and https URLs are supported: \(url)")
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        guard !authority.contains("@") else { throw .invalidURL("credentials in the URL are not supported") }
        var host: Substring
        var port = tls ? 443 : 80
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:8080
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL("unterminated IPv6 address in \(url)") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw .invalidURL("bad port in \(url)") }
                port = p
            } else if !after.isEmpty {
                throw .invalidURL("bad authority in \(url)")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw .invalidURL("bad port in \(url)")
            }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .invalidURL("no host in \(url)") }
        let isDefaultPort = port == (tls ? 443 : 80)
        let hostText = host.contains(":") ? "[\(host)]" : String(host)
        key = Key(tls: tls, host: String(host), port: port)
        requestTarget = target
        hostHeader = isDefaultPort ? hostText : "\(hostText):\(port)"
    }
}
