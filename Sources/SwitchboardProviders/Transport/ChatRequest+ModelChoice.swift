public import SwitchboardCore

extension ChatRequest {
    /// The model a provider sends: its configured override, else what the request named, else its default.
    public func model(override: String?, default fallback: String?) -> String {
        override ?? (model.isEmpty ? (fallback ?? "") : model)
    }

    /// A copy naming that model.
    func choosingModel(override: String?, default fallback: String?) -> ChatRequest {
        withModel(model(override: override, default: fallback))
    }
}

extension ModelInfo {
    /// The distinct models among `ids` (a configured override and a default, when set), as `provider` offers them.
    static func known(_ ids: [String?], provider: String, capabilities: Set<Capability>) -> [ModelInfo] {
        var seen = Set<String>()
        return ids.compactMap { $0 }.filter { !$0.isEmpty && seen.insert($0).inserted }.map {
            ModelInfo(id: $0, provider: provider, capabilities: capabilities)
        }
    }
}
