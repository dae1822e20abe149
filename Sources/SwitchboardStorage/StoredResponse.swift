public import Foundation

/// One response of the Responses API kept for `previous_response_id` and `GET /v1/responses/{id}`: its response
/// object and the input items it was generated from (earlier turns included), as JSON, owned by one API key.
public struct StoredResponse: Sendable, Hashable {
    /// The response id (`resp_...`).
    public var id: String
    /// The key that created it (its ledger key id; empty without keys): no other key can read it.
    public var owner: String
    public var createdAt: Date
    /// The response object as it was answered, JSON.
    public var body: [UInt8]
    /// The input items of the whole conversation up to this response, a JSON array.
    public var inputItems: [UInt8]

    /// Creates a stored response.
    public init(id: String, owner: String, createdAt: Date, body: [UInt8], inputItems: [UInt8]) {
        self.id = id
        self.owner = owner
        self.createdAt = createdAt
        self.body = body
        self.inputItems = inputItems
    }
}

/// Where stored responses live: the gateway's SQLite or PostgreSQL store, so replicas share them.
public protocol ResponseStore: Sendable {
    /// Keeps `response`, and removes responses created before `retainedSince` (the retention period).
    func storeResponse(_ response: StoredResponse, retainedSince: Date?) async throws
    /// The response `id` if `owner` created it and it was created at or after `retainedSince`.
    func storedResponse(id: String, owner: String, retainedSince: Date?) async throws -> StoredResponse?
    /// Deletes the response `id` of `owner`; false when there was none (or it had outlived the retention period).
    func deleteResponse(id: String, owner: String, retainedSince: Date?) async throws -> Bool
}
