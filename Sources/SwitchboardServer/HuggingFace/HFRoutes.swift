import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore
import SwitchboardStorage

/// `/hf/tasks/*`: Hugging Face style task endpoints over any configured model, billed like chat.
extension GatewayRoutes {
    func registerHuggingFace(on router: Router<GatewayRequestContext>) {
        func hf(_ path: String, task: String? = nil) -> RouterGroup<GatewayRequestContext> {
            route(router, "hf/tasks/" + path, .init(dialect: .huggingFace, task: task, requiresKey: true))
        }
        for task in HFTask.allCases {
            hf(task.rawValue, task: "hf.\(task.rawValue)").post { request, context in
                var request = request
                let body = try await jsonBody(&request)
                let invocation = try HFInvocation(
                    task: task, body: body, streamQuery: try Self.streamQuery(request),
                    modelQuery: request.uri.queryParameters.get("model"))
                return try await serveTask(invocation, request: request, context: context, envelope: .task)
            }
        }
        hf("run", task: "hf.run").post { request, context in
            var request = request
            let body = try await jsonBody(&request)
            let invocation = try HFInvocation.run(
                body: body, streamQuery: try Self.streamQuery(request),
                modelQuery: request.uri.queryParameters.get("model"))
            return try await serveTask(invocation, request: request, context: context, envelope: .run)
        }
        hf("models").get(use: hfModels)
        hf("models/map").post(use: hfMap)
        hf("billing/cost").post(use: hfCost)
        hf("billing/usage").get(use: hfUsage)
    }

    /// `?stream=`: true or 1 streams; false, 0, empty or absent does not; anything else is refused rather than
    /// read as false.
    static func streamQuery(_ request: Request) throws -> Bool {
        switch request.uri.queryParameters.get("stream") {
        case nil, "", "false", "0": return false
        case "true", "1": return true
        default: throw APIError.invalid("'stream' must be true or false", param: "stream")
        }
    }

    enum Envelope { case task, run }

    /// The gateway model for a task call: a mapped Hub id becomes its provider model (with the mapping's
    /// default parameters), no model means the task's first mapping or the gateway's default model.
    func resolveTaskModel(_ invocation: inout HFInvocation) async throws -> String {
        let mappings = try await store.mappings(task: invocation.task.rawValue)
        let mapping = invocation.model.map { m in mappings.first { $0.hubModelID == m } } ?? mappings.first
        if let mapping, invocation.model == nil || invocation.model == mapping.hubModelID {
            if let text = mapping.parameters, case .object(let defaults)? = try? JSONValue.parse(Data(text.utf8)) {
                invocation.parameters.merge(defaults) { given, _ in given }
            }
            return mapping.providerModelID
        }
        if let model = invocation.model { return model }
        if let model = gateway.defaultModel { return model }
        throw APIError.invalid(
            "'model' is required: no model is mapped to \(invocation.task.rawValue) and no default model is set",
            param: "model")
    }

