import Foundation
public import SwitchboardProviders

/// A `[[providers.cli_agent]]` section: a headless coding-agent CLI as a provider.
public struct CLIAgentSection: Sendable, Hashable {
    public var id: String
    public var preset: CLIAgentPreset
    /// The executable: a path, or a name looked up on `PATH`; the preset's own name when unset.
    public var command: String?
    /// A custom command's arguments, with `{prompt}` and `{model}` placeholders.
    public var arguments: [String] = []
    /// Where the agent runs (`~` expanded); checked to exist when the file is read.
    public var workdir: String?
    public var timeoutSeconds = 600.0
    public var maxConcurrent = 2
    public var maxQueued = 16
    public var sandbox: String?
    /// The environment variables passed through to the agent, by name.
    public var environment: [String] = []
    public var line: Int?
}

extension Reader {
    func readCLIAgent(_ node: TOMLNode, occurrence n: Int) throws(ConfigError) -> CLIAgentSection {
        let home = NSHomeDirectory()
        let table = "providers.cli_agent"
        var section = CLIAgentSection(id: "", preset: .custom, line: source.headerLine(table, occurrence: n))
        var preset: CLIAgentPreset?
        var id: String?
        for (k, v) in try entries(node, table: table, key: "cli_agent", occurrence: n) {
            let path = "providers.cli_agent[\(n)].\(k)"
            func strings() throws(ConfigError) -> [String] {
                guard case .array(let items) = v else {
                    throw fail("'\(path)' must be an array of strings", key: k, table: table, occurrence: n)
                }
                var out: [String] = []
                for item in items { out.append(try string(item, path, key: k, table: table, occurrence: n)) }
                return out
            }
            switch k {
            case "id": id = try string(v, path, key: k, table: table, occurrence: n)
            case "preset": preset = try choice(v, path, key: k, table: table)
            case "command": section.command = try string(v, path, key: k, table: table, occurrence: n)
            case "args": section.arguments = try strings()
            case "workdir":
                let raw = try string(v, path, key: k, table: table, occurrence: n)
                let dir = raw == "~" ? home : raw.hasPrefix("~/") ? home + raw.dropFirst(1) : raw
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw fail("'\(path)' must be a directory that exists, not '\(raw)'", key: k, table: table, occurrence: n)
                }
                section.workdir = dir
            case "timeout_seconds":
                section.timeoutSeconds = try seconds(v, path, key: k, table: table, occurrence: n, range: 0.1...86_400).inSeconds
            case "max_concurrent": section.maxConcurrent = try int(v, path, key: k, table: table, range: 1...256)
            case "max_queued": section.maxQueued = try int(v, path, key: k, table: table, range: 0...10_000)
            case "sandbox": section.sandbox = try string(v, path, key: k, table: table, occurrence: n)
            case "env":
                section.environment = try strings()
                for name in section.environment where name.isEmpty || name.contains("=") {
                    throw fail("'\(path)' names variables; '\(name)' is not a name", key: k, table: table, occurrence: n)
                }
            default:
                throw fail(
                    "unknown key '\(path)' (expected id, preset, command, args, workdir, timeout_seconds, max_concurrent, max_queued, "
                        + "sandbox, env)", key: k, table: table, occurrence: n)
            }
        }
        guard let id, !id.isEmpty, !id.contains("/") else {
            throw ConfigError(file: source.file, line: section.line, message: "providers.cli_agent[\(n)] needs an 'id' without '/'")
        }
        guard let preset else {
            throw ConfigError(
                file: source.file, line: section.line,
                message:
                    "providers.cli_agent[\(n)] ('\(id)') needs a 'preset' (\(CLIAgentPreset.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        if let sandbox = section.sandbox, !preset.sandboxes.contains(sandbox) {
            let allowed = preset.sandboxes.isEmpty ? "none (this preset has no sandbox)" : preset.sandboxes.joined(separator: ", ")
            throw ConfigError(
                file: source.file, line: section.line,
                message: "providers.cli_agent[\(n)].sandbox must be one of \(allowed), not '\(sandbox)'")
        }
        if preset == .custom, section.command == nil {
            throw ConfigError(
                file: source.file, line: section.line, message: "providers.cli_agent[\(n)] ('\(id)') with preset custom needs a 'command'")
        }
        if preset != .custom, !section.arguments.isEmpty {
            throw ConfigError(file: source.file, line: section.line, message: "providers.cli_agent[\(n)].args is for preset custom only")
        }
        section.id = id
        section.preset = preset
        return section
    }
}
