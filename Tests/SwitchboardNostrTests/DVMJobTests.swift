import SwitchboardCore
import Testing

@testable import SwitchboardNostr

/// NIP-90 jobs and the relay protocol, without a relay: what a job request carries, and what the job's state decides
/// for each kind of DVM (free, paid, overpriced, erring, partial, silent).
@Suite struct DVMJobTests {
    static let customer = NostrSecretKey.generate()
    static let dvmA = NostrSecretKey.generate()
    static let dvmB = NostrSecretKey.generate()

    static func job() -> NostrEvent {
        var chat = ChatRequest(model: "llama3", messages: [.system("Be brief."), .user("Capital of France?")])
        chat.maxTokens = 64
        chat.temperature = 0.5
        return DVMJob.request(
            chat, .init(model: "llama3", bidMsats: 5000, relays: ["ws://127.0.0.1:6969"], preferred: [dvmA.publicKey.hex]),
            createdAt: 1_700_000_000, by: customer)
    }

    static func feedback(
        _ dvm: NostrSecretKey, _ status: String, job: String, amount: [String]? = nil, content: String = ""
    )
        -> NostrEvent
    {
        var tags = [["status", status], ["e", job], ["p", customer.publicKey.hex]]
        if let amount { tags.append(["amount"] + amount) }
        return NostrEvent.signed(kind: 7000, tags: tags, content: content, createdAt: 1_700_000_001, by: dvm)
    }

    static func result(_ dvm: NostrSecretKey, job: String, content: String, msats: Int64? = nil, amount: [String]? = nil) -> NostrEvent {
        var tags = [["e", job], ["p", customer.publicKey.hex]]
        if let msats { tags.append(["amount", String(msats)]) }
        if let amount { tags.append(["amount"] + amount) }
        return NostrEvent.signed(kind: 6050, tags: tags, content: content, createdAt: 1_700_000_002, by: dvm)
    }