    func serveTask(
        _ invocation: HFInvocation, request: Request, context: GatewayRequestContext, envelope: Envelope
    ) async throws -> Response {
        var invocation = invocation
        // Check the client's own fields first, so a mistake is named even when no model would serve it.
        if invocation.task.isChatTask { _ = try HFTemplates.chatTask(invocation, model: "") }
        let clientModel = invocation.model ?? ""
        let modelID = try await resolveTaskModel(&invocation)
        let call = context.call
        let (provider, model) = try await pipeline.resolve(modelID, call: call)
        let named = clientModel.isEmpty ? modelID : clientModel
        let upstream = pipeline.callContext(
            task: "hf.\(invocation.task.rawValue)", clientModel: named, provider: provider, model: model, call: call)

        func answer(_ output: JSONValue) -> Response {
            if invocation.task == .conversational, envelope == .task, case .object(var o) = output {
                o["model"] = .string(named)
                return jsonResponse(.object(o))
            }
            var body: [String: JSONValue] = ["output": output, "model": .string(named)]
            if envelope == .run { body["task"] = .string(invocation.task.rawValue) }
            return jsonResponse(.object(body))
        }

        switch invocation.task {
        case .embedding:
            let inputs: [String]
            switch invocation.inputs {
            case .string(let s) where !s.isEmpty: inputs = [s]
            case .array(let a) where !a.isEmpty && a.allSatisfy({ !($0.stringValue ?? "").isEmpty }): inputs = a.compactMap(\.stringValue)
            default: throw APIError.invalid("'inputs' must be a string or a non-empty array of strings", param: "inputs")
            }
            guard let embedder = provider as? any EmbeddingProvider, provider.capabilities.contains(.embeddings) else {
                throw APIError.invalid("embedding: model '\(named)' (provider \(provider.id)) has no embeddings API", param: "model")
            }
            try await pipeline.admit(call, tokens: estimatedTokens(inputs.reduce(0) { $0.saturatingAdding($1.count) }))
            let result = try await pipeline.embed(inputs, model: model, at: embedder, context: upstream, call: call)
            return answer(.array(result.vectors.map { .array($0.map(JSONValue.double)) }))

        case .imageGeneration:
            let prompt = try invocation.string(invocation.inputs, "inputs")
            guard let painter = provider as? any ImageGenerationProvider, provider.capabilities.contains(.images) else {
                throw APIError.invalid("image-generation: model '\(named)' (provider \(provider.id)) has no images API", param: "model")
            }
            let count = try invocation.int("num_images", in: 1...10) ?? 1
            var size = try invocation.parameters["size"].map { try invocation.string($0, "parameters.size") }
            if size == nil, let w = try invocation.int("width", in: 64...4096), let h = try invocation.int("height", in: 64...4096) {
                size = "\(w)x\(h)"
            }
            try await pipeline.admit(call, tokens: estimatedTokens(prompt.count))
            let images = try await pipeline.timed(call, upstream) {
                try await painter.generateImages(ImageRequest(prompt: prompt, model: model, count: count, size: size), context: $0)
            }
            // Images are priced per image, not per token, and the price table has no per-image prices yet:
            // the record carries no usage, so its cost is null (flagged as unpriced), never a made-up number.
            return answer(
                .array(
                    images.map { image in
                        var o: [String: JSONValue] = [:]
                        if let b = image.base64 { o["image_base64"] = .string(b) }
                        if let u = image.url { o["url"] = .string(u) }
                        if let r = image.revisedPrompt { o["revised_prompt"] = .string(r) }
                        return .object(o)
                    }))

        default:
            let task = try HFTemplates.chatTask(invocation, model: model)
            try await pipeline.admit(call, usage: pipeline.reservation(task.request))
            if invocation.stream {
                let prefix = try invocation.bool("return_full_text") == true ? (invocation.inputs.stringValue ?? "") : ""
                return try await pipeline.stream(
                    task.request, at: provider, context: upstream, encoder: HFTokenStreamEncoder(prefix: prefix), call: call,
                    client: context.client(request))
            }
            let response = try await pipeline.complete(task.request, at: provider, context: upstream, call: call)
            do {
                return answer(try task.shape(response.content))
            } catch let invalid as HFInvalidOutput {
                // The model was paid for; the record keeps its usage while the client learns why no answer came.
                throw APIError(
                    status: .badGateway, message: "\(invocation.task.rawValue): \(invalid.description) (model '\(named)')",
                    type: "server_error", code: "invalid_model_output")
            }
        }
    }
}

/// Text-generation streaming in TGI's event shape, which Hugging Face clients read: one event per token,
/// the last carrying `generated_text` and `details`; a failure is `{"error", "error_type"}`.
struct HFTokenStreamEncoder: StreamEventEncoder {
    let prefix: String
    private var index = 0
    private var text = ""
    private var reason: FinishReason?
    private(set) var usage: Usage?

    init(prefix: String) {
        self.prefix = prefix
    }

    private func event(_ tokenText: String, special: Bool, generated: String?, details: JSONValue) -> String {
        let e: JSONValue = [
            "index": .int(Int64(index)),
            "token": ["id": .int(Int64(index)), "text": .string(tokenText), "logprob": 0.0, "special": .bool(special)],
            "generated_text": generated.map(JSONValue.string) ?? .null, "details": details,
        ]
        return e.jsonString()
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        switch event {
        case .textDelta(let t) where !t.isEmpty:
            index += 1
            text += t
            return [SSEFrame(self.event(t, special: false, generated: nil, details: .null))]
        case .finish(let r): reason = r
        case .usage(let u): usage = u
        default: break
        }
        return []
    }

    func finish(usage recorded: Usage?, cost: [String: JSONValue]) -> [SSEFrame] {
        let usage = recorded ?? usage
        let finish: String =
            switch reason {
            case .length?: "length"
            case .stop?, nil: "eos_token"
            default: reason!.wireValue
            }
        var details: [String: JSONValue] = [
            "finish_reason": .string(finish),
            "generated_tokens": .int(Int64(usage?.outputTokens ?? index)),
        ]
        details.merge(cost) { $1 }
        var last = self
        last.index += 1
        return [SSEFrame(last.event("", special: true, generated: prefix + text, details: .object(details)))]
    }

    func failure(_ error: APIError) -> SSEFrame {
        let hf = error.huggingFaceBody
        return SSEFrame(
            JSONValue.object(["error": .string(error.message), "error_type": hf["error_type"] ?? "InternalServerError"]).jsonString())
    }
}
