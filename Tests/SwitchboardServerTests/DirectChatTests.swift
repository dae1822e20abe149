import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// Chat completions answered on the connection's event loop (`DirectChat`) against the same requests answered as
/// a task through the router (`loop_chat = false`): what the client gets, what the upstream gets and what the
/// ledger and metrics keep must not tell them apart.
@Suite(.timeLimit(.minutes(1)))
struct DirectChatTests {
    /// Both gateways, the one under test answering on the loop.
    static func pair(requestTimeout: Duration = .seconds(60)) async throws -> (loop: LiveGateway, routed: LiveGateway) {
        (
            try await LiveGateway.start(requestTimeout: requestTimeout),
            try await LiveGateway.start(requestTimeout: requestTimeout, loopChat: false)
        )
    }

    static func loopAnswered(_ gw: LiveGateway) async throws -> Int {
        let text = try await gw.send("GET", "/metrics").body
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("switchboard_loop_chat_requests_total ") })
        return try #require(Int(line.split(separator: " ")[1]))
    }

    /// The `switchboard_requests_total` lines: route, model, provider and status of every request.
    static func requestCounts(_ gw: LiveGateway) async throws -> [String] {
        try await gw.send("GET", "/metrics").body.split(separator: "\n").filter { $0.hasPrefix("switchboard_requests_total{") }
            .map(String.init).filter { $0.contains("chat/completions") }.sorted()
    }

    /// A record with what differs between any two requests (id, time, latency) cleared.
    static func comparable(_ records: [UsageRecord]) -> [UsageRecord] {
        records.map {
            var r = $0
            r.requestID = ""
            r.timestamp = Date(timeIntervalSince1970: 0)
            r.latencyMs = 0
            return r
        }
    }

    static func ledger(_ gw: LiveGateway, count: Int) async throws -> [UsageRecord] {
        var records: [UsageRecord] = []
        #expect(
            try await eventually {
                records = try await gw.store.records(UsageFilter())
                return records.count >= count
            }, "\(records.count) of \(count) records: \(records.map(\.status))")
        return records
    }

    @Test func aPlainCompletionOnTheLoopIsAnsweredRecordedAndCountedAsTheRouterWould() async throws {
        let (loop, routed) = try await Self.pair()
        defer {
            Task {
                await loop.stop(); await routed.stop()
            }
        }
        var answers: [LiveGateway.Reply] = []
        for gw in [loop, routed] {
            gw.fake.setDefault(.reply(FakeReply("Hello there")))
            answers.append(
                try await gw.send("POST", "/v1/chat/completions", json: chatBody(text: "hello"), headers: [("x-request-id", "client-id-7")])
            )
        }
        let (a, b) = (answers[0], answers[1])
        #expect(a.status == 200 && b.status == 200)
        #expect(a.body == b.body)
        #expect(a.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello there")
        for name in [
            "content-type", "x-request-id", "x-switchboard-cost-nano-usd", "x-switchboard-cost-usd", "x-switchboard-cost-msats", "server",
        ] {
            #expect(
                a.header(name) != nil && a.header(name) == b.header(name),
                "\(name): \(a.header(name) ?? "none") vs \(b.header(name) ?? "none")")
        }
        #expect(a.header("x-request-id") == "client-id-7")
        #expect(a.header("x-switchboard-cost-nano-usd") == "53250")  // 9 × $2.25 + 12 × $2.75 per million
        let names = { (r: LiveGateway.Reply) in Set(r.headers.map { $0.0.lowercased() }) }
        #expect(names(a) == names(b))
        for name in ["inference-id", "x-switchboard-overhead-ms", "date", "content-length"] { #expect(a.header(name) != nil, "\(name)") }
        // The upstream got the same request.
        #expect(loop.fake.lastChat?.json == routed.fake.lastChat?.json)
        #expect(loop.fake.lastChat?.headers["authorization"] == "Bearer sk-upstream-secret-9876543210")
        // The ledger keeps the same record under the id the client was told.
        let (ra, rb) = (try await Self.ledger(loop, count: 1), try await Self.ledger(routed, count: 1))
        #expect(ra.first?.requestID == a.header("inference-id"))
        #expect(Self.comparable(ra) == Self.comparable(rb))
        #expect(ra.first?.status == 200 && ra.first?.costNanoUSD == 53250 && ra.first?.keyID == "master")
        #expect(try await Self.requestCounts(loop) == Self.requestCounts(routed))
        #expect(try await Self.loopAnswered(loop) == 1)
        #expect(try await Self.loopAnswered(routed) == 0)
    }

    /// Numbers as doubles: `1` and `1.0` are one number to any JSON reader.
    static func numbersAsDoubles(_ v: JSONValue?) -> JSONValue? {
        switch v {
        case .int(let i)?: .double(Double(i))
        case .array(let a)?: .array(a.map { numbersAsDoubles($0)! })
        case .object(let o)?: .object(o.mapValues { numbersAsDoubles($0)! })
        default: v
        }
    }

    @Test(arguments: [
        (
            #"{ "model" : "fake/fake-model",  "messages": [ {"role":"system","content":"be brief"}, {"role":"user","content":"h\u00e9llo \"q\"","#
                + #" "name":"ann"} ], "temperature": 1, "top_p":0.5, "max_tokens": 64, "seed": 7, "user":"u-1", "metadata": {"k":[1,2]} }"#,
            true
        ),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],"stop":"END"}"#, false),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],"n":1}"#, false),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],"stream":false}"#, false),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi","extra":1}]}"#, false),
        (#"{"model":"fake/other-model","model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]}"#, false),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#, false),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],"user":null}"#, false),
        (#"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],"max_tokens":64.0}"#, false),
    ])
    func theClientsOwnTextGoesUpstreamOnlyWhenItSaysWhatTheEncodedRequestWould(_ text: String, _ forwarded: Bool) async throws {
        let (loop, routed) = try await Self.pair()
        defer {
            Task {
                await loop.stop(); await routed.stop()
            }
        }
        for gw in [loop, routed] {
            gw.fake.setDefault(.reply(FakeReply("ok")))
            let reply = try await gw.send("POST", "/v1/chat/completions", raw: text)
            #expect(reply.status == 200, "\(reply.body)")
        }
        #expect(try await Self.loopAnswered(loop) == 1)
        let (sent, reference) = (try #require(loop.fake.lastChat), try #require(routed.fake.lastChat))
        // Forwarded or written again, the upstream reads the same request either way.
        #expect(Self.numbersAsDoubles(sent.json) == Self.numbersAsDoubles(reference.json), "\(sent.text)")
        let spliced = text.replacingOccurrences(of: #""fake/fake-model""#, with: #""fake-model""#)
        #expect((sent.text == spliced) == forwarded, "\(sent.text)")
        // The router's path forwards the same bodies.
        #expect((reference.text == spliced) == forwarded, "\(reference.text)")
    }

    @Test(arguments: [
        ("rate limited", FakeBehavior.rateLimited(retryAfter: 7)),
        ("server error", FakeBehavior.serverError(503)),
        ("not JSON", FakeBehavior.malformedJSON),
        (
            "bad request",
            FakeBehavior.status(
                400, body: #"{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":null}}"#)
        ),
    ])
    func anUpstreamFailureOnTheLoopIsAnsweredAndRecordedAsTheRouterWould(_ name: String, _ behavior: FakeBehavior) async throws {
        let (loop, routed) = try await Self.pair()
        defer {
            Task {
                await loop.stop(); await routed.stop()
            }
        }
        var answers: [LiveGateway.Reply] = []
        for gw in [loop, routed] {
            gw.fake.setDefault(behavior)
            answers.append(try await gw.send("POST", "/v1/chat/completions", json: chatBody()))
        }
        let (a, b) = (answers[0], answers[1])
        #expect(a.status == b.status && a.status >= 400, "\(name): \(a.status) vs \(b.status)")
        #expect(a.body == b.body, "\(name)")
        #expect(a.header("retry-after") == b.header("retry-after"), "\(name)")
        #expect(!a.body.contains("sk-upstream-secret"))
        #expect(
            Self.comparable(try await Self.ledger(loop, count: 1)) == Self.comparable(try await Self.ledger(routed, count: 1)), "\(name)")
        #expect(try await Self.requestCounts(loop) == Self.requestCounts(routed), "\(name)")
        #expect(try await Self.loopAnswered(loop) == 1, "\(name)")
    }

    @Test func anUpstreamThatDoesNotAnswerInTimeIs504OnTheLoop() async throws {
        let (loop, routed) = try await Self.pair(requestTimeout: .milliseconds(500))
        defer {
            Task {
                await loop.stop(); await routed.stop()
            }
        }
        var answers: [LiveGateway.Reply] = []
        for gw in [loop, routed] {
            gw.fake.setDefault(.delay(.seconds(5), then: .reply(FakeReply("late"))))
            answers.append(try await gw.send("POST", "/v1/chat/completions", json: chatBody()))
        }
        #expect(answers[0].status == 504)
        #expect(answers[0].body == answers[1].body && answers[1].status == 504)
        #expect(try await Self.ledger(loop, count: 1).map(\.status) == [504])
        #expect(try await Self.loopAnswered(loop) == 1)
    }

    @Test func requestsThatMustWaitForSomethingAreAnsweredByTheRouter() async throws {
        // The key stays cached for the whole test, however slowly a loaded machine runs it.
        try await LiveGateway.with(try await LiveGateway.start { $0.keyCacheTTL = .seconds(600) }) { (gw) async throws in
            let stream = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true))
            #expect(stream.status == 200 && stream.body.contains("data: [DONE]"))
            #expect(try await gw.send("POST", "/v1/chat/completions", raw: "{not json").status == 400)
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: "sk-sb-nobody").status == 401)
            #expect(try await Self.loopAnswered(gw) == 0)

            // A stored key is looked up by the router the first time; once cached, its requests are answered on the loop.
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "app", user: "bob", allowedModels: ["fake/fake-model"]))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret).status == 200)
            #expect(try await Self.loopAnswered(gw) == 0)
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret).status == 200)
            #expect(try await Self.loopAnswered(gw) == 1)
            // What the key may not use is still refused, by the router.
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/other-model"), key: secret).status == 403)
            #expect(try await Self.loopAnswered(gw) == 1)
            let records = try await Self.ledger(gw, count: 6)
            #expect(records.map(\.status).sorted() == [200, 200, 200, 400, 401, 403], "every request is recorded, refused or not")
            #expect(records.filter { $0.user == "bob" }.map(\.status).sorted() == [200, 200, 403])
        }
    }

    @Test func limitsAndBudgetsAreAdmittedAndSettledOnTheLoopAsTheRouterDoes() async throws {
        var limits = QuotaEnforcer.Configuration()
        limits.global.requestsPerMinute = 5
        let clock = pinnedClock()
        // A key looked up once stays cached for the whole test, however slowly a loaded machine runs it.
        let loop = try await LiveGateway.start(limits: limits) {
            $0.clock = clock
            $0.keyCacheTTL = .seconds(3600)
        }
        let routed = try await LiveGateway.start(limits: limits, loopChat: false) {
            $0.clock = clock
            $0.keyCacheTTL = .seconds(3600)
        }
        defer {
            Task {
                await loop.stop(); await routed.stop()
            }
        }
        var seen: [[String]] = []
        for gw in [loop, routed] {
            var reply = FakeReply("priced")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)  // 3,165,750 nano-USD
            gw.fake.setDefault(.reply(reply))
            let (_, secret) = try await gw.store.createKey(
                NewAPIKey(name: "app", limits: UsageLimits(tokensPerMinute: 100_000, budgetPerDay: NanoUSD(7_000_000))))
            var lines: [String] = []
            // The key: looked up (and its budget seeded from the ledger) by the router once, then on the loop until its
            // budget cannot take another request's worst case; then the master key, within the gateway's rpm.
            for key in [secret, secret, secret, secret, LiveGateway.master, LiveGateway.master, LiveGateway.master] {
                let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: key)
                lines.append(
                    "\(r.status) \(r.json?["error"]?["type"]?.stringValue ?? "-") \(r.header("x-ratelimit-remaining") ?? "-") "
                        + "\(r.header("x-switchboard-cost-nano-usd") ?? "-")")
            }
            let records = try await Self.ledger(gw, count: 7)
            lines += records.map { "\($0.status) \($0.costNanoUSD.map(String.init) ?? "-")" }.sorted()
            seen.append(lines)
        }
        #expect(seen[0] == seen[1])
        #expect(
            seen[0].prefix(7) == [
                "200 - 4 3165750", "200 - 3 3165750", "429 budget_exceeded - -", "429 budget_exceeded - -",
                "200 - 2 3165750", "200 - 1 3165750", "200 - 0 3165750",
            ])
        #expect(try await Self.loopAnswered(loop) == 6)
        #expect(try await Self.loopAnswered(routed) == 0)
    }

    /// A lane runs on the loop too: its failover, cool-downs, budget, route header and ledger record as the router's.
    @Test func aLaneFailsOverOnTheLoopAsTheRouterDoes() async throws {
        // A slot whose transport does not answer on the loop: the failover reaches it in a task.
        let remote = OpenAICompatibleProvider(
            options: .init(
                descriptor: ProviderDescriptor(
                    id: "remote", displayName: "Remote", baseURL: "http://127.0.0.1:1/v1", apiKeyEnv: nil, defaultModel: "m",
                    freeTier: .local),
                apiKey: nil),
            transport: AsyncHTTPClientTransport.shared)
        let lanes = [
            Lane(name: "fast", models: ["fake/limited", "fake/broken", "fake/fake-model"], budget: NanoUSD(5_000_000)),
            Lane(name: "far", models: ["fake/broken", "remote/m", "fake/fake-model"]),
        ]
        let loop = try await LiveGateway.start(extraProviders: [remote], lanes: lanes)
        let routed = try await LiveGateway.start(extraProviders: [remote], loopChat: false, lanes: lanes)
        defer {
            Task {
                await loop.stop(); await routed.stop()
            }
        }
        var seen: [[String]] = []
        for gw in [loop, routed] {
            gw.fake.set(.rateLimited(retryAfter: 30), forModel: "limited")
            gw.fake.set(.serverError(503), forModel: "broken")
            var reply = FakeReply("from the lane")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)  // 3,165,750 nano-USD
            gw.fake.set(.reply(reply), forModel: "fake-model")
            var lines: [String] = []
            // The first call fails over twice; the second skips the cooling slot; the third finds the budget spent.
            for model in ["lane:fast", "lane:fast", "lane:fast", "lane:far"] {
                let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody(model))
                lines.append(
                    "\(r.status) \(r.json?["choices"]?[0]?["message"]?["content"]?.stringValue ?? r.json?["error"]?["code"]?.stringValue ?? "-") "
                        + "\(r.header("x-switchboard-route") ?? "-") \(r.header("x-switchboard-cost-nano-usd") ?? "-")")
            }
            let records = try await Self.ledger(gw, count: 4)
            lines += records.map { "\($0.status) \($0.provider)/\($0.model) \($0.attempts) \($0.route ?? "-")" }.sorted()
            seen.append(lines)
        }
        #expect(seen[0] == seen[1])
        #expect(
            Array(seen[0].prefix(4)) == [
                "200 from the lane lane:fast: fake/limited=failed(rate_limited 429), fake/broken=failed(overloaded 503), fake/fake-model=ok 3165750",
                "200 from the lane lane:fast: fake/limited=skipped(cooling), fake/broken=failed(overloaded 503), fake/fake-model=ok 3165750",
                "429 budget_exceeded lane:fast/lane:fast=failed(429) -",
                "200 from the lane lane:far: fake/broken=failed(overloaded 503), remote/m=failed(network), fake/fake-model=ok 3165750",
            ], "\(seen[0])")
        // Every lane call but the refused one answered on the loop (the refusal is the route's, as a spent key's is).
        #expect(try await Self.loopAnswered(loop) == 3)
        #expect(try await Self.loopAnswered(routed) == 0)
    }

    @Test func aLedgerThatCannotCommitOnTheLoopStillRecordsBeforeTheAnswer() async throws {
        // A second store on the same database finds the journal taken, so its ledger commits on the writer's thread.
        let path = ScratchFiles.path("gw", suffix: ".db")
        let owner = try SQLiteStore(path: path)
        let store = try SQLiteStore(path: path)
        let gw = try await LiveGateway.start(store: store)
        defer {
            Task {
                await gw.stop(); _ = owner
            }
        }
        let reply = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
        #expect(reply.status == 200 && reply.header("x-switchboard-cost-nano-usd") != nil)
        // Committed before the answer: there is no waiting for it here.
        #expect(try await store.records(UsageFilter()).map(\.requestID) == [reply.header("inference-id")])
        #expect(try await Self.loopAnswered(gw) == 1)
    }
}
