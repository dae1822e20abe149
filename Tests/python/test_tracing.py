"""OpenTelemetry traces from a live `switchboard serve`, received by a loopback OTLP collector (HTTP and gRPC), with
the upstream seeing the trace in its `traceparent` header."""
import json
import os
import subprocess
import tempfile
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import openai
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from conftest import BIN, MASTER_KEY, free_port, wait_for

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


class Collector:
    """The spans a collector received, flattened, with their attributes as plain values."""

    def __init__(self):
        self.spans = []
        self.raw = b""
        self.lock = threading.Lock()

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest, raw: bytes):
        with self.lock:
            self.raw += raw
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.spans.append(span)

    def wait(self, count: int, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.spans) >= count:
                    return list(self.spans)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} spans, got {len(self.spans)}")


def attributes(span) -> dict:
    out = {}
    for kv in span.attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [getattr(v, v.WhichOneof("value")) for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, kind)
    return out


def http_collector(collector: Collector) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.path == "/v1/traces", self.path
            assert self.headers["Content-Type"] == "application/x-protobuf"
            collector.add(trace_service_pb2.ExportTraceServiceRequest.FromString(body), body)
            answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def grpc_collector(collector: Collector):
    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            collector.add(request, request.SerializeToString())
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def upstream(seen: list) -> ThreadingHTTPServer:
    """An OpenAI-compatible upstream that notes each chat request's `traceparent` and answers in three words."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.reply(200, json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode())

        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(self.headers.get("traceparent"))
            usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
            if not request.get("stream"):
                message = {"role": "assistant", "content": "traced and answered"}
                body = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "usage": usage,
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
                self.reply(200, json.dumps(body).encode())
                return
            chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": w}}]}
                      for w in ["traced ", "and ", "streamed"]]
            chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            chunks.append({"choices": [], "usage": usage})
            payload = b"".join(
                b"data: " + json.dumps(dict(c, id="c1", object="chat.completion.chunk", created=1, model="m")).encode()
                + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
            self.reply(200, payload, "text/event-stream")

        def reply(self, status, body, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve(upstream_port: int, env: dict, telemetry: str = ""):
    work = tempfile.mkdtemp(prefix="sb-trace-")
    port = free_port()
    dead = free_port()  # nothing listens here: the lane's first slot fails to connect
    config = Path(work) / "switchboard.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n[store]\npath = "{work}/switchboard.db"\n\n'
        f'[[providers.openai_compat]]\nid = "dead"\nbase_url = "http://127.0.0.1:{dead}/v1"\napi_key = "sk-dead"\n\n'
        f'[[providers.openai_compat]]\nid = "up"\nbase_url = "http://127.0.0.1:{upstream_port}/v1"\n'
        f'api_key = "sk-upstream-secret"\n\n'
        f'[lanes.traced]\nmodels = ["dead/m", "up/m"]\nstrategy = "priority"\n\n'
        f'[pricing."up/m"]\ninput_per_million_usd = 1\noutput_per_million_usd = 2\n\n{telemetry}'
    )
    process = subprocess.Popen(
        [str(BIN / "switchboard"), "serve", "--config", str(config)], cwd=work,
        env=dict(os.environ, SWITCHBOARD_MASTER_KEY=MASTER_KEY, OTEL_BSP_SCHEDULE_DELAY="50", **env),
        stderr=subprocess.PIPE, text=True)
    wait_for(f"http://127.0.0.1:{port}/health", process=process)
    return process, port


def stop(process):
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def seen():
    headers = []
    server = upstream(headers)
    yield server.server_address[1], headers
    server.shutdown()


def test_a_streamed_request_that_fails_over_is_one_trace_with_both_attempts(seen):
    upstream_port, traceparents = seen
    collector = Collector()
    receiver = http_collector(collector)
    process, port = serve(upstream_port, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}"})
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=MASTER_KEY, max_retries=0)
        stream = client.chat.completions.create(
            model="lane:traced", messages=[{"role": "user", "content": "a private prompt"}], stream=True,
            stream_options={"include_usage": True},
            extra_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "traced and streamed"
        spans = [s for s in collector.wait(3) if s.trace_id.hex() == CLIENT_TRACE]
    finally:
        stop(process)
        receiver.shutdown()

    assert len(spans) == 3
    (request,) = [s for s in spans if s.kind == s.SPAN_KIND_SERVER]
    assert request.parent_span_id.hex() == CLIENT_SPAN
    assert request.name == "POST /v1/chat/completions"
    a = attributes(request)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "up"
    assert a["gen_ai.request.model"] == "lane:traced"
    assert a["gen_ai.response.model"] == "m"
    assert a["gen_ai.usage.input_tokens"] == 7 and a["gen_ai.usage.output_tokens"] == 3
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.time_to_first_chunk"] > 0
    assert a["switchboard.lane"] == "lane:traced"
    assert a["switchboard.attempts"] == 2
    assert a["switchboard.cost_nano_usd"] == 7 * 1000 + 3 * 2000
    assert a["http.response.status_code"] == 200
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a

    attempts = sorted((s for s in spans if s.kind == s.SPAN_KIND_CLIENT), key=lambda s: attributes(s)["switchboard.attempt"])
    assert [attributes(s)["gen_ai.provider.name"] for s in attempts] == ["dead", "up"]
    assert all(s.parent_span_id == request.span_id for s in attempts)
    failed, answered = attempts
    assert failed.status.code == failed.status.STATUS_CODE_ERROR
    assert attributes(failed)["error.type"] == "network"
    assert answered.status.code != answered.status.STATUS_CODE_ERROR
    assert attributes(answered)["gen_ai.request.model"] == "m"
    assert attributes(answered)["gen_ai.response.time_to_first_chunk"] > 0
    assert failed.end_time_unix_nano <= answered.start_time_unix_nano <= answered.end_time_unix_nano

    # The upstream that answered was told the trace, with its own attempt as the parent.
    assert traceparents == [f"00-{CLIENT_TRACE}-{answered.span_id.hex()}-01"]
    # No secret and, without capture_content, no prompt in what was exported.
    for secret in (MASTER_KEY, "sk-upstream-secret", "a private prompt"):
        assert secret.encode() not in collector.raw


def test_traces_go_over_grpc_and_carry_content_when_asked(seen):
    upstream_port, traceparents = seen
    collector = Collector()
    receiver, grpc_port = grpc_collector(collector)
    telemetry = (f'[telemetry]\notlp_endpoint = "http://127.0.0.1:{grpc_port}"\notlp_protocol = "grpc"\n'
                 f'capture_content = true\nservice_name = "gateway-under-test"\n')
    process, port = serve(upstream_port, {}, telemetry)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=MASTER_KEY, max_retries=0)
        answer = client.chat.completions.create(model="up/m", messages=[{"role": "user", "content": "say it"}])
        assert answer.choices[0].message.content == "traced and answered"
        spans = collector.wait(2)
    finally:
        stop(process)
        receiver.stop(None)

    (request,) = [s for s in spans if s.kind == s.SPAN_KIND_SERVER]
    (attempt,) = [s for s in spans if s.kind == s.SPAN_KIND_CLIENT]
    assert attempt.parent_span_id == request.span_id and attempt.trace_id == request.trace_id
    assert traceparents == [f"00-{request.trace_id.hex()}-{attempt.span_id.hex()}-01"]
    a = attributes(request)
    assert a["gen_ai.provider.name"] == "up" and a["gen_ai.request.stream"] is False
    assert json.loads(a["gen_ai.input.messages"]) == [{"role": "user", "parts": [{"type": "text", "content": "say it"}]}]
    output = json.loads(a["gen_ai.output.messages"])
    assert output[0]["parts"][0]["content"] == "traced and answered" and output[0]["finish_reason"] == "stop"
    assert b"gateway-under-test" in collector.raw


def test_without_a_collector_nothing_is_traced(seen):
    upstream_port, traceparents = seen
    process, port = serve(upstream_port, {})
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=MASTER_KEY, max_retries=0)
        client.chat.completions.create(
            model="up/m", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    finally:
        stop(process)
    # Off, the gateway neither starts spans nor forwards the client's trace header as its own.
    assert traceparents == [None]
