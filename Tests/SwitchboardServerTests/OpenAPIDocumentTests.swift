import Foundation
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// `GET /openapi.json` is the server's contract: every route it has is in it with exactly the methods it answers, and
/// nothing else is.
@Suite(.timeLimit(.minutes(1))) struct OpenAPIDocumentTests {
    /// A router path as the document writes it (`:id` and `**` are `{id}`).
    static func documented(_ path: String) -> String {
        "/"
            + path.split(separator: "/").map { $0 == "**" ? "{id}" : $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(
                separator: "/")
    }

    @Test func everyRouteIsDocumentedWithTheMethodsItAnswersAndNothingElse() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            let reply = try await gw.send("GET", "/openapi.json", key: nil)
            #expect(reply.status == 200)
            let doc = try #require(reply.json)
            #expect(doc["openapi"] == "3.1.0")
            let paths = try #require(doc["paths"]?.objectValue)
            let routed = Set(gw.server.makeRouter().0.routes.map { Self.documented("\($0.path)") })
            #expect(
                routed == Set(paths.keys),
                "routes without a document entry: \(routed.subtracting(paths.keys).sorted()); entries without a route: \(Set(paths.keys).subtracting(routed).sorted())"
            )
            // Without a key, a method a route has is answered (200, or 401 asking for a key); any other is a 405.
            for (path, operations) in paths {
                let concrete = path.replacingOccurrences(of: "{id}", with: "resp_none")
                for method in ["GET", "POST", "DELETE", "PUT", "PATCH"] {
                    let status = try await gw.send(method, concrete, json: [:], key: nil).status
                    let declared = operations[method.lowercased()] != nil
                    #expect(declared == (status != 405), "\(method) \(path) answered \(status); documented: \(declared)")
                }
            }
        }
    }
}
