import ArgumentParser
import Foundation
import Switchboard
import SwitchboardStorage

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage the gateway's API keys (stored hashed).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print its secret once.")
        @OptionGroup var options: GatewayOptions
        @Option(name: .long, help: "A name for people.") var name: String
        @Option(name: .long, help: "The user the key belongs to.") var user: String?
        @Option(name: .long, help: "Comma-separated models the key may use (default: all).") var models: String?

        func run() async throws {
            try await reportingErrors {
                let store = try openStore(try options.load(quiet: true).config)
                let allowed = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
                let (record, secret) = try await store.createKey(name: name, user: user, allowedModels: allowed)
                Terminal.out(secret + "\n")
                Terminal.err("created \(record.id) (\(record.name)); the secret above is shown only now\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: GatewayOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await reportingErrors {
                let store = try openStore(try options.load(quiet: true).config)
                let keys = try await store.listKeys()
                let iso = ISO8601DateFormatter()
                if json {
                    Terminal.out(Terminal.json(.array(keys.map { k in
                        ["id": .string(k.id), "name": .string(k.name), "user": k.user.map(JSONValue.string) ?? .null,
                         "prefix": .string(k.prefix), "created_at": .string(iso.string(from: k.createdAt)),
                         "revoked": .bool(k.isRevoked),
                         "models": k.allowedModels.map { .array($0.map(JSONValue.string)) } ?? .null]
                    })))
                } else {
                    Terminal.out(Terminal.table(["ID", "NAME", "USER", "PREFIX", "CREATED", "STATUS", "MODELS"], keys.map { k in
                        [k.id, k.name, k.user ?? "-", k.prefix + "...", iso.string(from: k.createdAt),
                         k.isRevoked ? "revoked" : "active", k.allowedModels?.joined(separator: ",") ?? "all"]
                    }))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The key id (key_...).") var id: String

        func run() async throws {
            try await reportingErrors {
                let store = try openStore(try options.load(quiet: true).config)
                guard try await store.revokeKey(id: id) else { throw ValidationError("no key with id \(id)") }
                Terminal.err("revoked \(id)\n")
            }
        }
    }
}
