import ArgumentParser
import Foundation
import Switchboard

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Send one prompt and stream the answer.")

    @OptionGroup var options: GatewayOptions

    @Argument(help: "The prompt; '-' reads it from standard input.")
    var prompt: String

    @Option(name: .shortAndLong, help: "Model: provider/model picks the provider; a bare name goes to the router.")
    var model: String?

    @Option(name: .long, help: "Send to this provider, whatever the model name.")
    var provider: String?

    @Option(name: .long, help: "System prompt.")
    var system: String?

    @Option(name: .long, help: "Upper bound on generated tokens.")
    var maxTokens: Int?

    @Option(name: .long, help: "Sampling temperature.")
    var temperature: Double?

    @Flag(name: .long, help: "Wait for the whole answer instead of streaming.")
    var noStream = false

    @Flag(name: .long, help: "Print the response as JSON.")
    var json = false

    func validate() throws {
        if let t = temperature, !(0...2).contains(t) { throw ValidationError("--temperature must be between 0 and 2") }
        if let m = maxTokens, m < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: json)
            let text = prompt == "-" ? readStandardInput() : prompt
            guard !text.isEmpty else { throw ValidationError("the prompt is empty") }

            let context = options.context(loaded.logger)
            let target: any LLMProvider
            var modelName: String
            if let provider {
                guard let p = loaded.gateway.provider(id: provider) else {
                    let ids = loaded.gateway.providers.map(\.id).joined(separator: ", ")
                    throw ValidationError("provider '\(provider)' is not configured (configured: \(ids))")
                }
                target = p
                modelName = model ?? ""
            } else {
                // The server's rule: a bare name one provider lists goes there, so the catalog is loaded for it.
                do { (target, modelName) = try await loaded.gateway.resolve(model: model ?? "", context: context) } catch {
                    throw ValidationError("\(error)")
                }
            }
            var request = ChatRequest(model: modelName, messages: [.user(text)], temperature: temperature, maxTokens: maxTokens)
            if let system { request = request.withSystem(system) }

            let response: ChatResponse
            if noStream {
                response = try await target.chat(request, context: context)
                if !json { Terminal.out(response.content + "\n") }
            } else {
                var acc = StreamAccumulator()
                var inReasoning = false
                for try await event in target.stream(request, context: context) {
                    acc.add(event)
                    guard !json else { continue }
                    switch event {
                    case .textDelta(let t):
                        if inReasoning { Terminal.err("\n"); inReasoning = false }
                        Terminal.out(t)
                    case .reasoningDelta(let r):
                        inReasoning = true
                        Terminal.err(Terminal.dim(r))
                    default: break
                    }
                }
                response = acc.response
                if !json { Terminal.out("\n") }
            }
            let cost = cost(of: response, gateway: loaded.gateway)
            if json {
                Terminal.out(Terminal.json(encode(response, cost: cost)))
            } else {
                Terminal.err(summary(response, cost: cost) + "\n")
            }
        }
    }

    private func readStandardInput() -> String {
        String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func cost(of response: ChatResponse, gateway: Gateway) -> NanoUSD? {
        guard let usage = response.usage else { return nil }
        return gateway.prices.cost(provider: response.provider, model: response.model, usage: usage)
    }

    private func summary(_ r: ChatResponse, cost: NanoUSD?) -> String {
        var parts = ["\(r.provider)/\(r.model)"]
        if let u = r.usage {
            parts.append("\(u.inputTokens) in / \(u.outputTokens) out tokens")
        } else {
            parts.append("no usage reported")
        }
        parts.append(cost.map { "cost \($0)" } ?? "cost unknown (no price for this model)")
        if r.finishReason != .stop { parts.append("finish: \(r.finishReason)") }
        return Terminal.dim("[" + parts.joined(separator: " · ") + "]")
    }

    private func encode(_ r: ChatResponse, cost: NanoUSD?) -> JSONValue {
        var out: [String: JSONValue] = [
            "id": .string(r.id), "model": .string(r.model), "provider": .string(r.provider),
            "content": .string(r.content), "finish_reason": .string(r.finishReason.wireValue),
        ]
        if let reasoning = r.reasoning { out["reasoning"] = .string(reasoning) }
        if !r.toolCalls.isEmpty {
            out["tool_calls"] = .array(
                r.toolCalls.map {
                    ["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments)]
                })
        }
        if let u = r.usage {
            out["usage"] = [
                "input_tokens": .int(Int64(u.inputTokens)), "output_tokens": .int(Int64(u.outputTokens)),
                "reasoning_tokens": .int(Int64(u.reasoningTokens)), "cached_tokens": .int(Int64(u.cachedTokens)),
            ]
        }
        out["cost_nano_usd"] = cost.map { .int($0.value) } ?? .null
        return .object(out)
    }
}
