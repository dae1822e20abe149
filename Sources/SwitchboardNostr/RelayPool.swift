import Foundation
import HummingbirdWSClient
public import Logging
import NIOCore

/// Several Nostr relays at once over WebSockets (swift-websocket's client): events published to every relay with
/// their `OK`s counted, subscriptions sent to every relay and sent again after a reconnect (with backoff), each
/// received event verified, matched against its filters and delivered once however many relays carry it, and NIP-42
/// challenges answered with the pool's key. Queues are bounded: a relay that is down keeps at most `queueLimit`
/// messages for when it is back, and a subscriber that falls behind loses the oldest events first.
public actor RelayPool {
    /// How the pool connects.
    public struct Settings: Sendable {
        public var relays: [String]
        /// The longest text frame read from a relay.
        public var maxMessageBytes = 1 << 20
        /// Messages kept for a relay that is down.
        public var queueLimit = 1024
        /// Events kept for a subscriber that has not read them.
        public var bufferLimit = 1024
        /// The first wait before reconnecting; doubled after each failed attempt up to `maxBackoff`.
        public var backoff: Duration = .milliseconds(250)
        public var maxBackoff: Duration = .seconds(30)

        /// Settings for `relays`.
        public init(relays: [String]) {
            self.relays = relays
        }
    }

    private struct Subscription {
        var filters: [NostrFilter]
        /// Which subscription under this id it is (a new one may take the id of one that ended).
        var generation: Int
        var continuation: AsyncStream<NostrEvent>.Continuation
        /// Ids delivered already (bounded: the oldest are forgotten first).
        var seen: Set<String> = []
        var order: [String] = []
        /// A query's: it ends once every connected relay has sent its stored events.
        var endsAtStored: Bool
        var stored: Set<String> = []
    }

    private struct Publication {
        var accepted: Set<String> = []
        var answered: Set<String> = []
        var waiter: CheckedContinuation<Int, Never>?
    }

    private let settings: Settings
    private let key: NostrSecretKey?
    private let logger: Logger
    private var writers: [String: WebSocketOutboundWriter] = [:]
    private var queued: [String: [String]] = [:]
    private var subscriptions: [String: Subscription] = [:]
    private var publications: [String: Publication] = [:]
    private var tasks: [Task<Void, Never>] = []
    private var generations = 0
    /// Unix seconds, for the events the pool signs.
    private let now: @Sendable () -> Int64

    /// A pool over `settings.relays`, signing NIP-42 answers with `key` when relays ask; `start` connects.
    public init(
        _ settings: Settings, key: NostrSecretKey?, logger: Logger,
        now: (@Sendable () -> Int64)? = nil
    ) {
        self.settings = settings
        self.key = key
        self.logger = logger
        self.now = now ?? { Int64(Date().timeIntervalSince1970) }
    }

    /// Connects to every relay, and keeps reconnecting until `stop`.
    public func start() {
        guard tasks.isEmpty else { return }
        for relay in settings.relays {
            tasks.append(Task { await self.keepConnected(relay) })
        }
    }

    /// Closes every connection and ends every subscription.
    public func stop() {
        for task in tasks { task.cancel() }
        tasks.removeAll()
        for (_, subscription) in subscriptions { subscription.continuation.finish() }
        subscriptions.removeAll()
        for id in publications.keys { finishPublication(id) }
    }

    /// The relays connected now.
    public var connected: [String] { Array(writers.keys).sorted() }

    /// Publishes `event` to every relay and waits up to `timeout` for their answers: the number that accepted it
    /// (`duplicate:` counts as accepted).
    public func publish(_ event: NostrEvent, timeout: Duration) async -> Int {
        publications[event.id] = Publication()
        await broadcast(ClientMessage.event(event).text)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.finishPublication(event.id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            if publications[event.id] == nil {
                continuation.resume(returning: 0)
            } else {
                publications[event.id]?.waiter = continuation
                settlePublication(event.id)
            }
        }
    }

    /// Events matching any of `filters`, verified and delivered once each, until `close` (or `stop`).
    public func subscribe(_ id: String, filters: [NostrFilter]) async -> AsyncStream<NostrEvent> {
        await open(id, filters: filters, endsAtStored: false)
    }

    private func open(_ id: String, filters: [NostrFilter], endsAtStored: Bool) async -> AsyncStream<NostrEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: NostrEvent.self, bufferingPolicy: .bufferingNewest(settings.bufferLimit))
        generations += 1
        let generation = generations
        subscriptions[id]?.continuation.finish()
        subscriptions[id] = Subscription(filters: filters, generation: generation, continuation: continuation, endsAtStored: endsAtStored)
        await broadcast(ClientMessage.request(subscription: id, filters: filters).text)
        // A subscriber that stops reading ends the subscription, unless a newer one has taken its id meanwhile.
        continuation.onTermination = { _ in Task { await self.close(id, generation: generation) } }
        return stream
    }

    /// The stored events matching `filters`, collected until every connected relay has sent all it has (`EOSE`), or
    /// until `timeout` when one does not say.
    public func query(_ filters: [NostrFilter], timeout: Duration) async -> [NostrEvent] {
        let id = "q-" + Hex.encode(Secp256k1.randomBytes(8))
        let events = await open(id, filters: filters, endsAtStored: true)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            await self.close(id)
        }
        defer { timer.cancel() }
        var found: [NostrEvent] = []
        for await event in events { found.append(event) }
        return found
    }

    /// Ends a subscription at every relay.
    public func close(_ id: String) async {
        await close(id, generation: nil)
    }

    private func close(_ id: String, generation: Int?) async {
        guard let current = subscriptions[id], generation == nil || current.generation == generation,
            let subscription = subscriptions.removeValue(forKey: id)
        else { return }
        subscription.continuation.finish()
        await broadcast(ClientMessage.close(subscription: id).text)
    }

    // MARK: connections

    private func keepConnected(_ relay: String) async {
        var wait = settings.backoff
        while !Task.isCancelled {
            do {
                try await WebSocketClient.connect(url: relay, logger: logger) { inbound, outbound, _ in
                    await self.connected(relay, outbound)
                    for try await message in inbound.messages(maxSize: self.settings.maxMessageBytes) {
                        if case .text(let text) = message { await self.received(text, from: relay) }
                    }
                }
                wait = settings.backoff
            } catch {
                logger.debug("relay connection failed", metadata: ["relay": "\(relay)", "error": "\(error)"])
            }
            disconnected(relay)
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: wait)
            wait = min(wait * 2, settings.maxBackoff)
        }
    }

    private func connected(_ relay: String, _ writer: WebSocketOutboundWriter) async {
        // What the relay must hear again after a reconnect: every open subscription, then what waited for it, in order;
        // what is sent meanwhile queues behind it until the writer is in place.
        for (id, subscription) in subscriptions {
            await write(ClientMessage.request(subscription: id, filters: subscription.filters).text, with: writer, to: relay)
        }
        while let queue = queued.removeValue(forKey: relay), !queue.isEmpty {
            for text in queue { await write(text, with: writer, to: relay) }
        }
        writers[relay] = writer
    }

    private func disconnected(_ relay: String) {
        writers[relay] = nil
        for id in publications.keys where publications[id]?.answered.contains(relay) == false {
            publications[id]?.answered.insert(relay)
            settlePublication(id)
        }
    }

    /// Sends `text` to every connected relay, in the caller's order, and queues it for the others.
    private func broadcast(_ text: String) async {
        for relay in settings.relays {
            if let writer = writers[relay] {
                await write(text, with: writer, to: relay)
            } else {
                var queue = queued[relay, default: []]
                if queue.count >= settings.queueLimit { queue.removeFirst() }
                queue.append(text)
                queued[relay] = queue
            }
        }
    }

    private func write(_ text: String, with writer: WebSocketOutboundWriter, to relay: String) async {
        do { try await writer.write(.text(text)) } catch {
            logger.debug("relay write failed", metadata: ["relay": "\(relay)", "error": "\(error)"])
        }
    }

    // MARK: messages

    private func received(_ text: String, from relay: String) async {
        let message: RelayMessage
        do { message = try RelayMessage(text: text) } catch {
            logger.debug("unreadable relay message", metadata: ["relay": "\(relay)", "error": "\(error)"])
            return
        }
        switch message {
        case .event(let id, let event):
            deliver(event, to: id, from: relay)
        case .ok(let eventID, let accepted, _):
            guard publications[eventID] != nil else { return }
            publications[eventID]?.answered.insert(relay)
            if accepted { publications[eventID]?.accepted.insert(relay) }
            settlePublication(eventID)
        case .auth(let challenge):
            guard let key else { return }
            let answer = NostrEvent.authentication(
                challenge: challenge, relay: relay, createdAt: now(), by: key)
            if let writer = writers[relay] { await write(ClientMessage.auth(answer).text, with: writer, to: relay) }
        case .closed(let id, let reason):
            logger.debug("relay closed a subscription", metadata: ["relay": "\(relay)", "subscription": "\(id)", "reason": "\(reason)"])
        case .endOfStoredEvents(let id):
            guard subscriptions[id]?.endsAtStored == true else { return }
            subscriptions[id]?.stored.insert(relay)
            if let stored = subscriptions[id]?.stored, Set(writers.keys).isSubset(of: stored) { await close(id) }
        case .notice:
            break
        }
    }

    private func deliver(_ event: NostrEvent, to id: String, from relay: String) {
        guard var subscription = subscriptions[id], !subscription.seen.contains(event.id) else { return }
        guard subscription.filters.contains(where: { $0.matches(event) }) else { return }
        do { try event.verify() } catch {
            logger.debug("relay sent an event that does not verify", metadata: ["relay": "\(relay)", "error": "\(error)"])
            return
        }
        subscription.seen.insert(event.id)
        subscription.order.append(event.id)
        if subscription.order.count > 4 * settings.bufferLimit { subscription.seen.remove(subscription.order.removeFirst()) }
        subscriptions[id] = subscription
        subscription.continuation.yield(event)
    }

    private func settlePublication(_ id: String) {
        guard let publication = publications[id], publication.waiter != nil else { return }
        if Set(settings.relays).isSubset(of: publication.answered) { finishPublication(id) }
    }

    private func finishPublication(_ id: String) {
        guard let publication = publications.removeValue(forKey: id) else { return }
        publication.waiter?.resume(returning: publication.accepted.count)
    }
}
