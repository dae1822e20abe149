import Foundation
import SwitchboardCore
import SwitchboardNostr

extension SwarmProvider {
    /// One job, from publishing the request to the winning result: DVMs' events go through `DVMJobState`, which
    /// decides; this pays, passes text on, and ends.
    func run(_ request: ChatRequest, context: CallContext, emit: @escaping @Sendable (StreamEvent) -> Void) async throws {
        await pool.start()
        let deadline = min(context.deadline, .now + options.timeout)
        let model = request.model.isEmpty || request.model == "any" ? nil : request.model
        let job = DVMJob.request(
            request, DVMJob.Parameters(model: model, bidMsats: options.bidMsats, relays: options.relays, preferred: Array(options.dvms)),
            createdAt: Int64(Date().timeIntervalSince1970), by: options.key)
        let subscription = "job-" + job.id.prefix(16)
        let events = await pool.subscribe(
            subscription, filters: [NostrFilter(kinds: [DVMJob.resultKind, DVMJob.feedbackKind], tags: ["e": [job.id]])])
        var answered = false
        defer {
            let pool = pool
            let key = options.key
            let answered = answered
            Task {
                await pool.close(subscription)
                // A job nobody will wait for is withdrawn (NIP-09), so DVMs stop working on it.
                guard !answered else { return }
                let withdrawal = NostrEvent.signed(
                    kind: 5, tags: [["e", job.id], ["k", String(DVMJob.requestKind)]], content: "the client left or the job timed out",
                    createdAt: Int64(Date().timeIntervalSince1970), by: key)
                _ = await pool.publish(withdrawal, timeout: .seconds(5))
            }
        }
        let remaining = try await budget.remaining()
        guard remaining > 0 else {
            throw ProviderError(
                .budgetExceeded, provider: id, message: "the swarm has spent its budget of \(options.budgetMsats ?? 0) msats")
        }
        guard await pool.publish(job, timeout: min(deadline - .now, .seconds(10))) > 0 else {
            throw ProviderError(.network, provider: id, message: "no relay accepted the job")
        }
        emit(.started(id: job.id, model: model ?? "any", provider: id))
        var state = DVMJobState(
            jobID: job.id, bidMsats: options.bidMsats, budgetMsats: remaining, allowlist: options.dvms,
            canPay: wallet != nil)
        var streamed = ""
        let timer = Task {
            try? await Task.sleep(until: deadline)
            await pool.close(subscription)
        }
        defer { timer.cancel() }
        for await event in events {
            switch state.receive(event) {
            case .none: continue
            case .partial(let text):
                streamed += text
                emit(.textDelta(text))
            case .pay(let dvm, let msats, let invoice):
                do {
                    _ = try await pay(invoice, msats: msats, context: context)
                } catch {
                    state.paymentFailed(dvm: dvm, reason: "\(error)")
                }
            case .finish(_, let content, let before, let owed, let invoice):
                var total = before
                if owed > 0, let invoice, wallet != nil {
                    // Delivered before it was paid: pay what it asks, within the bid, as promised.
                    do { total += try await pay(invoice, msats: owed, context: context) } catch {
                        context.logger.warning(
                            "could not pay a DVM that answered before it was paid", metadata: ["provider": "\(id)", "error": "\(error)"])
                    }
                }
                let rest = content.hasPrefix(streamed) ? String(content.dropFirst(streamed.count)) : (streamed.isEmpty ? content : "")
                if !rest.isEmpty { emit(.textDelta(rest)) }
                var usage = Usage()
                usage.reportedMsats = total
                emit(.usage(usage))
                emit(.finish(.stop))
                answered = true
                return
            case .fail(let why):
                throw ProviderError(.timeout, provider: id, message: why)
            }
        }
        try Task.checkCancellation()
        if case .fail(let why) = state.timedOut() {
            // Only the budget stood between a DVM and the job: say so, as a budget error (a cheaper lane may help).
            throw ProviderError(state.overBudget ? .budgetExceeded : .timeout, provider: id, message: why)
        }
        throw ProviderError(.timeout, provider: id, message: "no DVM answered in time")
    }

    /// Pays `invoice` for `msats` after checking it asks exactly that, on the configured network, unexpired, within the
    /// budget; the wallet's preimage must open the invoice's payment hash. Returns what was paid.
    func pay(_ invoice: String, msats: Int64, context: CallContext) async throws -> Int64 {
        guard let wallet else { throw ProviderError(.invalidRequest, provider: id, message: "no wallet is configured") }
        let parsed = try Bolt11Invoice(invoice)
        try parsed.check(msats: msats, network: options.network, now: Int64(Date().timeIntervalSince1970))
        guard try await budget.reserve(msats) else {
            throw ProviderError(.budgetExceeded, provider: id, message: "paying \(msats) msats would pass the swarm's budget")
        }
        do {
            let payment = try await wallet.pay(
                invoice: invoice, amountMsats: parsed.amountMsats == nil ? msats : nil, timeout: options.paymentTimeout)
            guard parsed.isPaid(byHex: payment.preimage) else {
                context.logger.error("the wallet's preimage does not match the invoice", metadata: ["provider": "\(id)"])
                return msats
            }
            context.logger.info(
                "paid a DVM", metadata: ["provider": "\(id)", "msats": "\(msats)", "fees_msats": "\(payment.feesPaidMsats)"])
            return msats
        } catch  where error.code == "TIMEOUT" {
            // The wallet may still pay a request it received: the reservation stands.
            throw error
        } catch {
            do { try await budget.refund(msats) } catch let refund {
                // The payment's error is the caller's; a reservation kept by mistake only tightens the budget, said here.
                context.logger.error(
                    "could not give back an unpaid reservation; the swarm's budget counts it as spent",
                    metadata: ["provider": "\(id)", "msats": "\(msats)", "error": "\(refund)"])
            }
            throw error
        }
    }
}
