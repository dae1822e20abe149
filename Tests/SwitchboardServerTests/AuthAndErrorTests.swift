import Foundation
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Testing

@Suite struct AuthAndErrorTests {
    @Test func keysWorkUntilRevokedAndAreCheckedPerModel() async throws {
        // No key cache: a revocation counts at once (the cache's own lifetime is the only delay in production).
        try await LiveGateway.with(try await LiveGateway.start { $0.keyCacheTTL = .zero }) { (gw) async throws in
            let (record, secret) = try await gw.store.createKey(NewAPIKey(name: "app", user: "bob", allowedModels: ["fake/fake-model"]))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret).status == 200)
            let viaHeader = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: nil, headers: [("x-api-key", secret)])
            #expect(viaHeader.status == 200)
            // The scheme in any case, the key with blanks around it.
            let padded = try await gw.send(
                "POST", "/v1/chat/completions", json: chatBody(), key: nil, headers: [("authorization", "bEaReR \t\(secret) ")])
            #expect(padded.status == 200)
            let wrongScheme = try await gw.send(
                "POST", "/v1/chat/completions", json: chatBody(), key: nil, headers: [("authorization", "Basic \(secret)")])
            #expect(wrongScheme.status == 401)
            let forbidden = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/other-model"), key: secret)
            #expect(forbidden.status == 403)
            #expect(forbidden.json?["error"]?["code"] == "model_not_allowed")
            #expect(try await gw.store.revokeKey(id: record.id))
            let revoked = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret)
            #expect(revoked.status == 401)
            #expect(revoked.json?["error"]?["message"] == "this API key has been revoked")
        }
    }

    @Test func missingAndWrongKeysAre401() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            let missing = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: nil)
            #expect(missing.status == 401)
            #expect(missing.json?["error"]?["type"] == "invalid_request_error")
            let wrong = try await gw.send("GET", "/v1/models", key: "sk-sb-not-a-key")
            #expect(wrong.status == 401)
            #expect(!wrong.body.contains("sk-sb-not-a-key"))
        }
    }

    @Test func authNoneNeedsNoKey() async throws {
        try await LiveGateway.with(try await LiveGateway.start(requireKeys: false)) { (gw) async throws in
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: nil).status == 200)
        }
    }

    @Test func clientMistakesAre4xxNamingTheField() async throws {
        try await LiveGateway.with(try await LiveGateway.start(maxBodyBytes: 4096)) { (gw) async throws in
            let badJSON = try await gw.send("POST", "/v1/chat/completions", raw: "{not json")
            #expect(badJSON.status == 400)
            #expect(badJSON.json?["error"]?["message"] == "request body is not valid JSON: invalid JSON at byte 1: expected a member name")
            let noMessages = try await gw.send("POST", "/v1/chat/completions", json: ["model": "fake/fake-model"])
            #expect(noMessages.status == 400)
            #expect(noMessages.json?["error"]?["param"] == "messages")
            let badTemp = try await gw.send(
                "POST", "/v1/chat/completions", json: ["model": "x", "temperature": "hot", "messages": [["role": "user", "content": "x"]]])
            #expect(badTemp.status == 400)
            #expect(badTemp.json?["error"]?["param"] == "temperature")
            let badRole = try await gw.send(
                "POST", "/v1/chat/completions", json: ["model": "x", "messages": [["role": "wizard", "content": "x"]]])
            #expect(badRole.json?["error"]?["param"] == "messages[0].role")
            let huge = try await gw.send("POST", "/v1/chat/completions", json: chatBody(text: String(repeating: "x", count: 10_000)))
            #expect(huge.status == 413)
            #expect(huge.json?["error"]?["code"] == "request_too_large")
            let route = try await gw.send("GET", "/v1/nothing-here")
            #expect(route.status == 404)
            #expect(route.json?["error"] != nil)
        }
    }

    @Test func secretsNeverReachResponsesOrLogs() async throws {
        let capture = CapturingLogHandler()
        let upstreamKey = "sk-upstream-abcdefghijklmnopqrstuvwxyz"
        try await LiveGateway.with(try await LiveGateway.start(upstreamKey: upstreamKey, logger: capture.logger)) { (gw) async throws in
            gw.fake.setDefault(
                .status(
                    401,
                    body:
                        "{\"error\":{\"message\":\"Incorrect API key provided: \(upstreamKey)\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}"
                ))
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
            #expect(r.status == 502)
            #expect(!r.body.contains("abcdefghijklmnop"))
            let s = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true))
            #expect(!s.body.contains("abcdefghijklmnop"))
            gw.fake.setDefault(.dropAfter(chunks: 2, reply: FakeReply("a b c")))
            _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true))
            let logs = capture.lines.joined(separator: "\n")
            #expect(!logs.contains("abcdefghijklmnop"))
            #expect(!logs.contains(LiveGateway.master))
            let metrics = try await gw.send("GET", "/metrics", key: nil)
            #expect(!metrics.body.contains("abcdefghijklmnop"))
        }
    }
}
