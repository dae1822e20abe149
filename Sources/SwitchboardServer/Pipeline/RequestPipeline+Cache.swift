import Foundation
import HTTPTypes
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardProviders

extension HTTPField.Name {
    /// Request: `on` asks for the answer to be cached, `off` skips the cache. Response: `hit`, `miss` or `bypass`.
    static let cache = Self("x-switchboard-cache")!
}

/// What the response cache did for a request.
enum CacheOutcome: String, Sendable {
    /// Answered from the cache: no upstream call, no upstream cost.
    case hit
    /// Looked up and not found; the answer is kept when it succeeds.
    case miss
    /// Not looked up (not eligible, or the client said `no-cache`).
    case bypass
}

/// The response cache's stage, between `admit` and the call: a hit answers at once, a miss's answer is kept.
extension RequestPipeline {
    /// The cache's part in one chat request: its key, and whether its answer is looked up and kept.
    struct CachePlan: Sendable {
        var key: ResponseCacheKey
        var decision: ResponseCache.Decision
    }

    /// The plan for `request` (its model already the upstream's) resolved to `provider`, from the client's headers;
    /// nil without a cache. Notes `bypass` on the call when the answer is not looked up.
    func cachePlan(_ request: ChatRequest, at provider: any LLMProvider, headers: HTTPFields, call: GatewayCall) -> CachePlan? {
        guard let cache else { return nil }
        let decision = cache.decision(for: request, Self.directives(headers))
        if !decision.lookup { call.update { $0.cache = .bypass } }
        guard decision.lookup || decision.store else { return nil }
        return CachePlan(key: cache.key(for: request, at: provider.id, keyID: call.principal?.keyID), decision: decision)
    }

    /// The cached answer for `plan`, from memory or the shared store, noted on the call (hit or miss).
    func cached(_ plan: CachePlan?, call: GatewayCall) async -> CachedAnswer? {
        guard let cache, let plan, plan.decision.lookup else { return nil }
        let found: CachedAnswer?
        do { found = try await cache.lookup(plan.key) } catch {
            // A shared store that cannot answer costs a cache miss, not the request.
            logger.warning("response cache lookup failed", metadata: ["error": "\(Redacted(error))", "request_id": "\(call.requestID)"])
            found = nil
        }
        noteLookup(found, plan: plan, call: call)
        return found
    }

    /// `cached` without waiting: nil when the answer is not in memory. `decided` is false when only `cached` can tell
    /// (the shared store must be asked).
    func cachedNow(_ plan: CachePlan?, call: GatewayCall) -> (answer: CachedAnswer?, decided: Bool) {
        guard let cache, let plan, plan.decision.lookup else { return (nil, true) }
        if let found = cache.lookupNow(plan.key) { return (found, true) }
        return (nil, cache.shared == nil)
    }

    /// Notes what a lookup found: a hit is answered with the usage it saves, at no upstream cost.
    func noteLookup(_ found: CachedAnswer?, plan: CachePlan, call: GatewayCall) {
        guard let found else {
            call.update { $0.cache = .miss }
            metrics.cache(.miss)
            return
        }
        call.update {
            $0.cache = .hit
            $0.provider = found.provider
            $0.upstreamModel = found.model
            $0.usage = found.usage
            $0.cacheTarget = plan.key.target
        }
        metrics.cache(.hit, bytes: found.body.count)
    }

    /// Keeps a successful answer given as a `chat.completion` body (a forwarded one), when the plan says so.
    func keep(_ body: ByteBuffer, usage: Usage, plan: CachePlan?, call: GatewayCall) {
        guard plan?.decision.store == true else { return }
        let state = call.snapshot
        keep(
            CachedAnswer(body: Array(body.readableBytesView), usage: usage, provider: state.provider, model: state.upstreamModel),
            plan: plan, call: call)
    }

    /// Keeps a unified answer unless it ended in error, when the plan says so.
    func keep(_ response: ChatResponse, usage: Usage, plan: CachePlan?, call: GatewayCall) {
        guard plan?.decision.store == true, response.finishReason != .error else { return }
        keep(CachedAnswer(response, usage: usage, model: call.snapshot.upstreamModel), plan: plan, call: call)
    }

    private func keep(_ answer: CachedAnswer, plan: CachePlan?, call: GatewayCall) {
        guard let cache, let plan else { return }
        guard let write = cache.store(answer, for: plan.key) else { return }
        let logger = logger
        let requestID = call.requestID
        // The client does not wait for the shared store: a write that fails costs a later miss, and is logged.
        Task {
            do { try await write() } catch {
                logger.warning("response cache store failed", metadata: ["error": "\(Redacted(error))", "request_id": "\(requestID)"])
            }
        }
    }

    /// What the request's headers ask of the cache.
    static func directives(_ headers: HTTPFields) -> ResponseCache.Directives {
        var d = ResponseCache.Directives()
        if let asked = headers[.cache]?.lowercased() {
            if asked == "on" { d.requested = true }
            if asked == "off" {
                d.noCache = true
                d.noStore = true
            }
        }
        for value in headers[values: .cacheControl] {
            for directive in value.split(separator: ",") {
                switch directive.trimmingCharacters(in: .whitespaces).lowercased() {
                case "no-cache": d.noCache = true
                case "no-store": d.noStore = true
                default: break
                }
            }
        }
        return d
    }
}
