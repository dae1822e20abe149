/// `[telemetry]`: OpenTelemetry traces. Off unless this section or the standard `OTEL_EXPORTER_OTLP_*` variables name
/// a collector; the other `OTEL_*` variables (sampler, headers, batch sizes) apply as the specification says.
public struct TelemetrySettings: Sendable, Hashable {
    /// How spans are sent to the collector.
    public enum OTLPProtocol: String, Sendable, Hashable, CaseIterable {
        case grpc
        case httpProtobuf = "http/protobuf"
        case httpJSON = "http/json"
    }

    /// `traces`: on or off explicitly; nil decides by whether a collector is named.
    public var traces: Bool?
    /// `otlp_endpoint`: the collector (`OTEL_EXPORTER_OTLP_ENDPOINT` and `..._TRACES_ENDPOINT` win over it).
    public var endpoint: String?
    /// `otlp_protocol` (`OTEL_EXPORTER_OTLP_PROTOCOL` wins over it).
    public var otlpProtocol: OTLPProtocol?
    /// `service_name` (`OTEL_SERVICE_NAME` wins over it).
    public var serviceName = "switchboard"
    /// `capture_content`: spans carry prompts and answers (off by default: they may hold personal data).
    public var captureContent = false

    /// Defaults: traces off unless a collector is named, no content.
    public init() {}

    /// Whether traces are on, given the environment: `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn them
    /// off; else `traces` decides, else whether a collector is named here or in the environment.
    public func tracesEnabled(environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        if environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none" { return false }
        if let traces { return traces }
        return endpoint != nil || environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil
            || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil || environment["OTEL_TRACES_EXPORTER"] != nil
    }
}

extension Reader {
    func readTelemetry(_ node: TOMLNode) throws(ConfigError) -> TelemetrySettings {
        var settings = TelemetrySettings()
        let t = "telemetry"
        for (k, v) in try entries(node, table: t, key: t) {
            let path = "telemetry.\(k)"
            switch k {
            case "traces": settings.traces = try bool(v, path, key: k, table: t)
            case "otlp_endpoint":
                let url = try string(v, path, key: k, table: t)
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw fail("'\(path)' must be an http:// or https:// URL, not '\(url)'", key: k, table: t)
                }
                settings.endpoint = url
            case "otlp_protocol": settings.otlpProtocol = try choice(v, path, key: k, table: t)
            case "service_name": settings.serviceName = try string(v, path, key: k, table: t)
            case "capture_content": settings.captureContent = try bool(v, path, key: k, table: t)
            default:
                throw fail(
                    "unknown key '\(path)' (expected traces, otlp_endpoint, otlp_protocol, service_name, capture_content)",
                    key: k, table: t)
            }
        }
        return settings
    }
}
