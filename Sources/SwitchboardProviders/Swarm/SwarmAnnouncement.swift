import SwitchboardCore
import SwitchboardNostr

/// A DVM's NIP-89 announcement (kind 31990) of text generation: its name and the models it names in its profile.
struct SwarmAnnouncement: Sendable, Hashable {
    var pubkey: String
    var npub: String
    var name: String
    /// The models it says it runs (`models` in its profile, or `param model` tags); empty: it did not say.
    var models: [String]

    /// The newest announcement of each DVM, in order of name.
    static func read(_ events: [NostrEvent]) -> [SwarmAnnouncement] {
        var newest: [String: NostrEvent] = [:]
        for event in events where event.kind == 31_990 && event.values(of: "k").contains(String(DVMJob.requestKind)) {
            if let seen = newest[event.pubkey], seen.createdAt >= event.createdAt { continue }
            newest[event.pubkey] = event
        }
        return newest.values.map { event in
            let json = Self.profile(event.content)
            var models = json?["models"]?.arrayValue?.compactMap(\.stringValue) ?? []
            models += event.tags.filter { $0.count > 2 && $0[0] == "param" && $0[1] == "model" }.map { $0[2] }
            let npub = NostrPublicKey(event.pubkey)?.npub ?? event.pubkey
            let name = json?["name"]?.stringValue ?? String(npub.prefix(16))
            return SwarmAnnouncement(pubkey: event.pubkey, npub: npub, name: name, models: models.isEmpty ? ["any"] : models)
        }.sorted { ($0.name, $0.pubkey) < ($1.name, $1.pubkey) }
    }

    private static func profile(_ content: String) -> JSONValue? {
        guard !content.isEmpty else { return nil }
        return try? Array(content.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0) }
    }
}
