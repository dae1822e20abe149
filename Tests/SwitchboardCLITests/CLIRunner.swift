import Foundation
import SwitchboardTesting

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
        directory = ScratchFiles.url("sb-cli")
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
        let process = try ChildProcess(
            executable: Self.binary.path, arguments: arguments, environment: environment,
            directory: directory.path)
        if let stdin { try process.write(stdin) }
        process.closeStdin()
        let termination = await process.wait()
        let end = ContinuousClock.now
        let status: Int32 =
            switch termination {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        return Output(
            status: status, stdout: process.stdout, stderr: process.stderr,
            firstOutputBeforeExit: process.firstStdoutAt.map { end - $0 })
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
