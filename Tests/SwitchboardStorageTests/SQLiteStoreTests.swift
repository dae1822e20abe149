import Foundation
import SwitchboardStorage
import Testing
import SwitchboardTesting

@Suite struct SQLiteStoreTests {
    @Test func onlyTheHashOfASecretIsStored() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let (_, secret) = try await store.createKey(NewAPIKey(name: "ci", user: "alice"))
        let hashes = try await store.storedSecretHashes()
        #expect(hashes == [APIKeys.hash(secret)])
        #expect(!hashes.contains(secret))
        #expect(APIKeys.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // The slice form (the authenticator hashes the header's slice) agrees with the string form.
        let header = "Bearer \(secret) "
        #expect(APIKeys.hash(header.dropFirst(7).dropLast()) == APIKeys.hash(secret))
        #expect(APIKeys.hash("xabcx".dropFirst().dropLast()) == APIKeys.hash("abc"))
    }

    @Test func databaseIsInWALModeAndReopens() async throws {
        let path = temporaryDatabase()
        let first = try SQLiteStore(path: path)
        _ = try await first.createKey(NewAPIKey(name: "a"))
        #expect(try await first.journalMode() == "wal")
        let second = try SQLiteStore(path: path)
        #expect(try await second.listKeys().map(\.name) == ["a"])
    }

    @Test func theDatabaseAndItsWALAreReadableByTheOwnerOnly() async throws {
        let path = ScratchFiles.path("perm", suffix: ".db")
        let store = try SQLiteStore(path: path)
        _ = try await store.createKey(NewAPIKey(name: "a"))
        for file in [path, path + "-wal", path + "-shm"] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(file) is \(String(mode, radix: 8))")
        }
        await store.close()
    }

    @Test func constantTimeEqualsComparesWholeStrings() {
        #expect(APIKeys.constantTimeEquals("abc", "abc"))
        #expect(!APIKeys.constantTimeEquals("abc", "abd"))
        #expect(!APIKeys.constantTimeEquals("abc", "abcd"))
        #expect(!APIKeys.constantTimeEquals("", "a"))
    }

    @Test func allowedModelsMatchWhereANameResolvedNotItsText() {
        let r = APIKeyRecord(
            id: "k", name: "n", user: nil, prefix: "p", createdAt: Date(),
            allowedModels: ["cerebras/zai-glm-4.7", "echo", "meta-llama/Llama-3"])
        let providers: Set<Substring> = ["cerebras", "mock", "evil"]
        func allows(_ provider: String, _ model: String) -> Bool {
            r.allows(provider: provider, model: model) { providers.contains($0) }
        }
        #expect(allows("cerebras", "zai-glm-4.7"))
        #expect(allows("mock", "echo"))
        #expect(allows("evil", "echo"))
        #expect(allows("router", "meta-llama/Llama-3"))
        #expect(!allows("evil", "zai-glm-4.7"))
        #expect(!allows("evil", "cerebras/zai-glm-4.7"))
        #expect(!allows("router", "zai-glm-4.7"))
        #expect(!allows("cerebras", "gpt-4o"))
    }
}
