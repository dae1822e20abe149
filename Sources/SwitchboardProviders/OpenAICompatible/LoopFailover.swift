import NIOCore
import SwitchboardCore

/// A router's forwarded call run in callbacks on one event loop: each slot's `LoopForward` in turn, as the router's
/// `Walk` orders and judges them, until one answers. A slot that cannot run on the loop takes the rest of the walk into
/// a task. Its state is touched only on `loop` (the callbacks run there), hence unchecked.
final class LoopFailover: LoopForward, @unchecked Sendable {
    private let router: ProviderRouter
    private let client: ClientChatBody?
    private let loop: any EventLoop
    private var walk: ProviderRouter.Walk
    /// The first slot's step and its ready call.
    private let first: (step: ProviderRouter.Walk.Step, forward: any LoopForward)
    /// What stops the attempt under way.
    private var current: (@Sendable () -> Void)?
    private var stopped = false
    /// Counts the attempts begun on the loop.
    private var attempt = 0

    init(
        router: ProviderRouter, walk: ProviderRouter.Walk, first: (ProviderRouter.Walk.Step, any LoopForward), client: ClientChatBody?,
        loop: any EventLoop
    ) {
        self.router = router
        self.first = first
        self.walk = walk
        self.client = client
        self.loop = loop
    }

    func start(_ done: @escaping LoopForwardDone) -> @Sendable () -> Void {
        run(first.step, first.forward, done: done)
        return { self.stop() }
    }

    func abandon() {
        first.forward.abandon()
        walk.declined()
    }

    /// Runs `step` with its ready call; `done` gets the first answer or what the walk ends with.
    private func run(_ step: ProviderRouter.Walk.Step, _ forward: any LoopForward, done: @escaping LoopForwardDone) {
        attempt += 1
        let this = attempt
        let stop = forward.start { [self] result in
            switch result {
            case .success(let answer):
                walk.answered(step)
                walk.spent(step, usage: answer.usage)
                done(.success(answer))
            case .failure(let error):
                if let end = walk.failed(step, error) { done(.failure(end)) } else { next(done: done) }
            }
        }
        // An exchange can end before `start` returns, and the next attempt begin: only the latest is kept to stop.
        if attempt == this { current = stop }
    }

    /// The client left: the attempt under way is stopped, and no other begins.
    private func stop() {
        stopped = true
        current?()
    }

    private func next(done: @escaping LoopForwardDone) {
        guard !stopped else { return done(.failure(CancellationError())) }
        guard let step = walk.next() else { return done(.failure(walk.exhausted)) }
        if let forward = ProviderRouter.loopForward(step, client: client, on: loop) { return run(step, forward, done: done) }
        // This slot must wait for something first (or refused to be made ready here, which its own call says again).
        var walk = walk
        let (router, client, loop) = (router, client, loop)
        let task = Task {
            let result: Result<OpenAIChatBody, any Error>
            do {
                result = .success(
                    try await router.run(&walk, from: step, usage: \.usage) {
                        try await ProviderRouter.forwarded($0.slot, $0.request, client: client, context: $0.context)
                    })
            } catch {
                result = .failure(error)
            }
            loop.execute { done(result) }
        }
        attempt += 1
        current = { task.cancel() }
    }
}
