import Foundation
import SwitchboardProviders
import Testing

@Suite struct RegistryTests {
    static let rows: [[String]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/registry/openai-compatible-registry.tsv")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }()

    @Test func fixtureHasEveryRow() {
        #expect(Self.rows.count == 34)
    }

    @Test(arguments: rows)
    func everyRowLoadsAsADescriptor(row: [String]) throws {
        // `ollama` names the native provider; the reference's OpenAI-compatible row is `ollama_openai` here.
        let id = row[0] == "ollama" ? "ollama_openai" : row[0]
        let d = try #require(ProviderRegistry.descriptor(id: id), "registry lacks \(id)")
        #expect(d.displayName == row[1])
        #expect(d.baseURL == row[2])
        #expect(d.chatPath == row[3])
        #expect(d.apiKeyEnv == (row[4] == "-" ? nil : row[4]))
        #expect(d.defaultModel == (row[5] == "-" ? nil : row[5]))
        #expect(d.freeTier.rawValue == row[6])
        #expect(!d.baseURL.hasSuffix("/"))
    }

    @Test func openAIIsFirstAndIDsAreUnique() {
        #expect(ProviderRegistry.builtIn.first?.id == "openai")
        #expect(Set(ProviderRegistry.builtIn.map(\.id)).count == ProviderRegistry.builtIn.count)
        #expect(ProviderRegistry.builtIn.count == 35)
    }

    @Test func cerebrasCatalogueHasTheSeedPrices() {
        let c = Cerebras.descriptor.catalogue
        #expect(c.first { $0.id == "zai-glm-4.7" }?.inputPerMillion?.value == 2_250_000_000)
        #expect(c.first { $0.id == "zai-glm-4.7" }?.outputPerMillion?.value == 2_750_000_000)
        #expect(c.first { $0.id == "zai-glm-4.7" }?.contextWindow == 131_072)
        #expect(c.first { $0.id == "llama3.1-8b" }?.inputPerMillion?.value == 100_000_000)
        #expect(Cerebras.tiers["free"]?.requestsPerMinute == 10)
        #expect(Cerebras.tiers["free"]?.tokensPerDay == 1_000_000)
        #expect(Cerebras.tiers["developer"]?.requestsPerMinute == 250)
    }
}
