"""The official `anthropic` SDK against the gateway's /v1/messages, served by the OpenAI-compatible fake."""
import anthropic
import pytest


@pytest.fixture
def claude(gateway):
    return anthropic.Anthropic(base_url=gateway["root"], api_key=gateway["key"], max_retries=0)


def test_messages_create(claude):
    message = claude.messages.create(model="fake/fake-model", max_tokens=64, system="Be brief.",
                                     messages=[{"role": "user", "content": "Hello"}])
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text == "Hello from the fake upstream"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 9 and message.usage.output_tokens == 12


def test_messages_stream(claude):
    with claude.messages.stream(model="fake/fake-model", max_tokens=64,
                                messages=[{"role": "user", "content": "Hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello from the fake upstream"
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 12


def test_tool_use_round_trip(claude):
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
             {"name": "get_time", "description": "Time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}]
    first = claude.messages.create(model="fake/tool-model", max_tokens=64, tools=tools,
                                   messages=[{"role": "user", "content": "Weather and time in Paris?"}])
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Europe/Paris"})]
    second = claude.messages.create(model="fake/fake-model", max_tokens=64, tools=tools, messages=[
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": "ok"} for u in uses]},
    ])
    assert second.content[0].text == "Hello from the fake upstream"


def test_streamed_parallel_tool_calls_keep_order_and_arguments(claude):
    with claude.messages.stream(model="fake/tool-model", max_tokens=64,
                                tools=[{"name": "get_weather", "input_schema": {"type": "object"}},
                                       {"name": "get_time", "input_schema": {"type": "object"}}],
                                messages=[{"role": "user", "content": "both"}]) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(u.id, u.name, u.input) for u in uses] == [
        ("call_weather", "get_weather", {"city": "Paris"}), ("call_time", "get_time", {"tz": "Europe/Paris"})]
    assert final.stop_reason == "tool_use"


def test_errors_are_the_sdks_exceptions(claude, gateway):
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="fake/missing-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=gateway["root"], api_key="sk-sb-wrong", max_retries=0).messages.create(
            model="fake/fake-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.BadRequestError) as bad:
        claude.messages.create(model="fake/fake-model", max_tokens=8, messages=[])
    assert "messages" in str(bad.value)


def test_a_broken_stream_raises(claude):
    with pytest.raises(anthropic.APIError):
        with claude.messages.stream(model="fake/drop-model", max_tokens=8, messages=[{"role": "user", "content": "x"}]) as stream:
            for _ in stream.text_stream:
                pass


def test_count_tokens_is_an_estimate(claude):
    counted = claude.messages.count_tokens(model="fake/fake-model", messages=[{"role": "user", "content": "hello there"}])
    assert counted.input_tokens > 0
