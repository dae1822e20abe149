import Foundation
public import SwitchboardCore
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A headless coding-agent CLI (Codex, Claude Code, Gemini CLI, `llm`, or any command printing text) as a provider:
/// each request runs the agent once, its answer streamed as the CLI prints it. The child gets the arguments as an
/// argv array and the prompt on standard input, an explicit environment, its own process group (ended on timeout and
/// when the client leaves), and at most `maxConcurrent` siblings.
public final class CLIAgentProvider: LLMProvider, Sendable {
    /// How the agent is run.
    public struct Options: Sendable {
        public var id: String
        public var preset: CLIAgentPreset
        /// The executable's path (found on `PATH` when the configuration named a command).
        public var executable: String
        /// A custom command's arguments, with `{prompt}` and `{model}` placeholders.
        public var arguments: [String] = []
        /// Where the agent runs.
        public var workdir: String?
        public var sandbox: String?
        /// The whole environment the child gets.
        public var environment: [String: String] = [:]
        public var timeout: Duration = .seconds(600)
        public var maxConcurrent = 2
        /// Requests that may wait for a free run; more are refused with a rate limit.
        public var maxQueued = 16
        /// After SIGTERM, how long the process group has before SIGKILL.
        public var killGrace: Duration = .seconds(2)
        /// The standard error kept for error messages.
        public var stderrTail = 8 << 10

        /// Options for `preset` at `executable`.
        public init(id: String, preset: CLIAgentPreset, executable: String) {
            self.id = id
            self.preset = preset
            self.executable = executable
        }
    }

    public let options: Options
    private let gate: ConcurrencyGate

    /// A provider with these options.
    public init(options: Options) {
        self.options = options
        gate = ConcurrencyGate(limit: max(1, options.maxConcurrent), queue: max(0, options.maxQueued))
    }

