import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
public import SwitchboardCore
import Synchronization

/// A real HTTP server on 127.0.0.1 speaking OpenAI chat completions, models and SSE, with scripted faults.
public final class FakeUpstream: Sendable {
    /// A request the fake received.
    public struct Received: Sendable {
        public var method: String
        public var path: String
        /// Header names lowercased.
        public var headers: [String: String]
        /// The JSON body, when it was JSON.
        public var json: JSONValue?
        /// The body as it came.
        public var text: String = ""
    }

    private struct State {
        var defaultBehavior: FakeBehavior = .reply(FakeReply("Hello from the fake upstream"))
        var byModel: [String: FakeBehavior] = [:]
        var queued: [String: [FakeBehavior]] = [:]
        var received: [Received] = []
        var models: [String] = ["fake-model"]
        var requiredKey: String?
        var extraHeaders: [(String, String)] = []
        var inFlight = 0
        var completed = 0
        var cancelled = 0
    }

    private let state = Mutex(State())
    private let server = Mutex<LoopbackServer?>(nil)
    /// Ends scripted delays when the fake stops, so stopping never waits one out.
    private let stopping = StopSignal()
    /// The bound port.
    public let port: Int

    private init(port: Int) {
        self.port = port
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL a provider is pointed at.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Starts a fake on a free loopback port.
    public static func start() async throws -> FakeUpstream {
        let holder = Mutex<FakeUpstream?>(nil)
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            guard let fake = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return try await fake.handle(request, context: context)
        }
        router.post("v1/chat/completions", use: handler)
        // Copilot's API has no /v1 prefix.
        router.post("chat/completions", use: handler)
        router.get("models", use: handler)
        router.post("v1/embeddings", use: handler)
        router.post("v1/images/generations", use: handler)
        router.post("v1/messages", use: handler)
        router.post("v1/responses", use: handler)
        router.post("api/chat", use: handler)
        router.post("api/embed", use: handler)
        router.get("api/tags", use: handler)
        router.get("api/version", use: handler)
        router.post("model/**", use: handler)
        router.post("token", use: handler)
        router.post("v1/projects/**", use: handler)
        router.get("v1beta1/publishers/google/models", use: handler)
        router.get("foundation-models", use: handler)
        router.get("v1/models", use: handler)
        let server = try await LoopbackServer.start(router: router, label: "fake-upstream")
        let fake = FakeUpstream(port: server.port)
        holder.withLock { $0 = fake }
        fake.server.withLock { $0 = server }
        return fake
    }

    /// Stops the server: scripted delays still running end at once (their requests fail), then connections already
    /// accepted are served.
    public func stop() async {
        stopping.fire()
        await server.withLock({ $0 })?.stop()
    }

    /// The behaviour for requests naming no scripted model.
    public func setDefault(_ behavior: FakeBehavior) { state.withLock { $0.defaultBehavior = behavior } }
    /// The behaviour for every request for `model`.
    public func set(_ behavior: FakeBehavior, forModel model: String) { state.withLock { $0.byModel[model] = behavior } }
    /// One-shot behaviours for `model`, used before its standing behaviour.
    public func enqueue(_ behaviors: [FakeBehavior], forModel model: String) {
        state.withLock { $0.queued[model, default: []] += behaviors }
    }
    /// The ids `GET /v1/models` lists.
    public func setModels(_ ids: [String]) { state.withLock { $0.models = ids } }
    /// Requests without `Authorization: Bearer <key>` get 401.
    public func requireKey(_ key: String?) { state.withLock { $0.requiredKey = key } }
    /// Headers added to every response (rate-limit headers, say).
    public func setExtraHeaders(_ headers: [(String, String)]) { state.withLock { $0.extraHeaders = headers } }

    /// Every request received so far.
    public var received: [Received] { state.withLock { $0.received } }
    /// The latest chat-completions request (health probes list models in between).
    public var lastChat: Received? { received.last { $0.path.hasSuffix("/chat/completions") } }
    /// Streams that are being written now.
    public var streamsInFlight: Int { state.withLock { $0.inFlight } }
    /// Streams whose writing stopped because the client went away.
    public var streamsCancelled: Int { state.withLock { $0.cancelled } }

