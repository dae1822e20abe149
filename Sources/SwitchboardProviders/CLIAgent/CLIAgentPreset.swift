public import SwitchboardCore

/// The headless protocols of the coding-agent CLIs a `cli_agent` provider drives.
public enum CLIAgentPreset: String, Sendable, Hashable, CaseIterable {
    /// `codex exec --json`: JSON lines of thread, turn and item events.
    case codex
    /// `claude -p --output-format stream-json --verbose`: system, assistant, user and result messages.
    case claude
    /// `gemini --output-format stream-json`: init, message, tool and result events.
    case gemini
    /// Simon Willison's `llm`: the answer as plain text.
    case llm
    /// Any command that prints its answer as plain text.
    case custom

    /// The sandbox (or permission) modes the preset's CLI takes; empty when it has none.
    public var sandboxes: [String] {
        switch self {
        case .codex: ["read-only", "workspace-write", "danger-full-access"]
        case .claude: ["default", "acceptEdits", "plan", "bypassPermissions"]
        case .gemini, .llm, .custom: []
        }
    }

    /// The command a preset runs when the configuration names none.
    public var defaultCommand: String {
        switch self {
        case .codex: "codex"
        case .claude: "claude"
        case .gemini: "gemini"
        case .llm: "llm"
        case .custom: ""
        }
    }

    /// Whether the CLI keeps sessions a later request can resume.
    public var resumes: Bool { self == .codex || self == .claude }
}

/// One run of an agent CLI: its arguments (an argv array, never a shell line) and what goes to its standard input.
public struct CLIAgentInvocation: Sendable, Hashable {
    public var arguments: [String]
    /// The prompt, when it goes by standard input (always, except for a custom command that places `{prompt}` itself).
    public var standardInput: String?

    /// An invocation.
    public init(arguments: [String], standardInput: String?) {
        self.arguments = arguments
        self.standardInput = standardInput
    }
}

/// Pure translation of a chat request into an agent CLI's invocation.
public enum CLIAgentTranslation {
    /// The model name that leaves the choice to the CLI's own configuration.
    public static let defaultModel = "default"

    /// What the agent is asked: with a session to resume, the newest user message alone (the agent has the rest);
    /// else the system text, then the conversation as a transcript ending with the newest user message.
    public static func prompt(_ request: ChatRequest, resuming: Bool) -> String {
        let lastUser = request.messages.lastIndex { $0.role == .user }
        if resuming, let lastUser { return request.messages[lastUser].text }
        let system = request.messages.filter { $0.role == .system || $0.role == .developer }.map(\.text).joined(separator: "\n\n")
        let turns = request.messages.filter { $0.role != .system && $0.role != .developer }
        var parts: [String] = []
        if !system.isEmpty { parts.append(system) }
        if turns.count == 1, let only = turns.first {
            parts.append(only.text)
        } else if !turns.isEmpty {
            let transcript = turns.map { m -> String in
                switch m.role {
                case .assistant: "Assistant: \(m.text)"
                case .tool: "Tool result: \(m.text)"
                default: "User: \(m.text)"
                }
            }
            parts.append("The conversation so far:\n\n" + transcript.joined(separator: "\n\n"))
        }
        return parts.joined(separator: "\n\n")
    }

    /// The session the request asks to resume: the context's (from `x-switchboard-session`), else `metadata.session`.
    public static func session(_ request: ChatRequest, context: CallContext) -> String? {
        if let s = context.session, !s.isEmpty { return s }
        if let s = request.passthrough["metadata"]?["session"]?.stringValue, !s.isEmpty { return s }
        return nil
    }

    /// The invocation for `preset` with the settings of one provider.
    public static func invocation(
        _ preset: CLIAgentPreset, model: String, prompt: String, session: String?, sandbox: String?, workdir: String?,
        customArguments: [String] = []
    ) -> CLIAgentInvocation {
        let model: String? = model.isEmpty || model == defaultModel ? nil : model
        switch preset {
        case .codex:
            var args = ["exec", "--json", "--skip-git-repo-check"]
            if let sandbox { args += ["--sandbox", sandbox] }
            if let workdir { args += ["--cd", workdir] }
            if let model { args += ["--model", model] }
            // `-` reads the prompt from standard input, whatever its length or content.
            if let session { args += ["resume", session] }
            return CLIAgentInvocation(arguments: args + ["-"], standardInput: prompt)
        case .claude:
            var args = ["-p", "--output-format", "stream-json", "--verbose"]
            if let sandbox { args += ["--permission-mode", sandbox] }
            if let model { args += ["--model", model] }
            if let session { args += ["--resume", session] }
            return CLIAgentInvocation(arguments: args, standardInput: prompt)
        case .gemini:
            var args = ["--output-format", "stream-json"]
            if let model { args += ["--model", model] }
            return CLIAgentInvocation(arguments: args, standardInput: prompt)
        case .llm:
            var args = ["prompt"]
            if let model { args += ["--model", model] }
            return CLIAgentInvocation(arguments: args, standardInput: prompt)
        case .custom:
            // Each placeholder fills one argument; nothing is ever given to a shell.
            let placesPrompt = customArguments.contains { $0.contains("{prompt}") }
            let args = customArguments.map {
                $0.replacingOccurrences(of: "{model}", with: model ?? defaultModel).replacingOccurrences(of: "{prompt}", with: prompt)
            }
            return CLIAgentInvocation(arguments: args, standardInput: placesPrompt ? nil : prompt)
        }
    }
}
