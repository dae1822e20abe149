import Foundation
import SwitchboardCore

/// The JSON-text columns of a stored key, shared by both stores so they read and write the same shapes.
struct KeyColumns {
    var models: String?
    var limits: String?
    /// The scopes, comma-separated; nil for none.
    var scopes: String?

    init(models: String?, limits: String?, scopes: String?) {
        self.models = models
        self.limits = limits
        self.scopes = scopes
    }

    init(_ record: APIKeyRecord) throws {
        models = try record.allowedModels.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        limits = record.limits.isUnlimited ? nil : String(decoding: try JSONEncoder().encode(record.limits), as: UTF8.self)
        scopes = record.scopes.isEmpty ? nil : record.scopes.map(\.rawValue).sorted().joined(separator: ",")
    }

    func record(id: String, name: String, user: String?, prefix: String, createdAt: Date, revokedAt: Date?) throws -> APIKeyRecord {
        let allowed = try models.map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        let limits = try self.limits.map { try JSONDecoder().decode(UsageLimits.self, from: Data($0.utf8)) } ?? .unlimited
        // A scope this build does not know (written by a newer one) grants nothing here.
        let scopes = Set((self.scopes ?? "").split(separator: ",").compactMap { APIKeyScope(rawValue: String($0)) })
        return APIKeyRecord(
            id: id, name: name, user: user, prefix: prefix, createdAt: createdAt, revokedAt: revokedAt,
            allowedModels: allowed, limits: limits, scopes: scopes)
    }
}
