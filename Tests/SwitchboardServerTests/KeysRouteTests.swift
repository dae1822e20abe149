import Foundation
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// `/v1/keys`: keys managed over HTTP with the master key.
@Suite(.timeLimit(.minutes(1))) struct KeysRouteTests {
    @Test func theMasterKeyCreatesListsAndRevokesKeysAndNoOtherKeyMay() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            let created = try await gw.send(
                "POST", "/v1/keys",
                json: ["name": "app", "user": "bob", "models": ["fake/fake-model"], "rpm": 60, "budget_usd": "25", "budget_period": "day"])
            #expect(created.status == 201, "\(created.body)")
            let secret = try #require(created.json?["secret"]?.stringValue)
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(created.json?["limits"]?["rpm"] == 60 && created.json?["limits"]?["budget_usd_per_day"] == "25.00")
            // The key works, for its model only, and may not manage keys.
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret).status == 200)
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/other-model"), key: secret).status == 403)
            #expect(try await gw.send("GET", "/v1/keys", key: secret).status == 403)
            let list = try await gw.send("GET", "/v1/keys")
            let listed = try #require(list.json?["data"]?.arrayValue?.first { $0["id"]?.stringValue == id })
            #expect(listed["secret"] == nil && listed["name"] == "app" && listed["user"] == "bob" && listed["revoked_at"] == .null)
            #expect(!list.body.contains(secret))
            let revoked = try await gw.send("DELETE", "/v1/keys/\(id)")
            #expect(revoked.json == ["id": .string(id), "object": "api_key", "revoked": true])
            #expect(try await gw.send("DELETE", "/v1/keys/no-such-key").status == 404)
            // Revoked: refused once the key cache forgets it.
            #expect(try await eventually { try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret).status == 401 })
            for bad: JSONValue in [
                [:], ["name": ""], ["name": "x", "rpm": 0], ["name": "x", "budget_usd": "-1"], ["name": "x", "models": [1]],
                ["name": "x", "budget_usd": .double(4e-10)], ["name": "x", "budget_usd": .double(1e300)],
                ["name": "x", "budget_usd": 9_000_000_001],
                ["name": "x", "budget_usd": "1e-5"],
            ] {
                #expect(try await gw.send("POST", "/v1/keys", json: bad).status == 400, "\(bad)")
            }
            // A budget as a JSON number, even one written with an exponent, is that many dollars to the nano-dollar.
            for (budget, shown): (JSONValue, String) in [
                (.double(1e-5), "0.00001"), (.double(2.5), "2.50"), (.double(1e-9), "0.000000001"),
            ] {
                let made = try await gw.send("POST", "/v1/keys", json: ["name": "n", "budget_usd": budget])
                #expect(made.status == 201 && made.json?["limits"]?["budget_usd_per_month"]?.stringValue == shown, "\(made.body)")
            }
        }
    }

    @Test func anAdminKeyReadsTheDashboardOverBasicAuthAndOthersAreAskedOrRefused() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            let admin = try await gw.send("POST", "/v1/keys", json: ["name": "ops", "scopes": ["admin"]])
            #expect(admin.status == 201 && admin.json?["scopes"] == ["admin"], "\(admin.body)")
            let plain = try await gw.send("POST", "/v1/keys", json: ["name": "app"])
            #expect(plain.json?["scopes"] == [])
            #expect(try await gw.send("POST", "/v1/keys", json: ["name": "x", "scopes": ["root"]]).status == 400)
            func basic(_ secret: String?) -> [(String, String)] {
                [("Authorization", "Basic " + Data("anyone:\(secret ?? "")".utf8).base64EncodedString())]
            }
            let page = try await gw.send("GET", "/dashboard", key: nil, headers: basic(admin.json?["secret"]?.stringValue))
            #expect(page.status == 200 && page.header("content-type") == "text/html; charset=utf-8")
            #expect(page.body.contains(#"id="total-requests""#))
            let refused = try await gw.send("GET", "/dashboard", key: nil, headers: basic(plain.json?["secret"]?.stringValue))
            #expect(refused.status == 403)
            let asked = try await gw.send("GET", "/dashboard", key: nil)
            #expect(asked.status == 401 && asked.header("www-authenticate")?.hasPrefix("Basic ") == true)
            #expect(try await gw.send("GET", "/dashboard", key: nil, headers: basic("sk-sb-wrong")).status == 401)
            let script = try await gw.send("GET", "/dashboard/chart.js", key: nil)
            #expect(script.status == 200 && script.body.contains("figure.chart"))
        }
    }
}
