import Logging
import OTel
import ServiceLifecycle
import Switchboard
import SwitchboardServer

/// The tracing `[telemetry]` and the `OTEL_*` environment ask for: the gateway's spans exported over OTLP by
/// swift-otel, and the service that batches and sends them (run beside the server, stopped after it so the last spans
/// go out); nil when traces are off.
func makeTracing(
    _ settings: TelemetrySettings, environment: [String: String], logger: Logger
) throws -> (tracing: RequestTracing, exporter: any Service)? {
    guard settings.tracesEnabled(environment: environment) else { return nil }
    var config = OTel.Configuration.default
    config.serviceName = settings.serviceName
    config.metrics.enabled = false
    config.logs.enabled = false
    config.diagnosticLogger = .custom(logger)
    config.diagnosticLogLevel = .warning
    let otlpProtocol = settings.otlpProtocol ?? .httpProtobuf
    switch otlpProtocol {
    case .grpc: config.traces.otlpExporter.protocol = .grpc
    case .httpProtobuf: config.traces.otlpExporter.protocol = .httpProtobuf
    case .httpJSON: config.traces.otlpExporter.protocol = .httpJSON
    }
    if let endpoint = settings.endpoint {
        // Like OTEL_EXPORTER_OTLP_ENDPOINT: a base URL, under which OTLP/HTTP sends traces to /v1/traces.
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        config.traces.otlpExporter.endpoint = otlpProtocol == .grpc ? base : base + "/v1/traces"
    }
    // The OTEL_* variables override what is set here, as the specification says.
    let backend = try OTel.makeTracingBackend(configuration: config)
    return (RequestTracing(tracer: backend.factory, captureContent: settings.captureContent), backend.service)
}
