import Foundation
public import SwitchboardCore

/// Where a secret comes from: the value itself, or `env:NAME` for an environment variable.
public enum SecretSource: Sendable, Hashable {
    case literal(String)
    case env(String)

    /// Parses `env:NAME` or a literal value.
    public init(_ text: String) {
        if text.hasPrefix("env:") { self = .env(String(text.dropFirst(4))) } else { self = .literal(text) }
    }
}

/// A `[providers.ID]` section as read from the configuration: the keys every section takes, and the provider's own
/// (already checked against its `NativeProvider.keys`, or a registry row's tiers).
public struct ProviderSection: Sendable, Hashable {
    /// A value of a provider's own key.
    public enum Value: Sendable, Hashable {
        case string(String)
        case int(Int)
        case strings([String])
    }

    public var id: String
    public var apiKey: SecretSource?
    public var baseURL: String?
    /// Model used for every request to this provider.
    public var model: String?
    public var enabled = true
    /// The provider's own keys (`num_ctx`, `region`, `tier`, ...).
    public var values: [String: Value] = [:]
    /// Its own timeouts; unset ones are the server's.
    public var timeouts = UpstreamTimeouts()
    /// Where the section starts, for messages; nil when the file has no such section.
    public var line: Int?

    /// A section with nothing set.
    public init(id: String, line: Int? = nil) {
        self.id = id
        self.line = line
    }

    /// A string key's value.
    public func string(_ key: String) -> String? {
        if case .string(let s)? = values[key] { s } else { nil }
    }

    /// An integer key's value.
    public func int(_ key: String) -> Int? {
        if case .int(let i)? = values[key] { i } else { nil }
    }

    /// A list key's values (a single string is a list of one).
    public func strings(_ key: String) -> [String]? {
        switch values[key] {
        case .strings(let list)?: list
        case .string(let s)?: [s]
        default: nil
        }
    }

    /// Whether a URL has user-info (`user:password@host`): such a URL would be quoted with its password.
    public static func carriesCredentials(_ url: String) -> Bool {
        guard let u = URL(string: url) else { return false }
        return u.user != nil || u.password != nil
    }
}

/// A provider with its own wire format and authentication, as the configuration and `switchboard providers` see it:
/// its listing, the keys its section takes, and how it is built. Each lives in its provider's folder; `all` lists
/// them.
public struct NativeProvider: Sendable {
    /// One line of `switchboard providers`.
    public struct Listing: Sendable {
        public let id: String
        public let name: String
        public let keyVariables: String
        public let baseURL: String
        public let note: String
    }

    /// A key of the provider's own in its section.
    public struct Key: Sendable {
        public enum Kind: Sendable {
            case string
            case int(ClosedRange<Int>)
            case strings
        }

        public let name: String
        public let kind: Kind

        /// A key and what its value must be.
        public init(_ name: String, _ kind: Kind = .string) {
            self.name = name
            self.kind = kind
        }
    }

    /// Why a provider was not built, for a person (naming what is missing, never a secret).
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public let description: String

        /// Says what is missing.
        public init(_ description: String) {
            self.description = description
        }
    }

    /// What building a provider gets.
    public struct Setup: Sendable {
        public var section: ProviderSection
        public var environment: [String: String]
        public var transport: any HTTPTransport
        /// The user's home directory, for `~/` paths and default credential files.
        public var home: String

        /// A setup.
        public init(section: ProviderSection, environment: [String: String], transport: any HTTPTransport, home: String) {
            self.section = section
            self.environment = environment
            self.transport = transport
            self.home = home
        }

        /// `path` with a leading `~/` made the home directory.
        public func expand(_ path: String) -> String {
            path.hasPrefix("~/") ? home + path.dropFirst(1) : path
        }
    }

    public let listing: Listing
    /// Whether the section takes `api_key` (the providers that read credential files do not).
    public let takesAPIKey: Bool
    /// The section's keys besides `api_key`, `base_url`, `model` and `enabled`.
    public let keys: [Key]
    /// Builds the provider, or says what is missing. Without a section in the file (`section.line == nil`), a
    /// provider is built only when the environment says it is there.
    public let make: @Sendable (Setup) -> Result<any LLMProvider, Unavailable>
    /// Puts the provider together with the others once all are built (the swarm's local and hybrid modes answer from
    /// another provider); nil keeps it as built.
    public var compose:
        (
            @Sendable (_ section: ProviderSection, _ built: any LLMProvider, _ all: [any LLMProvider]) -> Result<
                any LLMProvider, Unavailable
            >
        )?

    public var id: String { listing.id }

    /// Every native provider of this build, in the order they are tried when the file names no provider.
    public static let all: [NativeProvider] = [.anthropic, .ollama, .bedrock, .vertex, .copilot, .qwenOAuth, .swarm]

    /// The native provider with this id.
    public static func named(_ id: String) -> NativeProvider? {
        all.first { $0.id == id }
    }

    /// Every key the section takes, for messages.
    public var allowedKeys: [String] {
        (takesAPIKey ? ["api_key"] : []) + ["base_url", "model", "enabled"] + keys.map(\.name)
    }

    /// The section's `api_key`, else the first of `variables` that is set; nil when none is.
    static func credential(_ setup: Setup, variables: [String]) -> Result<String?, Unavailable> {
        switch setup.section.apiKey {
        case .literal(let key)?: return .success(key)
        case .env(let name)?:
            guard let value = setup.environment[name] else { return .failure(Unavailable("\(name) is not set")) }
            return .success(value)
        case nil: return .success(variables.lazy.compactMap { setup.environment[$0] }.first)
        }
    }
}
