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
        @Option(name: .long, help: "Requests per minute.") var rpm: Int?
        @Option(name: .long, help: "Tokens per minute (input + output).") var tpm: Int?
        @Option(name: .long, help: "Tokens per day (input + output).") var tpd: Int?
        @Option(name: .customLong("budget-usd"), help: "Spending limit in USD per budget period, e.g. 25 or 0.50.") var budgetUSD: String?
        @Option(name: .long, help: "Budget period: day or month (UTC).") var budgetPeriod: String = "month"
        @Flag(name: .long, help: "The key may also read the usage dashboard (/dashboard), as the master key may.") var admin = false

        func validate() throws {
            for (flag, value) in [("--rpm", rpm), ("--tpm", tpm), ("--tpd", tpd)] {
                if let value, value < 1 { throw ValidationError("\(flag) must be at least 1") }
            }
            if let budgetUSD, NanoUSD(usd: budgetUSD).map({ $0.value > 0 }) != true {
                throw ValidationError("--budget-usd must be a positive dollar amount with at most 9 decimals, not '\(budgetUSD)'")
            }
            guard ["day", "month"].contains(budgetPeriod) else { throw ValidationError("--budget-period must be day or month") }
        }

        func run() async throws {
            try await reportingErrors {
                let store = try await openStore(try options.load(quiet: true))
                let allowed = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
                var limits = UsageLimits(requestsPerMinute: rpm, tokensPerMinute: tpm, tokensPerDay: tpd)
                if let budget = budgetUSD.flatMap(NanoUSD.init(usd:)) {
                    if budgetPeriod == "day" { limits.budgetPerDay = budget } else { limits.budgetPerMonth = budget }
                }
                let (record, secret) = try await store.createKey(
                    NewAPIKey(name: name, user: user, allowedModels: allowed, limits: limits, scopes: admin ? [.admin] : []))
                Terminal.out(secret + "\n")
                Terminal.err("created \(record.id) (\(record.name)); the secret above is shown only now\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: GatewayOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        static func limitsJSON(_ l: UsageLimits) -> JSONValue {
            func n(_ v: Int?) -> JSONValue { v.map { .int(Int64($0)) } ?? .null }
            return [
                "rpm": n(l.requestsPerMinute), "tpm": n(l.tokensPerMinute), "tpd": n(l.tokensPerDay),
                "budget_nano_usd_per_day": l.budgetPerDay.map { .int($0.value) } ?? .null,
                "budget_nano_usd_per_month": l.budgetPerMonth.map { .int($0.value) } ?? .null,
            ]
        }

        static func limitsText(_ l: UsageLimits) -> String {
            var parts: [String] = []
            if let v = l.requestsPerMinute { parts.append("\(v) rpm") }
            if let v = l.tokensPerMinute { parts.append("\(v) tpm") }
            if let v = l.tokensPerDay { parts.append("\(v) tpd") }
            if let v = l.budgetPerDay { parts.append("\(v)/day") }
            if let v = l.budgetPerMonth { parts.append("\(v)/month") }
            return parts.isEmpty ? "none" : parts.joined(separator: ", ")
        }

        func run() async throws {
            try await reportingErrors {
                let store = try await openStore(try options.load(quiet: true))
                let keys = try await store.listKeys()
                let iso = ISO8601DateFormatter()
                if json {
                    Terminal.out(
                        Terminal.json(
                            .array(
                                keys.map { k in
                                    [
                                        "id": .string(k.id), "name": .string(k.name), "user": k.user.map(JSONValue.string) ?? .null,
                                        "prefix": .string(k.prefix), "created_at": .string(iso.string(from: k.createdAt)),
                                        "revoked": .bool(k.isRevoked),
                                        "models": k.allowedModels.map { .array($0.map(JSONValue.string)) } ?? .null,
                                        "limits": Self.limitsJSON(k.limits),
                                        "scopes": .array(k.scopes.map(\.rawValue).sorted().map(JSONValue.string)),
                                    ]
                                })))
                } else {
                    Terminal.out(
                        Terminal.table(
                            ["ID", "NAME", "USER", "PREFIX", "CREATED", "STATUS", "MODELS", "LIMITS"],
                            keys.map { k in
                                [
                                    k.id, k.name, k.user ?? "-", k.prefix + "...", iso.string(from: k.createdAt),
                                    k.isRevoked ? "revoked" : (k.scopes.contains(.admin) ? "active, admin" : "active"),
                                    k.allowedModels?.joined(separator: ",") ?? "all",
                                    Self.limitsText(k.limits),
                                ]
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
                let store = try await openStore(try options.load(quiet: true))
                guard try await store.revokeKey(id: id) else { throw ValidationError("no key with id \(id)") }
                Terminal.err("revoked \(id)\n")
            }
        }
    }
}
