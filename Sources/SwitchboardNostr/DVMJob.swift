public import SwitchboardCore

/// A NIP-90 text-generation job (kind 5050) made from a chat request, and its result kind.
public enum DVMJob {
    public static let requestKind = 5050
    public static let resultKind = 6050
    public static let feedbackKind = 7000

    /// What the job asks, in its parts.
    public struct Parameters: Sendable, Hashable {
        /// The model asked for; nil lets the DVM choose (`swarm/any`).
        public var model: String?
        public var bidMsats: Int64
        /// Where DVMs should answer.
        public var relays: [String]
        /// DVMs asked for by pubkey (others may still answer).
        public var preferred: [String]

        /// A job's parameters.
        public init(model: String?, bidMsats: Int64, relays: [String], preferred: [String] = []) {
            self.model = model
            self.bidMsats = bidMsats
            self.relays = relays
            self.preferred = preferred
        }
    }

    /// The conversation as the one text input NIP-90 takes: the last user message alone when it is the whole
    /// conversation, else every turn on its own line, named by role.
    public static func prompt(_ request: ChatRequest) -> String {
        if request.messages.count == 1, let only = request.messages.first, only.role == .user { return only.text }
        return request.messages.map { "\($0.role.rawValue): \($0.text)" }.joined(separator: "\n")
    }

    /// The signed kind-5050 request for `request`.
    public static func request(
        _ request: ChatRequest, _ parameters: Parameters, createdAt: Int64, by key: NostrSecretKey
    ) -> NostrEvent {
        var tags: [[String]] = [["i", prompt(request), "text"], ["output", "text/plain"]]
        if let model = parameters.model { tags.append(["param", "model", model]) }
        if let max = request.maxTokens { tags.append(["param", "max_tokens", String(max)]) }
        if let t = request.temperature { tags.append(["param", "temperature", String(t)]) }
        if let p = request.topP { tags.append(["param", "top_p", String(p)]) }
        tags.append(["bid", String(parameters.bidMsats)])
        if !parameters.relays.isEmpty { tags.append(["relays"] + parameters.relays) }
        for dvm in parameters.preferred { tags.append(["p", dvm]) }
        // Two equal requests in one second would otherwise be one event, and share each other's results: a NIP-13
        // nonce (difficulty 0) makes each job its own.
        tags.append(["nonce", Hex.encode(Secp256k1.randomBytes(8)), "0"])
        return NostrEvent.signed(kind: requestKind, tags: tags, content: "", createdAt: createdAt, by: key)
    }
}

/// One job's progress from the events DVMs send: which to pay, which partial text to pass on, which result wins,
/// and why the others were passed over. Events reach it verified; it decides, the caller acts (pays, relays, ends).
public struct DVMJobState: Sendable {
    /// What the caller does next.
    public enum Action: Sendable, Hashable {
        case none
        /// Pay `invoice` (`msats`, as the feedback said) for `dvm`'s work.
        case pay(dvm: String, msats: Int64, invoice: String)
        /// Text the chosen DVM sent ahead of its result.
        case partial(String)
        /// The job is done: `dvm`'s result, `paid` already; it asks `owed` more msats with `invoice` (a DVM that
        /// delivered before it was paid).
        case finish(dvm: String, content: String, paid: Int64, owed: Int64, invoice: String?)
        /// No DVM will answer within the bid and budget: why, for the caller's error.
        case fail(String)
    }

    public let jobID: String
    public let bidMsats: Int64
    /// What the provider may still spend.
    public let budgetMsats: Int64
    /// DVMs allowed to answer; empty: any.
    public let allowlist: Set<String>
    /// Whether a wallet can pay invoices.
    public let canPay: Bool
    /// Why DVMs were passed over, in order (for the error when none answers).
    public private(set) var declined: [String] = []
    /// Whether a DVM within the bid was declined because the budget had too little left.
    public private(set) var overBudget = false
    private var paid: [String: Int64] = [:]
    private var streaming: String?
    private var done = false

    /// A job's state, before any event.
    public init(jobID: String, bidMsats: Int64, budgetMsats: Int64, allowlist: Set<String> = [], canPay: Bool) {
        self.jobID = jobID
        self.bidMsats = bidMsats
        self.budgetMsats = budgetMsats
        self.allowlist = allowlist
        self.canPay = canPay
    }

    /// The most this job may cost.
    private var ceiling: Int64 { min(bidMsats, budgetMsats) }

    /// Takes one verified event from a relay.
    public mutating func receive(_ event: NostrEvent) -> Action {
        guard !done, event.values(of: "e").contains(jobID) else { return .none }
        let dvm = event.pubkey
        guard allowlist.isEmpty || allowlist.contains(dvm) else { return .none }
        let amount = event.tags.first { $0.first == "amount" && $0.count > 1 }
        let msats = amount.flatMap { Int64($0[1]) }
        switch event.kind {
        case DVMJob.resultKind:
            let paid = paid[dvm] ?? 0
            let price = max(msats ?? 0, paid)
            guard price <= ceiling else {
                if price <= bidMsats { overBudget = true }
                declined.append("\(dvm.prefix(8)): result at \(price) msats, over \(ceiling)")
                return .none
            }
            // Text already passed on came from the DVM that streamed it: another's result cannot follow it.
            guard streaming == nil || streaming == dvm else {
                declined.append("\(dvm.prefix(8)): result after another DVM's partial text")
                return .none
            }
            done = true
            let invoice = amount.flatMap { $0.count > 2 && !$0[2].isEmpty ? $0[2] : nil }
            return .finish(dvm: dvm, content: event.content, paid: paid, owed: price - paid, invoice: price > paid ? invoice : nil)
        case DVMJob.feedbackKind:
            let status = event.tags.first { $0.first == "status" && $0.count > 1 }?[1] ?? ""
            switch status {
            case "partial":
                if streaming == nil { streaming = dvm }
                return streaming == dvm && !event.content.isEmpty ? .partial(event.content) : .none
            case "payment-required":
                guard paid[dvm] == nil, let msats, let amount, amount.count > 2, !amount[2].isEmpty else {
                    if msats == nil { declined.append("\(dvm.prefix(8)): asked for payment without an amount") }
                    return .none
                }
                guard msats <= ceiling else {
                    declined.append("\(dvm.prefix(8)): asked \(msats) msats, over \(ceiling)")
                    if msats <= bidMsats { overBudget = true }
                    return .none
                }
                guard canPay else {
                    declined.append("\(dvm.prefix(8)): asked \(msats) msats and no wallet is configured")
                    return .none
                }
                paid[dvm] = msats
                return .pay(dvm: dvm, msats: msats, invoice: amount[2])
            case "error":
                let info = event.tags.first { $0.first == "status" }.flatMap { $0.count > 2 ? $0[2] : nil } ?? event.content
                declined.append("\(dvm.prefix(8)): error \(info)")
                return .none
            default:
                return .none
            }
        default:
            return .none
        }
    }

    /// The job's time ran out with no result.
    public mutating func timedOut() -> Action {
        guard !done else { return .none }
        done = true
        return .fail(declined.isEmpty ? "no DVM answered in time" : "no DVM answered in time; " + declined.joined(separator: "; "))
    }

    /// A payment made for `dvm` failed: its offer is withdrawn (another DVM may still answer).
    public mutating func paymentFailed(dvm: String, reason: String) {
        paid[dvm] = nil
        declined.append("\(dvm.prefix(8)): payment failed (\(reason))")
    }
}
