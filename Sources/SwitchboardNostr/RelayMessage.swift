public import SwitchboardCore

/// A NIP-01 subscription filter: every condition given must hold (several filters in one `REQ` are alternatives).
public struct NostrFilter: Sendable, Hashable {
    public var ids: [String]?
    public var authors: [String]?
    public var kinds: [Int]?
    /// Single-letter tag conditions (`"e"`, `"p"`): the tag's first value must be one of these.
    public var tags: [String: [String]] = [:]
    public var since: Int64?
    public var until: Int64?
    public var limit: Int?

    /// A filter; nil fields do not constrain.
    public init(
        ids: [String]? = nil, authors: [String]? = nil, kinds: [Int]? = nil, tags: [String: [String]] = [:],
        since: Int64? = nil, until: Int64? = nil, limit: Int? = nil
    ) {
        self.ids = ids
        self.authors = authors
        self.kinds = kinds
        self.tags = tags
        self.since = since
        self.until = until
        self.limit = limit
    }

    /// The filter as JSON, for a `REQ`.
    public var json: JSONValue {
        var o: [String: JSONValue] = [:]
        if let ids { o["ids"] = .array(ids.map(JSONValue.string)) }
        if let authors { o["authors"] = .array(authors.map(JSONValue.string)) }
        if let kinds { o["kinds"] = .array(kinds.map { .int(Int64($0)) }) }
        for (name, values) in tags { o["#" + name] = .array(values.map(JSONValue.string)) }
        if let since { o["since"] = .int(since) }
        if let until { o["until"] = .int(until) }
        if let limit { o["limit"] = .int(Int64(limit)) }
        return .object(o)
    }

    /// Whether `event` is one the filter asks for (a relay's answer is checked against it, not trusted).
    public func matches(_ event: NostrEvent) -> Bool {
        if let ids, !ids.contains(event.id) { return false }
        if let authors, !authors.contains(event.pubkey) { return false }
        if let kinds, !kinds.contains(event.kind) { return false }
        if let since, event.createdAt < since { return false }
        if let until, event.createdAt > until { return false }
        for (name, values) in tags where !event.tags.contains(where: { $0.count > 1 && $0[0] == name && values.contains($0[1]) }) {
            return false
        }
        return true
    }
}

/// What a client sends a relay.
public enum ClientMessage: Sendable, Hashable {
    case event(NostrEvent)
    case request(subscription: String, filters: [NostrFilter])
    case close(subscription: String)
    /// A NIP-42 answer: a signed kind-22242 event.
    case auth(NostrEvent)

    /// The message as the text frame it is sent in.
    public var text: String {
        let value: JSONValue =
            switch self {
            case .event(let e): ["EVENT", e.json]
            case .request(let id, let filters): .array(["REQ", .string(id)] + filters.map(\.json))
            case .close(let id): ["CLOSE", .string(id)]
            case .auth(let e): ["AUTH", e.json]
            }
        return value.jsonString()
    }
}

/// What a relay sends a client.
public enum RelayMessage: Sendable, Hashable {
    case event(subscription: String, NostrEvent)
    /// The relay's answer to a published event; `accepted` with a `duplicate:` message is a success too.
    case ok(eventID: String, accepted: Bool, message: String)
    case endOfStoredEvents(subscription: String)
    case closed(subscription: String, message: String)
    case notice(String)
    /// A NIP-42 challenge.
    case auth(challenge: String)

    /// Reads one text frame; throws for anything that is not a NIP-01 relay message (events are not verified here).
    public init(text: String) throws(NostrEventError) {
        let value: JSONValue
        do { value = try Array(text.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0) } } catch {
            throw NostrEventError(description: "a relay message that is not JSON")
        }
        guard let items = value.arrayValue, let kind = items.first?.stringValue else {
            throw NostrEventError(description: "a relay message must be an array starting with its type")
        }
        func string(_ i: Int) throws(NostrEventError) -> String {
            guard items.count > i, let s = items[i].stringValue else {
                throw NostrEventError(description: "\(kind): element \(i) must be a string")
            }
            return s
        }
        switch kind {
        case "EVENT":
            guard items.count >= 3 else { throw NostrEventError(description: "EVENT needs a subscription and an event") }
            self = .event(subscription: try string(1), try NostrEvent(json: items[2]))
        case "OK":
            guard items.count >= 3, let accepted = items[2].boolValue else { throw NostrEventError(description: "OK needs a boolean") }
            self = .ok(eventID: try string(1), accepted: accepted, message: items.count > 3 ? (items[3].stringValue ?? "") : "")
        case "EOSE": self = .endOfStoredEvents(subscription: try string(1))
        case "CLOSED": self = .closed(subscription: try string(1), message: items.count > 2 ? (items[2].stringValue ?? "") : "")
        case "NOTICE": self = .notice(try string(1))
        case "AUTH": self = .auth(challenge: try string(1))
        default: throw NostrEventError(description: "unknown relay message '\(kind)'")
        }
    }
}

extension NostrEvent {
    /// A NIP-42 authentication event (kind 22242) answering `challenge` from `relay`.
    public static func authentication(challenge: String, relay: String, createdAt: Int64, by key: NostrSecretKey) -> NostrEvent {
        signed(kind: 22_242, tags: [["relay", relay], ["challenge", challenge]], content: "", createdAt: createdAt, by: key)
    }
}
