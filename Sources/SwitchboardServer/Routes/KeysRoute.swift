import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardStorage

/// `/v1/keys`: API keys managed over HTTP with the master key (what `switchboard keys` does on the store).
extension GatewayRoutes {
    private func requireMaster(_ context: GatewayRequestContext) throws {
        switch context.call.principal {
        case .master?, .anonymous?: return
        default:
            throw APIError(
                status: .forbidden, message: "managing keys needs the master key", type: "invalid_request_error",
                code: "master_key_required")
        }
    }

    static func keyObject(_ k: APIKeyRecord) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(k.id), "object": "api_key", "name": .string(k.name), "user": k.user.map(JSONValue.string) ?? .null,
            "prefix": .string(k.prefix), "created_at": .int(Int64(k.createdAt.timeIntervalSince1970)),
            "revoked_at": k.revokedAt.map { .int(Int64($0.timeIntervalSince1970)) } ?? .null,
            "models": k.allowedModels.map { .array($0.map(JSONValue.string)) } ?? .null,
            "scopes": .array(k.scopes.map(\.rawValue).sorted().map(JSONValue.string)),
        ]
        let l = k.limits
        o["limits"] = [
            "rpm": l.requestsPerMinute.map { .int(Int64($0)) } ?? .null, "tpm": l.tokensPerMinute.map { .int(Int64($0)) } ?? .null,
            "tpd": l.tokensPerDay.map { .int(Int64($0)) } ?? .null,
            "budget_usd_per_day": l.budgetPerDay.map { .string($0.usdString) } ?? .null,
            "budget_usd_per_month": l.budgetPerMonth.map { .string($0.usdString) } ?? .null,
        ]
        return .object(o)
    }

    /// `GET /v1/keys`: every key, revoked ones included (never a secret: only its hash is kept).
    func listKeys(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try requireMaster(context)
        let keys = try await store.listKeys()
        return jsonResponse(["object": "list", "data": .array(keys.map(Self.keyObject))])
    }

    /// `POST /v1/keys`: `{name, user?, models?, rpm?, tpm?, tpd?, budget_usd?, budget_period?, scopes?}`; the answer carries the
    /// secret, once.
    func createKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try requireMaster(context)
        var request = request
        let body = try await jsonBody(&request)
        typealias D = OpenAIChatRequestDecoding
        guard case .object = body, let name = try D.string(body["name"], "name"), !name.isEmpty, name.count <= 200 else {
            throw APIError.invalid("'name' is required: a string of 1 to 200 characters", param: "name")
        }
        var models: [String]?
        switch body["models"] {
        case nil, .null?: models = nil
        case .array(let items)? where items.allSatisfy({ ($0.stringValue?.isEmpty == false) }): models = items.compactMap(\.stringValue)
        default: throw APIError.invalid("'models' must be an array of model names", param: "models")
        }
        func count(_ field: String) throws -> Int? {
            guard let n = try D.integer(body[field], field) else { return nil }
            guard n > 0, n <= Int64(Int32.max) else { throw APIError.invalid("'\(field)' must be a positive integer", param: field) }
            return Int(n)
        }
        var limits = UsageLimits(requestsPerMinute: try count("rpm"), tokensPerMinute: try count("tpm"), tokensPerDay: try count("tpd"))
        if let budget = body["budget_usd"], budget != .null {
            let amount: NanoUSD? =
                switch budget {
                case .string(let s): NanoUSD(usd: s)
                case .int(let i): NanoUSD(usd: String(i))
                // A JSON number is binary and may be written with an exponent (1e-05): rounded to the nearest
                // nano-dollar rather than read through its text.
                case .double(let d) where d.isFinite && d.magnitude < 9e9: NanoUSD(Int64((d * 1e9).rounded()))
                default: nil
                }
            guard let amount, amount.value > 0, amount.value < 9_000_000_000 * 1_000_000_000 else {
                throw APIError.invalid(
                    "'budget_usd' must be a positive dollar amount under 9,000,000,000, with at most 9 decimals", param: "budget_usd")
            }
            switch try D.string(body["budget_period"], "budget_period") ?? "month" {
            case "day": limits.budgetPerDay = amount
            case "month": limits.budgetPerMonth = amount
            default: throw APIError.invalid("'budget_period' must be day or month", param: "budget_period")
            }
        }
        let user = try D.string(body["user"], "user")
        var scopes = Set<APIKeyScope>()
        switch body["scopes"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let scope = item.stringValue.flatMap(APIKeyScope.init(rawValue:)) else {
                    throw APIError.invalid("'scopes' may hold only \"admin\"", param: "scopes")
                }
                scopes.insert(scope)
            }
        default: throw APIError.invalid("'scopes' must be an array of scope names", param: "scopes")
        }
        let (record, secret) = try await store.createKey(
            NewAPIKey(name: name, user: user, allowedModels: models, limits: limits, scopes: scopes))
        guard case .object(var o) = Self.keyObject(record) else { return jsonResponse(Self.keyObject(record)) }
        o["secret"] = .string(secret)
        return jsonResponse(.object(o), status: .created)
    }

    /// `DELETE /v1/keys/{id}`: revokes the key (its records stay in the ledger).
    func revokeKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try requireMaster(context)
        let id = context.parameters.get("id") ?? ""
        guard try await store.revokeKey(id: id) else {
            throw APIError(
                status: .notFound, message: "No key with id '\(id)'.", type: "invalid_request_error", param: "id", code: "not_found")
        }
        return jsonResponse(["id": .string(id), "object": "api_key", "revoked": true])
    }
}
