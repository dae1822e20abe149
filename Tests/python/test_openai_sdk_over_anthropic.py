"""The `openai` SDK against /v1/chat/completions served by the native Anthropic provider (the fake speaks
Anthropic's Messages API on /v1/messages): the translation both ways, streamed parallel tool calls included."""
import json

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
         {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}]


def test_chat_over_anthropic(client):
    r = client.chat.completions.create(model="anthropic/fake-model", messages=[{"role": "system", "content": "Be brief."},
                                                                               {"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "Hello from the fake upstream"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == 9 and r.usage.completion_tokens == 12


def test_streaming_over_anthropic(client):
    stream = client.chat.completions.create(model="anthropic/fake-model", messages=[{"role": "user", "content": "hi"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from the fake upstream"
    assert chunks[-1].usage.completion_tokens == 12


def test_streamed_parallel_tool_calls_over_anthropic(client):
    stream = client.chat.completions.create(model="anthropic/tool-model", tools=TOOLS, stream=True,
                                            messages=[{"role": "user", "content": "Weather and time in Paris?"}])
    calls = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for d in choice.delta.tool_calls or []:
                entry = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
                entry["id"] = d.id or entry["id"]
                entry["name"] = (d.function.name if d.function else None) or entry["name"]
                entry["arguments"] += (d.function.arguments or "") if d.function else ""
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())] == [
        ("call_weather", "get_weather", {"city": "Paris"}), ("call_time", "get_time", {"tz": "Europe/Paris"})]
    assert finish == "tool_calls"


def test_tool_round_trip_over_anthropic(client):
    first = client.chat.completions.create(model="anthropic/tool-model", tools=TOOLS,
                                           messages=[{"role": "user", "content": "Weather and time in Paris?"}])
    calls = first.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    history = [{"role": "user", "content": "Weather and time in Paris?"}, first.choices[0].message.model_dump(exclude_none=True)]
    history += [{"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in calls]
    second = client.chat.completions.create(model="anthropic/fake-model", tools=TOOLS, messages=history)
    assert second.choices[0].message.content == "Hello from the fake upstream"