    public var id: String { options.id }
    public var displayName: String { "\(options.preset.rawValue) agent (\(options.id))" }
    public var capabilities: Set<Capability> { [.chat, .streaming] }
    public var isConfigured: Bool { FileManager.default.isExecutableFile(atPath: options.executable) }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        try await StreamAccumulator.collect(stream(request, context: context))
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        .producing { emit in
            try await self.gate.enter(provider: self.id)
            defer { self.gate.leave() }
            try await self.run(request, context: context, emit: emit)
        }
    }

    /// One run of the agent, bounded by the timeout; its events go to `emit` as they are decoded.
    private func run(_ request: ChatRequest, context: CallContext, emit: @escaping @Sendable (StreamEvent) -> Void) async throws {
        let session = options.preset.resumes ? CLIAgentTranslation.session(request, context: context) : nil
        let invocation = CLIAgentTranslation.invocation(
            options.preset, model: request.model, prompt: CLIAgentTranslation.prompt(request, resuming: session != nil), session: session,
            sandbox: options.sandbox, workdir: options.workdir, customArguments: options.arguments)
        let trace = context.trace
        let timeout = options.timeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.execute(invocation, model: request.model) { event in
                    if case .started(let id, _, _) = event, !id.isEmpty, self.options.preset.resumes { trace?.noteSession(id) }
                    emit(event)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ProviderError(.timeout, provider: self.id, message: "the agent did not finish within \(timeout)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func execute(_ invocation: CLIAgentInvocation, model: String, emit: @escaping @Sendable (StreamEvent) -> Void) async throws {
        var platform = PlatformOptions()
        // Its own session and process group: what the agent starts is ended with it.
        platform.createSession = true
        platform.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: options.killGrace)]
        let environment = childEnvironment
        let decoder = Mutex(options.preset.decoder(provider: id, model: model))
        let errors = TailBuffer(limit: options.stderrTail)
        let provider = id
        let result: ExecutionResult<Void, SequenceOutput, SequenceOutput>
        do {
            result = try await Subprocess.run(
                .path(FilePath(options.executable)), arguments: Arguments(invocation.arguments), environment: environment,
                workingDirectory: options.workdir.map { FilePath($0) }, platformOptions: platform,
                input: .array(Array((invocation.standardInput ?? "").utf8)), output: .sequence, error: .sequence
            ) { execution in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await chunk in execution.standardError { chunk.withUnsafeBytes { errors.append($0) } }
                    }
                    for try await chunk in execution.standardOutput {
                        let bytes = chunk.withUnsafeBytes { Array($0) }
                        for event in try decoder.withLock({ d throws(ProviderError) in try d.feed(bytes) }) { emit(event) }
                    }
                    try await group.waitForAll()
                }
            }
        } catch let error as ProviderError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ProviderError(.server(status: 502), provider: provider, message: "the agent could not be run: \(error)")
        }
        for event in try decoder.withLock({ d throws(ProviderError) in try d.finish() }) { emit(event) }
        let (complete, output) = decoder.withLock { ($0.isComplete, $0.hasOutput) }
        guard result.terminationStatus.isSuccess, complete else {
            let tail = Redaction.redact(errors.text.trimmingCharacters(in: .whitespacesAndNewlines))
            let how: String =
                switch result.terminationStatus {
                case .exited(0): "ended before its answer was complete"
                case .exited(let code): "exited with status \(code)"
                case .signaled(let signal): "was ended by signal \(signal)"
                }
            // Before any output another slot may answer; after it, the stream ends in error. What it printed on standard
            // error is for the gateway's log only.
            throw ProviderError(
                output ? .server(status: 502) : .server(status: 503), provider: provider, message: "the agent \(how)",
                diagnostic: tail.isEmpty ? nil : "stderr: \(tail)")
        }
    }

    /// The child's whole environment, as `NAME=value` C strings (each with its terminating NUL).
    private var childEnvironment: Environment {
        .custom(options.environment.map { Array("\($0.key)=\($0.value)".utf8) + [0] })
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        [ModelInfo(id: CLIAgentTranslation.defaultModel, provider: id, capabilities: capabilities)]
    }

    /// Healthy when the executable answers `--version`.
    public func health(context: CallContext) async -> ProviderHealth {
        let start = ContinuousClock.now
        guard isConfigured else {
            return ProviderHealth(status: .down, latency: .zero, message: "\(options.executable) is not an executable")
        }
        do {
            let result = try await withThrowingTaskGroup(of: TerminationStatus?.self) { group in
                group.addTask {
                    var platform = PlatformOptions()
                    platform.createSession = true
                    return try await Subprocess.run(
                        .path(FilePath(self.options.executable)), arguments: ["--version"],
                        environment: self.childEnvironment,
                        platformOptions: platform, output: .discarded
                    ).terminationStatus
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            guard let result else { return ProviderHealth(status: .down, latency: .now - start, message: "--version did not answer") }
            return ProviderHealth(
                status: result.isSuccess ? .healthy : .down, latency: .now - start,
                message: result.isSuccess ? nil : "--version exited with \(result)")
        } catch {
            return ProviderHealth(status: .down, latency: .now - start, message: "\(error)")
        }
    }
}

/// The last bytes of a stream, for an error message.
final class TailBuffer: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(_ more: UnsafeRawBufferPointer) {
        bytes.withLock { b in
            b.append(contentsOf: more)
            if b.count > limit { b.removeFirst(b.count - limit) }
        }
    }

    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// At most `limit` runs at once; up to `queue` more wait their turn (in order); beyond that, a rate limit.
final class ConcurrencyGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var next: UInt64 = 0
    }

    private let state = Mutex(State())
    let limit: Int
    let queue: Int

    init(limit: Int, queue: Int) {
        self.limit = limit
        self.queue = queue
    }

    func enter(provider: String) async throws {
        let ticket: UInt64? = try state.withLock { s throws(ProviderError) -> UInt64? in
            if s.running < limit {
                s.running += 1
                return nil
            }
            guard s.waiting.count < queue else {
                throw ProviderError(
                    .rateLimited(retryAfter: nil), provider: provider,
                    message: "every run of this agent is busy and \(queue) more are waiting")
            }
            s.next += 1
            return s.next
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let cancelled = state.withLock { s -> Bool in
                    if Task.isCancelled { return true }
                    s.waiting.append((ticket, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.waiting.firstIndex(where: { $0.id == ticket }) else { return nil }
                return s.waiting.remove(at: i).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Hands the run to the next waiter, or frees it.
    func leave() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.waiting.isEmpty {
                s.running -= 1
                return nil
            }
            return s.waiting.removeFirst().continuation
        }
        next?.resume()
    }
}
