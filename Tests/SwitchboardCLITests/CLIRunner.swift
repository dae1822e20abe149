import Foundation
import Synchronization

/// Runs the built `switchboard` binary as a user would.
struct CLIRunner {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Time from the first stdout byte to the process exit.
        var firstOutputBeforeExit: Duration?
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["SWITCHBOARD_BIN"] { return URL(fileURLWithPath: path) }
        return packageRoot.appendingPathComponent(".build/debug/switchboard")
    }

    let directory: URL
    var environment: [String: String]

    /// A runner in a fresh temporary directory with a minimal environment.
    init(config: String?, environment: [String: String] = [:]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let config {
            try config.write(to: directory.appendingPathComponent("switchboard.toml"), atomically: true, encoding: .utf8)
        }
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": directory.path]
        env.merge(environment) { $1 }
        self.environment = env
    }

    func run(_ arguments: [String], stdin: String? = nil) async throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw CLIRunnerError.noBinary(Self.binary.path)
        }
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let collected = Mutex<(Data, Data, ContinuousClock.Instant?)>((Data(), Data(), nil))
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            collected.withLock { c in
                if c.2 == nil, !d.isEmpty { c.2 = .now }
                c.0.append(d)
            }
        }
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            collected.withLock { $0.1.append(d) }
        }
        let (exited, exitContinuation) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in exitContinuation.yield(); exitContinuation.finish() }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        for await _ in exited {}
        let end = ContinuousClock.now
        // Drain what is left after exit.
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        let restOut = out.fileHandleForReading.readDataToEndOfFile()
        let restErr = err.fileHandleForReading.readDataToEndOfFile()
        let (o, e, first) = collected.withLock { c in
            (c.0 + restOut, c.1 + restErr, c.2)
        }
        return Output(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self), firstOutputBeforeExit: first.map { end - $0 })
    }
}

enum CLIRunnerError: Error, CustomStringConvertible {
    case noBinary(String)
    var description: String {
        switch self {
        case .noBinary(let p): "no switchboard binary at \(p): run `swift build` first (scripts/test does)"
        }
    }
}
