import Foundation
import SwitchboardStorage
import Testing

func temporaryDatabase() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("sb-\(UUID().uuidString).db").path
}

@Suite struct SQLiteStoreTests {
    @Test func keysAreStoredHashedAndFoundByHash() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let (record, secret) = try await store.createKey(name: "ci", user: "alice", allowedModels: ["mock/echo"])
        #expect(secret.hasPrefix("sk-sb-") && secret.count == 46)
        #expect(record.prefix == String(secret.prefix(10)))
        let hashes = try await store.storedSecretHashes()
        #expect(hashes == [APIKeys.hash(secret)])
        #expect(!hashes.contains(secret))
        #expect(APIKeys.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let found = try #require(try await store.key(hash: APIKeys.hash(secret)))
        #expect(found.id == record.id && found.user == "alice" && found.allowedModels == ["mock/echo"])
        #expect(try await store.key(hash: APIKeys.hash(secret + "x")) == nil)
    }

    @Test func revokeMarksTheKeyAndUnknownIDsAreReported() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let (record, secret) = try await store.createKey(name: "a", user: nil, allowedModels: nil)
        #expect(try await store.revokeKey(id: record.id))
        #expect(try await store.key(hash: APIKeys.hash(secret))?.isRevoked == true)
        #expect(try await store.revokeKey(id: "key_nope") == false)
        #expect(try await store.listKeys().count == 1)
    }

    @Test func databaseIsInWALModeAndReopens() async throws {
        let path = temporaryDatabase()
        let first = try SQLiteStore(path: path)
        _ = try await first.createKey(name: "a", user: nil, allowedModels: nil)
        #expect(try await first.journalMode() == "wal")
        let second = try SQLiteStore(path: path)
        #expect(try await second.listKeys().map(\.name) == ["a"])
    }

    @Test func constantTimeEqualsComparesWholeStrings() {
        #expect(APIKeys.constantTimeEquals("abc", "abc"))
        #expect(!APIKeys.constantTimeEquals("abc", "abd"))
        #expect(!APIKeys.constantTimeEquals("abc", "abcd"))
        #expect(!APIKeys.constantTimeEquals("", "a"))
    }

    @Test func allowedModelsMatchWithOrWithoutProviderPrefix() {
        let r = APIKeyRecord(id: "k", name: "n", user: nil, prefix: "p", createdAt: Date(), allowedModels: ["cerebras/zai-glm-4.7", "echo"])
        #expect(r.allows(model: "cerebras/zai-glm-4.7"))
        #expect(r.allows(model: "mock/echo"))
        #expect(r.allows(model: "zai-glm-4.7"))
        #expect(!r.allows(model: "gpt-4o"))
    }
}
