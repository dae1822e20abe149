"""The `openai` SDK's Responses API against /v1/responses, served by the fake OpenAI-compatible upstream and by the
native Anthropic provider (the same fake speaks Anthropic's Messages API), with the conversation kept by the gateway."""
import json
import subprocess

import openai
import pytest
from pydantic import BaseModel

from conftest import BIN

TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
         {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}]


def test_text(client):
    r = client.responses.create(model="fake/fake-model", input="hi", instructions="Be brief.")
    assert r.output_text == "Hello from the fake upstream"
    assert r.status == "completed" and r.id.startswith("resp_")
    assert r.usage.input_tokens == 9 and r.usage.output_tokens == 12 and r.usage.total_tokens == 21


@pytest.mark.parametrize("model", ["fake/fake-model", "anthropic/fake-model"])
def test_streamed_text_and_the_final_response(client, model):
    with client.responses.stream(model=model, input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "Hello from the fake upstream"
    assert final.output_text == "Hello from the fake upstream" and final.status == "completed"
    assert client.responses.retrieve(final.id).output_text == final.output_text


@pytest.mark.parametrize("model", ["fake/tool-model", "anthropic/tool-model"])
def test_parallel_function_calls_and_their_round_trip(client, model):
    first = client.responses.create(model=model, input="Weather and time in Paris?", tools=TOOLS)
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_weather", "get_weather", {"city": "Paris"}), ("call_time", "get_time", {"tz": "Europe/Paris"})]
    outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": "ok"} for c in calls]
    second = client.responses.create(model=model.replace("tool-model", "fake-model"), input=outputs, tools=TOOLS,
                                     previous_response_id=first.id)
    assert second.output_text == "Hello from the fake upstream"


def test_streamed_parallel_calls_are_whole_when_done(client):
    with client.responses.stream(model="fake/tool-model", input="Weather and time?", tools=TOOLS) as stream:
        done = [e.item for e in stream if e.type == "response.output_item.done"]
        final = stream.get_final_response()
    assert [(i.name, json.loads(i.arguments)) for i in done] == [("get_weather", {"city": "Paris"}),
                                                                ("get_time", {"tz": "Europe/Paris"})]
    assert [i.call_id for i in final.output] == ["call_weather", "call_time"]


class Answer(BaseModel):
    answer: int


def test_json_schema_output(client):
    r = client.responses.parse(model="fake/json-model", input="The answer?", text_format=Answer)
    assert r.output_parsed == Answer(answer=42)


def test_three_turns_over_two_providers(client, gateway):
    one = client.responses.create(model="fake/fake-model", input="one")
    two = client.responses.create(model="anthropic/fake-model", input="two", previous_response_id=one.id)
    three = client.responses.create(model="fake/fake-model", input="three", previous_response_id=two.id)
    items = list(client.responses.input_items.list(three.id, order="asc"))
    texts = [part.text for item in items for part in item.content]
    assert texts == ["one", "Hello from the fake upstream", "two", "Hello from the fake upstream", "three"]
    assert three.previous_response_id == two.id


def test_another_keys_response_is_not_found_and_store_false_is_not_kept(client, gateway):
    secret = subprocess.run([str(BIN / "switchboard"), "keys", "create", "--config", gateway["config"], "--name", "other"],
                            cwd=gateway["work"], capture_output=True, text=True, check=True).stdout.strip()
    other = openai.OpenAI(base_url=gateway["base_url"], api_key=secret, max_retries=0)
    mine = client.responses.create(model="fake/fake-model", input="mine")
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(openai.BadRequestError):
        other.responses.create(model="fake/fake-model", input="x", previous_response_id=mine.id)
    unstored = client.responses.create(model="fake/fake-model", input="x", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    client.responses.delete(mine.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(mine.id)


def test_a_broken_stream_ends_with_a_failed_response_never_a_completed_one(client):
    with client.responses.stream(model="fake/drop-model", input="x") as stream:
        events = list(stream)
        with pytest.raises(RuntimeError):
            stream.get_final_response()
    assert events[-1].type == "response.failed"
    assert events[-1].response.status == "failed" and events[-1].response.error.code == "server_error"
    assert "response.completed" not in [e.type for e in events]


def test_input_tokens_count(client):
    counted = client.responses.input_tokens.count(model="fake/fake-model", input="hello there")
    assert counted.input_tokens > 0


def test_a_provider_that_serves_the_responses_api_gets_hosted_tools_and_the_gateway_keeps_the_state(client):
    first = client.responses.create(model="native/fake-model", input="search", tools=[{"type": "web_search"}])
    assert [item.type for item in first.output] == ["web_search_call", "message"]
    assert first.output_text == "Hello from the fake upstream"
    with client.responses.stream(model="native/fake-model", input="again", previous_response_id=first.id) as stream:
        final = stream.get_final_response()
    assert final.output_text == "Hello from the fake upstream" and final.previous_response_id == first.id
    assert client.responses.retrieve(final.id).output_text == final.output_text
