extension Gateway {
    /// The models `provider` is known to offer without asking it: its own defaults and catalogue (`KnownModels`),
    /// and every model the price table prices at it, with those prices.
    public func knownModels(of provider: any LLMProvider) -> [ModelInfo] {
        var models = (provider as? any KnownModels)?.knownModels ?? []
        var seen = Set(models.map(\.id))
        let prefix = provider.id + "/"
        for key in prices.prices.keys.sorted() where key.hasPrefix(prefix) {
            let id = String(key.dropFirst(prefix.count))
            if seen.insert(id).inserted { models.append(ModelInfo(id: id, provider: provider.id)) }
        }
        return models.map { model in
            guard let price = prices.price(provider: provider.id, model: model.id) else { return model }
            var priced = model
            priced.inputPricePerMillion = price.inputPerMillion
            priced.outputPricePerMillion = price.outputPerMillion
            return priced
        }
    }
}