    @Test func aChatRequestBecomesASignedKind5050Job() throws {
        let job = Self.job()
        try job.verify()
        #expect(job.kind == 5050 && job.pubkey == Self.customer.publicKey.hex)
        #expect(job.tags.contains(["i", "system: Be brief.\nuser: Capital of France?", "text"]))
        #expect(job.tags.contains(["param", "model", "llama3"]) && job.tags.contains(["param", "max_tokens", "64"]))
        #expect(job.tags.contains(["param", "temperature", "0.5"]) && job.tags.contains(["bid", "5000"]))
        #expect(job.tags.contains(["relays", "ws://127.0.0.1:6969"]) && job.tags.contains(["p", Self.dvmA.publicKey.hex]))
        #expect(DVMJob.prompt(ChatRequest(model: "m", messages: [.user("just this")])) == "just this")
        let again = ChatRequest(model: "m", messages: [.user("same")])
        let parameters = DVMJob.Parameters(model: nil, bidMsats: 1, relays: [])
        #expect(
            DVMJob.request(again, parameters, createdAt: 1, by: Self.customer).id
                != DVMJob.request(again, parameters, createdAt: 1, by: Self.customer).id,
            "equal requests in one second are two jobs")
    }

    @Test func theFirstResultWithinTheBidWinsAndLaterOnesAreIgnored() {
        let job = Self.job().id
        var state = DVMJobState(jobID: job, bidMsats: 5000, budgetMsats: 100_000, canPay: false)
        #expect(state.receive(Self.feedback(Self.dvmA, "processing", job: job)) == .none)
        #expect(state.receive(Self.result(Self.dvmB, job: "another job", content: "not ours")) == .none)
        #expect(state.receive(Self.result(Self.dvmB, job: job, content: "Paris, dearly", msats: 9000)) == .none)
        #expect(
            state.receive(Self.result(Self.dvmA, job: job, content: "Paris"))
                == .finish(dvm: Self.dvmA.publicKey.hex, content: "Paris", paid: 0, owed: 0, invoice: nil))
        #expect(state.receive(Self.result(Self.dvmB, job: job, content: "Paris too")) == .none)
        #expect(state.declined.count == 1 && state.declined[0].contains("9000 msats, over 5000"))
    }

    @Test func aPaymentIsMadeOnceWithinBidAndBudgetAndOnlyWithAWallet() {
        let job = Self.job().id
        var state = DVMJobState(jobID: job, bidMsats: 5000, budgetMsats: 3000, canPay: true)
        #expect(state.receive(Self.feedback(Self.dvmB, "payment-required", job: job, amount: ["4000", "lnbc40n1over"])) == .none)
        let pay = state.receive(Self.feedback(Self.dvmA, "payment-required", job: job, amount: ["2000", "lnbc20n1ok"]))
        #expect(pay == .pay(dvm: Self.dvmA.publicKey.hex, msats: 2000, invoice: "lnbc20n1ok"))
        #expect(state.receive(Self.feedback(Self.dvmA, "payment-required", job: job, amount: ["2000", "lnbc20n1ok"])) == .none)
        #expect(state.receive(Self.feedback(Self.dvmA, "partial", job: job, content: "Par")) == .partial("Par"))
        #expect(state.receive(Self.feedback(Self.dvmB, "partial", job: job, content: "Lon")) == .none, "one DVM streams")
        #expect(
            state.receive(Self.result(Self.dvmA, job: job, content: "Paris"))
                == .finish(dvm: Self.dvmA.publicKey.hex, content: "Paris", paid: 2000, owed: 0, invoice: nil))
        #expect(state.declined == ["\(Self.dvmB.publicKey.hex.prefix(8)): asked 4000 msats, over 3000"])

        var walletless = DVMJobState(jobID: job, bidMsats: 5000, budgetMsats: 100_000, canPay: false)
        #expect(walletless.receive(Self.feedback(Self.dvmA, "payment-required", job: job, amount: ["10", "lnbc1"])) == .none)
        #expect(
            walletless.timedOut()
                == .fail("no DVM answered in time; \(Self.dvmA.publicKey.hex.prefix(8)): asked 10 msats and no wallet is configured"))
    }

    @Test func aResultDeliveredBeforePaymentIsOwedItsInvoiceAndOnlyTheStreamingDVMMayFinish() {
        let job = Self.job().id
        var state = DVMJobState(jobID: job, bidMsats: 5000, budgetMsats: 100_000, canPay: true)
        #expect(state.receive(Self.feedback(Self.dvmB, "partial", job: job, content: "Lon")) == .partial("Lon"))
        #expect(state.receive(Self.result(Self.dvmA, job: job, content: "Paris", msats: 3000)) == .none)
        #expect(state.declined.last?.contains("after another DVM's partial text") == true)
        let late = Self.result(Self.dvmB, job: job, content: "London", amount: ["3000", "lnbc30n1late"])
        #expect(
            state.receive(late) == .finish(dvm: Self.dvmB.publicKey.hex, content: "London", paid: 0, owed: 3000, invoice: "lnbc30n1late"))
    }

    @Test func errorsAndSilenceEndInAFailureThatSaysWhy() {
        let job = Self.job().id
        var state = DVMJobState(jobID: job, bidMsats: 5000, budgetMsats: 5000, allowlist: [Self.dvmA.publicKey.hex], canPay: true)
        #expect(state.receive(Self.result(Self.dvmB, job: job, content: "not allowed")) == .none)
        #expect(state.receive(Self.feedback(Self.dvmA, "error", job: job, content: "model not loaded")) == .none)
        #expect(state.timedOut() == .fail("no DVM answered in time; \(Self.dvmA.publicKey.hex.prefix(8)): error model not loaded"))
        #expect(state.timedOut() == .none)
        var silent = DVMJobState(jobID: job, bidMsats: 1, budgetMsats: 1, canPay: false)
        #expect(silent.timedOut() == .fail("no DVM answered in time"))
    }

    @Test func relayMessagesReadAndWriteAsNIP01Says() throws {
        let job = Self.job()
        #expect(ClientMessage.close(subscription: "s1").text == #"["CLOSE","s1"]"#)
        let req = ClientMessage.request(
            subscription: "s1", filters: [NostrFilter(kinds: [6050, 7000], tags: ["e": [job.id]], since: 1_700_000_000)])
        let parsed = try Array(req.text.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0) }
        #expect(parsed[0] == "REQ" && parsed[2]?["#e"] == .array([.string(job.id)]) && parsed[2]?["kinds"] == [6050, 7000])
        let back = try RelayMessage(text: #"["EVENT","s1","# + job.json.jsonString() + "]")
        #expect(back == .event(subscription: "s1", job))
        #expect(
            try RelayMessage(text: #"["OK","abc",true,"duplicate: have it"]"#)
                == .ok(eventID: "abc", accepted: true, message: "duplicate: have it"))
        #expect(try RelayMessage(text: #"["EOSE","s1"]"#) == .endOfStoredEvents(subscription: "s1"))
        #expect(try RelayMessage(text: #"["AUTH","challenge-1"]"#) == .auth(challenge: "challenge-1"))
        #expect(
            try RelayMessage(text: #"["CLOSED","s1","auth-required: sign in"]"#)
                == .closed(subscription: "s1", message: "auth-required: sign in"))
        for bad in ["", "{}", #"["WHAT"]"#, #"["OK","x","yes"]"#, #"["EVENT","s1",{"id":1}]"#] {
            #expect(throws: NostrEventError.self) { try RelayMessage(text: bad) }
        }
        let filter = NostrFilter(kinds: [6050], tags: ["e": [job.id]])
        #expect(filter.matches(Self.result(Self.dvmA, job: job.id, content: "x")))
        #expect(!filter.matches(Self.result(Self.dvmA, job: "other", content: "x")))
        #expect(!filter.matches(Self.feedback(Self.dvmA, "processing", job: job.id)))
        let auth = NostrEvent.authentication(challenge: "c", relay: "ws://r", createdAt: 1, by: Self.customer)
        #expect(auth.kind == 22_242 && auth.tags == [["relay", "ws://r"], ["challenge", "c"]])
    }
}
