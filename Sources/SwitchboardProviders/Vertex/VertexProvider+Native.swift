import SwitchboardCore
import Foundation

extension NativeProvider {
    /// `[providers.vertex]`: Gemini's generateContent with a service account's tokens.
    public static let vertex = NativeProvider(
        listing: .init(
            id: "vertex", name: "Google Vertex AI", keyVariables: "GOOGLE_APPLICATION_CREDENTIALS (service-account key file)",
            baseURL: "https://{location}-aiplatform.googleapis.com", note: "Gemini generateContent; RS256 JWT exchanged for cached tokens"),
        takesAPIKey: false, keys: [Key("key_file"), Key("project_id"), Key("location")]
    ) { setup in
        let section = setup.section
        guard let path = section.string("key_file") ?? setup.environment["GOOGLE_APPLICATION_CREDENTIALS"] else {
            return .failure(Unavailable("no key file: set [providers.vertex] key_file or GOOGLE_APPLICATION_CREDENTIALS"))
        }
        let expanded = setup.expand(path)
        guard let data = FileManager.default.contents(atPath: expanded) else {
            return .failure(Unavailable("cannot read the key file \(expanded)"))
        }
        let key: ServiceAccountKey
        do throws(ProviderError) { key = try ServiceAccountKey(json: data) } catch {
            return .failure(Unavailable("\(expanded): \(error.message)"))
        }
        var options = VertexProvider.Options(key: key, projectID: section.string("project_id") ?? setup.environment["GOOGLE_CLOUD_PROJECT"])
        options.location = section.string("location") ?? setup.environment["GOOGLE_CLOUD_LOCATION"] ?? "us-central1"
        options.baseURL = section.baseURL
        options.modelOverride = section.model
        guard !options.projectID.isEmpty else { return .failure(Unavailable("no project: set [providers.vertex] project_id")) }
        return .success(VertexProvider(options: options, transport: setup.transport))
    }
}