    private func handle(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        let json = try? JSONValue.parse(Data(body.readableBytesView))
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        // HTTP types keep Host as the request's authority.
        if let authority = request.head.authority { headers["host"] = authority }
        let path = request.uri.path
        let (behavior, models, key, extra) = state.withLock { s -> (FakeBehavior, [String], String?, [(String, String)]) in
            s.received.append(
                Received(method: request.method.rawValue, path: path, headers: headers, json: json, text: String(buffer: body)))
            let model = json?["model"]?.stringValue ?? FakeUpstream.pathModel(path) ?? ""
            var behavior = s.byModel[model] ?? s.defaultBehavior
            if var queue = s.queued[model], !queue.isEmpty {
                behavior = queue.removeFirst()
                s.queued[model] = queue
            }
            return (behavior, s.models, s.requiredKey, s.extraHeaders)
        }
        if let key, headers["authorization"] != "Bearer \(key)" {
            return respond(
                401,
                #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
                extra)
        }
        if path == "/token" {
            let n = state.withLock { s in s.received.filter { $0.path == "/token" }.count }
            return respond(200, #"{"access_token":"ya29.fake-token-\#(n)","expires_in":3599,"token_type":"Bearer"}"#, extra)
        }
        if path == "/v1beta1/publishers/google/models" {
            let list: JSONValue = ["publisherModels": .array(models.map { ["name": .string("publishers/google/models/\($0)")] })]
            return respond(200, list.jsonString(), extra)
        }
        if path == "/foundation-models" {
            let list: JSONValue = ["modelSummaries": .array(models.map { ["modelId": .string($0), "modelName": .string($0)] })]
            return respond(200, list.jsonString(), extra)
        }
        if path == "/api/version" { return respond(200, #"{"version":"0.12.0"}"#, extra) }
        if path == "/api/tags" {
            let list: JSONValue = ["models": .array(models.map { ["name": .string($0), "model": .string($0), "size": 1] })]
            return respond(200, list.jsonString(), extra)
        }
        if path == "/api/embed" {
            let inputs = json?["input"]?.arrayValue ?? (json?["input"].map { [$0] } ?? [])
            let vectors: [JSONValue] = inputs.enumerated().map { i, input in
                [.double(Double(input.stringValue?.count ?? 0)), .double(Double(i)), 0.5]
            }
            let out: JSONValue = [
                "model": json?["model"] ?? "fake", "embeddings": .array(vectors),
                "prompt_eval_count": .int(Int64(inputs.count)),
            ]
            return respond(200, out.jsonString(), extra)
        }
        if path.hasSuffix("/models") {
            let list: JSONValue = [
                "object": "list", "data": .array(models.map { ["id": .string($0), "object": "model", "owned_by": "fake"] }),
            ]
            return respond(200, list.jsonString(), extra)
        }
        if path.hasSuffix("/images/generations") {
            // A 1x1 PNG per image asked for, so clients can decode what they get.
            let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
            let n = Int(json?["n"]?.intValue ?? 1)
            let data: JSONValue = .array((0..<max(1, n)).map { _ in ["b64_json": .string(png)] })
            return respond(200, JSONValue.object(["created": 1_700_000_000, "data": data]).jsonString(), extra)
        }
        if path.hasSuffix("/embeddings") {
            var inputs: [JSONValue] = []
            switch json?["input"] {
            case .some(.array(let a)): inputs = a
            case .some(let one): inputs = [one]
            case .none: break
            }
            let data = inputs.enumerated().map { i, input -> JSONValue in
                let n = Double(input.stringValue?.count ?? 0)
                return ["object": "embedding", "index": .int(Int64(i)), "embedding": [.double(n), .double(Double(i)), 0.5]]
            }
            let out: JSONValue = [
                "object": "list", "data": .array(data), "model": json?["model"] ?? "fake",
                "usage": ["prompt_tokens": .int(Int64(inputs.count)), "total_tokens": .int(Int64(inputs.count))],
            ]
            return respond(200, out.jsonString(), extra)
        }
        // Ollama streams unless told not to, Bedrock by its path; the others only when asked.
        let stream =
            json?["stream"]?.boolValue
            ?? (path == "/api/chat" || path.hasSuffix("/converse-stream") || path.hasSuffix(":streamGenerateContent"))
        let includeUsage = json?["stream_options"]?["include_usage"]?.boolValue ?? false
        let dialect: Dialect =
            if path.hasSuffix("/messages") {
                .anthropic
            } else if path.hasSuffix("/responses") {
                // A hosted tool the request asks for is called first, as OpenAI's own would be.
                .responses(hosted: json?["tools"]?.arrayValue?.compactMap { $0["type"]?.stringValue }.first { $0 != "function" })
            } else if path == "/api/chat" {
                .ollama
            } else if path.hasPrefix("/model/") {
                .bedrock
            } else if path.hasPrefix("/v1/projects/") {
                .gemini
            } else {
                .openAI
            }
        return try await render(
            behavior, model: json?["model"]?.stringValue ?? "", stream: stream, includeUsage: includeUsage, dialect: dialect, extra: extra)
    }

    private enum Dialect: Equatable {
        case openAI, anthropic, ollama, bedrock, gemini
        case responses(hosted: String?)
    }

    /// The model id of a Bedrock path (`/model/{percent-encoded id}/converse`) or a Vertex one
    /// (`.../publishers/google/models/{id}:generateContent`).
    static func pathModel(_ path: String) -> String? {
        if path.hasPrefix("/v1/projects/"), let last = path.split(separator: "/").last {
            return String(last.split(separator: ":").first ?? "").removingPercentEncoding
        }
        let parts = path.split(separator: "/")
        guard parts.count >= 3, parts[0] == "model" else { return nil }
        return String(parts[1]).removingPercentEncoding
    }

    private func render(
        _ behavior: FakeBehavior, model: String, stream: Bool, includeUsage: Bool, dialect: Dialect,
        extra: [(String, String)]
    ) async throws -> Response {
        switch behavior {
        case .delay(let d, let then):
            try await stopping.sleep(for: d)
            return try await render(then, model: model, stream: stream, includeUsage: includeUsage, dialect: dialect, extra: extra)
        case .gated(let gate, let then):
            let opened = await withTaskGroup(of: Bool.self) { [stopping] group in
                group.addTask {
                    await gate.signal.wait(); return true
                }
                group.addTask {
                    await stopping.wait(); return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            guard opened else { throw CancellationError() }
            return try await render(then, model: model, stream: stream, includeUsage: includeUsage, dialect: dialect, extra: extra)
        case .reply(let reply) where dialect != .openAI:
            let (json, frames, contentType) = rendering(reply, model: model, dialect: dialect)
            if !stream { return respond(200, json.jsonString(), extra) }
            return raw(bytes: frames, contentType: contentType, pause: reply.chunkDelay, extra: extra)
        case .dropAfter(let n, let reply) where dialect != .openAI:
            let (_, frames, contentType) = rendering(reply, model: model, dialect: dialect)
            return raw(bytes: Array(frames.prefix(n)), contentType: contentType, pause: reply.chunkDelay, extra: extra, dropAtEnd: true)
        case .status(let code, let body, let headers):
            return respond(code, body, extra + headers)
        case .malformedJSON:
            if stream {
                return sse(["{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"ok\"}"], pause: .zero, extra: extra, dropAtEnd: false)
            }
            return respond(200, "{\"id\": \"chatcmpl-broken\", \"choices\": [", extra)
        case .raw(let pieces, let contentType, let pause):
            return raw(pieces, contentType: contentType, pause: pause, extra: extra)
        case .paced(let events):
            return raw(
                bytes: events.map { Array("data: \($0.data)\n\n".utf8) }, contentType: "text/event-stream", pauses: events.map(\.pause),
                extra: extra)
        case .recorded(let body, let pieces, let contentType):
            if !stream { return respond(200, String(decoding: body, as: UTF8.self), extra) }
            return raw(bytes: pieces, contentType: contentType, pause: .zero, extra: extra)
        case .reply(let reply):
            if !stream { return respond(200, reply.completionJSON(model: model).jsonString(), extra) }
            return sse(
                reply.streamPayloads(model: model, includeUsage: includeUsage), pause: reply.chunkDelay, extra: extra, dropAtEnd: false)
        case .dropAfter(let n, let reply):
            let payloads = reply.streamPayloads(model: model, includeUsage: includeUsage)
            return sse(Array(payloads.prefix(n)), pause: reply.chunkDelay, extra: extra, dropAtEnd: true)
        }
    }

    /// A reply in a native dialect: the non-streamed body, the streamed pieces, their content type.
    private func rendering(_ reply: FakeReply, model: String, dialect: Dialect) -> (JSONValue, [[UInt8]], String) {
        switch dialect {
        case .anthropic: (reply.messageJSON(model: model), reply.anthropicEvents(model: model).map { Array($0.utf8) }, "text/event-stream")
        case .ollama: (reply.ollamaJSON(model: model), reply.ollamaLines(model: model).map { Array($0.utf8) }, "application/x-ndjson")
        case .bedrock: (reply.converseJSON(), reply.converseStreamFrames(), "application/vnd.amazon.eventstream")
        case .gemini: (reply.geminiJSON(model: model), reply.geminiEvents(model: model).map { Array($0.utf8) }, "text/event-stream")
        case .responses(let hosted):
            (
                reply.responsesJSON(model: model, hosted: hosted),
                reply.responsesEvents(model: model, hosted: hosted).map { Array($0.utf8) },
                "text/event-stream"
            )
        case .openAI: (reply.completionJSON(model: model), [], "application/json")
        }
    }

    private func respond(_ status: Int, _ body: String, _ headers: [(String, String)]) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers { if let n = HTTPField.Name(name) { fields[n] = value } }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func sse(_ payloads: [String], pause: Duration, extra: [(String, String)], dropAtEnd: Bool) -> Response {
        raw(payloads.map { "data: \($0)\n\n" }, contentType: "text/event-stream", pause: pause, extra: extra, dropAtEnd: dropAtEnd)
    }

    private func raw(
        _ pieces: [String], contentType: String, pause: Duration, extra: [(String, String)],
        dropAtEnd: Bool = false
    ) -> Response {
        raw(bytes: pieces.map { Array($0.utf8) }, contentType: contentType, pause: pause, extra: extra, dropAtEnd: dropAtEnd)
    }

    private func raw(
        bytes pieces: [[UInt8]], contentType: String, pause: Duration, extra: [(String, String)],
        dropAtEnd: Bool = false
    ) -> Response {
        raw(bytes: pieces, contentType: contentType, pauses: pieces.map { _ in pause }, extra: extra, dropAtEnd: dropAtEnd)
    }

    private func raw(
        bytes pieces: [[UInt8]], contentType: String, pauses: [Duration], extra: [(String, String)],
        dropAtEnd: Bool = false
    ) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (name, value) in extra { if let n = HTTPField.Name(name) { fields[n] = value } }
        let body = ResponseBody { [self] writer in
            state.withLock { $0.inFlight += 1 }
            defer { state.withLock { $0.inFlight -= 1 } }
            do {
                for (piece, pause) in zip(pieces, pauses) {
                    // A stop ends the pause at once: a scripted stall never holds a test past its end.
                    if pause > .zero { try await stopping.sleep(for: pause) }
                    try await writer.write(ByteBuffer(bytes: piece))
                }
            } catch {
                state.withLock { $0.cancelled += 1 }
                throw error
            }
            if dropAtEnd {
                // Let the written chunks reach the client before the connection is cut.
                try await Task.sleep(for: .milliseconds(50))
                throw FakeUpstreamDrop()
            }
            try await writer.finish(nil)
            state.withLock { $0.completed += 1 }
        }
        return Response(status: .ok, headers: fields, body: body)
    }
}

/// Thrown inside a response body to cut the connection mid-stream.
struct FakeUpstreamDrop: Error {}

/// Wakes every sleeper once fired, and every later one at once.
final class StopSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var next: UInt64 = 0
    }
    private let state = Mutex(State())

    func fire() {
        let waiters = state.withLock { s in
            s.fired = true
            defer { s.waiters = [:] }
            return s.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sleeps for `duration` unless fired first; throws `CancellationError` when fired.
    func sleep(for duration: Duration) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await Task.sleep(for: duration)
                return false
            }
            group.addTask {
                await self.wait()
                return true
            }
            let fired = try await group.next() ?? true
            group.cancelAll()
            if fired { throw CancellationError() }
        }
    }

    /// Returns once fired (at once when it already was) or when the caller is cancelled.
    func wait() async {
        let id = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.fired || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
