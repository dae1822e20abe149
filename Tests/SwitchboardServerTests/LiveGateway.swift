import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardCore
import SwitchboardProviders
import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Synchronization

/// A real `switchboard serve` on a free loopback port, in front of a fake upstream.
final class LiveGateway: Sendable {
    static let master = "sk-sb-master-0123456789"

    let fake: FakeUpstream
    let store: any Storage
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let server: GatewayServer
    /// The SQLite file this gateway made for itself, deleted when it stops (nil: a store the test brought).
    let ownFile: String?

    var base: String { "http://127.0.0.1:\(port)" }

    private init(
        fake: FakeUpstream, store: any Storage, port: Int, group: ServiceGroup, task: Task<Void, any Error>, server: GatewayServer,
        ownFile: String?
    ) {
        self.ownFile = ownFile
        self.fake = fake
        self.store = store
        self.port = port
        self.group = group
        self.task = task
        self.server = server
    }

    /// A gateway on a free port in front of a fake upstream. The request timeout defaults far past what a machine running
    /// the whole suite at once takes to answer: a test of a timeout sets its own.
    static func start(
        requireKeys: Bool = true, maxBodyBytes: Int = 1 << 20, requestTimeout: Duration = .seconds(60),
        upstreamKey: String = "sk-upstream-secret-9876543210", logger: Logger? = nil,
        extraProviders: [any LLMProvider] = [], limits: QuotaEnforcer.Configuration = .init(), store: (any Storage)? = nil,
        painter: Bool = false, direct: Bool = true, loopChat: Bool = true, timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        lanes: [Lane] = [], fake given: FakeUpstream? = nil,
        configure: (inout GatewayServer.Options) -> Void = { _ in }
    ) async throws -> LiveGateway {
        let fake: FakeUpstream
        if let given { fake = given } else { fake = try await FakeUpstream.start() }
        fake.setModels(["fake-model", "other-model"])
        let descriptor = ProviderDescriptor(
            id: "fake", displayName: "Fake", baseURL: fake.baseURL, apiKeyEnv: nil,
            defaultModel: "fake-model", freeTier: .local
        ).with { $0.embeddings = true }
        let provider = OpenAICompatibleProvider(
            options: .init(descriptor: descriptor, apiKey: upstreamKey),
            transport: TimedTransport(NIOHTTPTransport.shared, timeouts: timeouts))
        let metrics = GatewayMetrics()
        var providers: [any LLMProvider] = [provider] + extraProviders
        if painter {
            // A second provider over the same fake, with an images API.
            let d = ProviderDescriptor(
                id: "painter", displayName: "Painter", baseURL: fake.baseURL, apiKeyEnv: nil,
                defaultModel: "image-model", freeTier: .local
            ).with { $0.images = true }
            providers.append(
                OpenAICompatibleProvider(options: .init(descriptor: d, apiKey: upstreamKey), transport: NIOHTTPTransport.shared))
        }
        var prices = PriceTable()
        // $2.25 / $2.75 per million, the seed's GLM prices.
        prices.set(ModelPrice(inputPerMillion: NanoUSD(2_250_000_000), outputPerMillion: NanoUSD(2_750_000_000)), for: "fake/fake-model")
        let gateway = Gateway(
            providers: providers, router: ProviderRouter(slots: providers.map { RouterSlot(provider: $0) }, observer: metrics),
            prices: prices, sats: SatsRate(btcPrice: NanoUSD(100_000_000_000_000)),
            lanes: try Lanes(lanes, providers: providers, prices: prices, observer: metrics))
        let ownFile = store == nil ? ScratchFiles.path("gw", suffix: ".db") : nil
        let store = try store ?? SQLiteStore(path: ownFile!)
        var options = GatewayServer.Options()
        options.port = 0
        options.masterKey = master
        options.requireKeys = requireKeys
        options.maxBodyBytes = maxBodyBytes
        options.requestTimeout = requestTimeout
        options.drainTimeout = .seconds(10)
        options.limits = limits
        options.directRoutes = direct
        options.loopChat = loopChat
        configure(&options)
        var quiet = Logger(label: "gateway-test")
        quiet.logLevel = .critical
        let server = GatewayServer(
            gateway: gateway, store: store, ledger: LedgerWriter(store: store), options: options,
            metrics: metrics, logger: logger ?? quiet)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = server.makeServiceGroup(signals: []) { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        }
        let task = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        return LiveGateway(fake: fake, store: store, port: port, group: group, task: task, server: server, ownFile: ownFile)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
        await fake.stop()
        guard let ownFile else { return }
        await store.close()
        let directory = URL(fileURLWithPath: ownFile).deletingLastPathComponent()
        let name = URL(fileURLWithPath: ownFile).lastPathComponent
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where file.hasPrefix(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
    }

    /// Runs `body` against a gateway and always stops it (and deletes the files it made) before returning, whether
    /// `body` succeeded or threw.
    static func with(_ start: @autoclosure () async throws -> LiveGateway, _ body: (LiveGateway) async throws -> Void) async throws {
        let gw = try await start()
        do {
            try await body(gw)
        } catch {
            await gw.stop()
            throw error
        }
        await gw.stop()
    }

    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: String
        var json: JSONValue? { try? JSONValue.parse(Data(body.utf8)) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// Sends a request with the master key unless `key` says otherwise.
    func send(
        _ method: String = "POST", _ path: String, json: JSONValue? = nil, raw: String? = nil, key: String? = LiveGateway.master,
        headers: [(String, String)] = []
    ) async throws -> Reply {
        let response = try await open(method, path, json: json, raw: raw, key: key, headers: headers)
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: response.status, headers: response.headers, body: String(buffer: body))
    }

    func open(
        _ method: String = "POST", _ path: String, json: JSONValue? = nil, raw: String? = nil, key: String? = LiveGateway.master,
        headers: [(String, String)] = []
    ) async throws -> TransportResponse {
        var h = headers
        if let key { h.append(("Authorization", "Bearer \(key)")) }
        h.append(("Content-Type", "application/json"))
        let text = raw ?? json?.jsonString()
        let request = TransportRequest(method: method, url: base + path, headers: h, body: text.map { ByteBuffer(string: $0) })
        return try await AsyncHTTPClientTransport.shared.send(request, context: .testing(timeout: .seconds(30)))
    }
}

/// A wall clock pinned to the middle of the current UTC minute, so a test of a per-minute limit runs inside one
/// window however long it takes (the counters expire a minute after their window, so well within a test's time).
func pinnedClock() -> @Sendable () -> Date {
    let now = Date().timeIntervalSince1970
    let pinned = Date(timeIntervalSince1970: (now / 60).rounded(.down) * 60 + 30)
    return { pinned }
}

func chatBody(_ model: String = "fake/fake-model", stream: Bool = false, includeUsage: Bool = false, text: String = "hi") -> JSONValue {
    var o: [String: JSONValue] = ["model": .string(model), "messages": [["role": "user", "content": .string(text)]]]
    if stream { o["stream"] = true }
    if includeUsage { o["stream_options"] = ["include_usage": true] }
    return .object(o)
}
