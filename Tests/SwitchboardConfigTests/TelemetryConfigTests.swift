import SwitchboardConfig
import Testing

@Suite struct TelemetryConfigTests {
    @Test func telemetryIsReadAndTracesAreOffUntilACollectorIsNamed() throws {
        let config = try ConfigLoader.parse(
            """
            [telemetry]
            otlp_endpoint = "http://collector:4318"
            otlp_protocol = "http/json"
            service_name = "edge-gateway"
            capture_content = true
            """)
        let t = config.telemetry
        #expect(t.endpoint == "http://collector:4318" && t.otlpProtocol == .httpJSON)
        #expect(t.serviceName == "edge-gateway" && t.captureContent)
        #expect(t.tracesEnabled(environment: [:]))
        #expect(!t.tracesEnabled(environment: ["OTEL_SDK_DISABLED": "true"]))
        #expect(!t.tracesEnabled(environment: ["OTEL_TRACES_EXPORTER": "none"]))

        let none = TelemetrySettings()
        #expect(!none.tracesEnabled(environment: [:]) && !none.captureContent)
        #expect(none.tracesEnabled(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"]))
        #expect(none.tracesEnabled(environment: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"]))
        var off = TelemetrySettings()
        off.traces = false
        #expect(!off.tracesEnabled(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"]))
    }

    @Test func badTelemetrySettingsAreRefusedByName() {
        for (text, words) in [
            ("otlp_protocol = \"udp\"", "must be one of grpc, http/protobuf, http/json"),
            ("otlp_endpoint = \"collector:4318\"", "must be an http:// or https:// URL"),
            ("sample = 1", "unknown key 'telemetry.sample'"),
            ("capture_content = \"yes\"", "telemetry.capture_content"),
        ] {
            let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse("[telemetry]\n" + text) }
            #expect(error?.message.contains(words) == true, "\(String(describing: error?.message))")
        }
    }
}
