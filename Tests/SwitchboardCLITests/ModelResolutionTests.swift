import Foundation
import NIOCore
import SwitchboardConfig
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// One rule routes a model name, whichever way the name comes in.
@Suite(.serialized) struct ModelResolutionTests {
    @Test func aNameReachesTheSameProviderAndModelFromTheLibraryTheCLIAndTheServer() async throws {
        let alpha = try await FakeUpstream.start()
        let beta = try await FakeUpstream.start()
        defer {
            Task {
                await alpha.stop(); await beta.stop()
            }
        }
        alpha.setModels(["only-alpha", "shared"])
        beta.setModels(["shared", "only-beta"])
        let config = """
            [server]
            port = 0
            [store]
            path = "resolution.db"
            [[providers.openai_compat]]
            id = "alpha"
            base_url = "\(alpha.baseURL)"
            [[providers.openai_compat]]
            id = "beta"
            base_url = "\(beta.baseURL)"
            """
        // A bare id one provider lists, a provider prefix, a bare id both list, a prefix that names a model the
        // provider does not list (sent as it is). Names no provider lists are refused, and sent nowhere.
        let names = ["only-beta", "beta/shared", "shared", "alpha/only-beta"]
        let expected = ["beta only-beta", "beta shared", "alpha shared", "alpha only-beta"]
        let unknown = ["unknown-model", "nosuchprovider/foo"]
        let considered = "considered: alpha (2 models listed), beta (2 models listed)"

        func chats(_ fake: FakeUpstream) -> Int { fake.received.filter { $0.path.hasSuffix("/chat/completions") }.count }
        func served(_ call: () async throws -> Void) async throws -> String {
            let before = (chats(alpha), chats(beta))
            try await call()
            let fake = chats(alpha) > before.0 ? ("alpha", alpha) : chats(beta) > before.1 ? ("beta", beta) : ("none", alpha)
            return "\(fake.0) \(fake.1.lastChat?.json?["model"]?.stringValue ?? "?")"
        }

        let library = try GatewayBuilder(
            config: try ConfigLoader.parse(config), environment: Environment([:]),
            transport: NIOHTTPTransport.shared
        ).build().gateway
        var viaLibrary: [String] = []
        for name in names {
            viaLibrary.append(
                try await served {
                    let (provider, model) = try await library.resolve(model: name, context: .testing())
                    _ = try await provider.chat(ChatRequest(model: model, messages: [.user("hi")]), context: .testing())
                })
        }
        #expect(viaLibrary == expected)
        for name in unknown {
            let error = await #expect(throws: ModelResolutionError.self) { try await library.resolve(model: name, context: .testing()) }
            #expect(error.map(String.init(describing:))?.contains(considered) == true)
        }

        let cli = try CLIRunner(config: config, environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-resolution-master-0123456789"])
        var viaCLI: [String] = []
        for name in names {
            viaCLI.append(
                try await served {
                    let run = try await cli.run(["chat", "hi", "-m", name, "--no-stream"])
                    #expect(run.status == 0, "\(name): \(run.stderr)")
                })
        }
        #expect(viaCLI == expected)
        for name in unknown {
            let run = try await cli.run(["chat", "hi", "-m", name, "--no-stream"])
            #expect(run.status == 1)
            #expect(run.stderr.contains("no provider lists model '\(name)'") && run.stderr.contains(considered), "\(run.stderr)")
        }

        let (process, port) = try await startServe(cli)
        defer { process.signal(SIGKILL) }
        var viaServer: [String] = []
        for name in names {
            viaServer.append(
                try await served {
                    let body = JSONValue.object(["model": .string(name), "messages": [["role": "user", "content": "hi"]]]).jsonString()
                    let response = try await AsyncHTTPClientTransport.shared.send(
                        TransportRequest(
                            method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                            headers: [
                                ("authorization", "Bearer sk-sb-resolution-master-0123456789"), ("content-type", "application/json"),
                            ],
                            body: ByteBuffer(string: body)), context: .testing())
                    #expect(response.status == 200, "\(name)")
                    _ = try await response.body.collect(upTo: 1 << 20)
                })
        }
        #expect(viaServer == expected)
        let sent = chats(alpha) + chats(beta)
        for name in unknown {
            let body = JSONValue.object(["model": .string(name), "messages": [["role": "user", "content": "hi"]]]).jsonString()
            let response = try await AsyncHTTPClientTransport.shared.send(
                TransportRequest(
                    method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                    headers: [("authorization", "Bearer sk-sb-resolution-master-0123456789"), ("content-type", "application/json")],
                    body: ByteBuffer(string: body)), context: .testing())
            let answer = try JSONValue.parse(Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
            #expect(response.status == 404)
            #expect(answer["error"]?["code"] == "model_not_found")
            #expect(answer["error"]?["message"]?.stringValue?.contains(considered) == true)
        }
        #expect(chats(alpha) + chats(beta) == sent)
    }
}
