"""Writes stream_tools.eventstream.hex: ConverseStream events (payloads as documented in
shared/reference/bedrock.md §4) framed per §5 with CRCs from zlib, independently of the Swift encoder.
One frame per line, hex. Run: python3 frame.py > stream_tools.eventstream.hex"""
import json, struct, zlib

def header(name, value):
    n, v = name.encode(), value.encode()
    return struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v

def frame(event_type, payload):
    headers = header(":event-type", event_type) + header(":content-type", "application/json") + header(":message-type", "event")
    body = json.dumps(payload, separators=(",", ":")).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))

events = [
    ("messageStart", {"role": "assistant", "p": "abcdefgh"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Weather, then time."}}}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqQBCkYI"}}}),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Let me "}, "p": "ab"}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "check."}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    ("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"city\":"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("contentBlockStart", {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "tooluse_2", "name": "get_time"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{\"tz\":\"Europe/Paris\"}"}}}),
    ("contentBlockStop", {"contentBlockIndex": 3}),
    ("messageStop", {"stopReason": "tool_use", "additionalModelResponseFields": {"stop_sequence": None}}),
    ("metadata", {"usage": {"inputTokens": 412, "outputTokens": 57, "totalTokens": 469, "cacheReadInputTokens": 300, "cacheWriteInputTokens": 0},
                  "metrics": {"latencyMs": 1234}}),
]
for event_type, payload in events:
    print(frame(event_type, payload).hex())
