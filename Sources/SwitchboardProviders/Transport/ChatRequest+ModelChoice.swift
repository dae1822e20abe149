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
