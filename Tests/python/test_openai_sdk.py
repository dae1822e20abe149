"""The official `openai` SDK, pointed at a live Switchboard, must work as a drop-in."""
import json

import openai
import pytest

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
                                      "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}},
]


def test_chat(client):
    r = client.chat.completions.create(model="fake/fake-model", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "Hello from the fake upstream"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == 9 and r.usage.completion_tokens == 12


def test_streaming_with_usage(client):
    stream = client.chat.completions.create(model="fake/fake-model", messages=[{"role": "user", "content": "hi"}],
                                            stream=True, stream_options={"include_usage": True})
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert text == "Hello from the fake upstream"
    assert finish == "stop"
    assert usage is not None and usage.total_tokens == 21


def test_tool_call_round_trip(client):
    first = client.chat.completions.create(model="fake/tool-model", tools=TOOLS,
                                           messages=[{"role": "user", "content": "Weather and time in Paris?"}])
    calls = first.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert first.choices[0].finish_reason == "tool_calls"
    history = [{"role": "user", "content": "Weather and time in Paris?"}, first.choices[0].message.model_dump(exclude_none=True)]
    history += [{"role": "tool", "tool_call_id": c.id, "content": "sunny" if i == 0 else "12:00"} for i, c in enumerate(calls)]
    second = client.chat.completions.create(model="fake/fake-model", tools=TOOLS, messages=history)
    assert second.choices[0].message.content == "Hello from the fake upstream"


def test_streamed_parallel_tool_calls_keep_order_and_arguments(client):
    stream = client.chat.completions.create(model="fake/tool-model", tools=TOOLS, stream=True,
                                            messages=[{"role": "user", "content": "both"}])
    calls = {}
    for chunk in stream:
        for choice in chunk.choices:
            for d in choice.delta.tool_calls or []:
                slot = calls.setdefault(d.index, {"id": None, "name": "", "args": ""})
                slot["id"] = d.id or slot["id"]
                slot["name"] += (d.function.name or "") if d.function else ""
                slot["args"] += (d.function.arguments or "") if d.function else ""
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["args"]) for i in sorted(calls)] == [{"city": "Paris"}, {"tz": "Europe/Paris"}]


def test_json_mode(client):
    r = client.chat.completions.create(model="fake/json-model", response_format={"type": "json_object"},
                                       messages=[{"role": "user", "content": "answer in JSON"}])
    assert json.loads(r.choices[0].message.content) == {"answer": 42}


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert "fake/fake-model" in ids and "fake/tool-model" in ids
    assert client.models.retrieve("fake/json-model").id == "fake/json-model"


def test_unknown_model_is_the_sdks_not_found_error(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="fake/missing-model", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 404
    assert info.value.code == "model_not_found"


def test_bad_key_is_the_sdks_authentication_error(gateway):
    bad = openai.OpenAI(base_url=gateway["base_url"], api_key="sk-sb-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="fake/fake-model", messages=[{"role": "user", "content": "hi"}])


def test_stream_broken_upstream_raises_in_the_sdk(client):
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="fake/drop-model", stream=True,
                                                messages=[{"role": "user", "content": "hi"}]):
            pass
