"""The repository's own Python client (clients/python) against a live gateway over the fake upstream."""
import asyncio

import pytest
from switchboard_client import (AsyncSwitchboard, AuthenticationError, BadRequestError, BudgetExceededError, NotFoundError,
                                PermissionDeniedError, RateLimitError, ServerError, Switchboard)

SENTENCE = "My name is Sarah Jessica Parker and I live in London."


@pytest.fixture
def sb(gateway):
    with Switchboard(gateway["root"], gateway["key"]) as client:
        yield client


def test_every_task(sb):
    r = sb.text_generation("Once upon a time", model="fake/fake-model", parameters={"max_new_tokens": 20})
    assert r["output"][0]["generated_text"] == "Hello from the fake upstream"
    assert r.inference_id and r.request_id and r.cost_usd is None and r.cost_nano_usd is None  # the fake model is unpriced
    assert sb.summarization("A long article.", model="fake/fake-model")["output"]["summary_text"]
    assert sb.translation("Bonjour", target_language="English", model="fake/fake-model")["output"]["translation_text"]
    c = sb.conversational("And now?", past_user_inputs=["Hi"], generated_responses=["Hello"], model="fake/fake-model")
    assert c["conversation"]["past_user_inputs"] == ["Hi", "And now?"]
    qa = sb.question_answering("Where do I live?", SENTENCE, model="fake/qa-model")["output"]
    assert SENTENCE[qa["start"]:qa["end"]] == "London"
    assert [l["label"] for l in sb.text_classification("I love this!", model="fake/classify-model")["output"]] == ["POSITIVE", "NEGATIVE"]
    assert [e["entity_group"] for e in sb.token_classification(SENTENCE, model="fake/ner-model")["output"]] == ["PER", "LOC"]
    assert sb.run("summarization", "text", model="fake/fake-model")["task"] == "summarization"
    # No provider here embeds or paints: the gateway says so, as a typed error.
    with pytest.raises(BadRequestError):
        sb.embedding("hello", model="fake/fake-model")
    with pytest.raises(BadRequestError) as image:
        sb.image_generation("a cat", model="fake/fake-model")
    assert "image-generation" in image.value.message


def test_streaming_text_generation(sb):
    events = list(sb.text_generation_stream("Say hi", model="fake/fake-model"))
    assert "".join(e["token"]["text"] for e in events[:-1]) == "Hello from the fake upstream"
    assert events[-1]["generated_text"] == "Hello from the fake upstream"


def test_models_mapping_cost_usage_and_lanes(sb):
    assert sb.map_model("summarization", "acme/client-summarizer", "fake/fake-model")["success"] is True
    listed = sb.models(task_type="summarization")["models"]
    assert {"model_id": "fake/fake-model", "hub_model_id": "acme/client-summarizer", "task_type": "summarization"} in listed
    cost = sb.calculate_cost([{"model": "fake/fake-model", "input_tokens": 100, "output_tokens": 50}])
    assert cost["costs"][0]["priced"] is False
    for _ in range(3):
        sb.summarization("text", model="fake/fake-model")
    records = list(sb.usage(page_size=2))
    assert len(records) >= 3 and len({r["request_id"] for r in records}) == len(records)
    assert sb.lanes()["object"] == "list"


def test_keys_and_typed_errors(sb, gateway):
    created = sb.create_key("client-test", user="ann", models=["fake/fake-model"], rpm=1, budget_usd="5")
    secret, key_id = created["secret"], created["id"]
    assert created.data["limits"]["rpm"] == 1
    assert any(k["id"] == key_id and "secret" not in k for k in sb.list_keys()["data"])
    with Switchboard(gateway["root"], secret) as limited:
        first = limited.summarization("x", model="fake/fake-model")
        assert first.rate_limit is not None and first.rate_limit.limit == 1 and first.rate_limit.remaining == 0
        with pytest.raises(RateLimitError) as limit:
            limited.summarization("x", model="fake/fake-model")
        assert limit.value.status == 429 and limit.value.retry_after and limit.value.retry_after > 0
        with pytest.raises(PermissionDeniedError):
            limited.list_keys()
    assert sb.revoke_key(key_id)["revoked"] is True
    with pytest.raises(NotFoundError):
        sb.revoke_key("no-such-key")
    with Switchboard(gateway["root"], "sk-sb-wrong") as wrong, pytest.raises(AuthenticationError):
        wrong.summarization("x", model="fake/fake-model")
    # A budget a few requests at the priced model spend: then the next is refused until the day is over.
    poor = sb.create_key("client-poor", budget_usd="1", budget_period="day")["secret"]
    with Switchboard(gateway["root"], poor) as limited, pytest.raises(BudgetExceededError) as budget:
        for _ in range(20):
            assert limited.summarization("x", model="fake/json-model", parameters={"max_new_tokens": 1}).cost_nano_usd > 0
    assert budget.value.status == 429 and budget.value.code == "budget_exceeded"
    with pytest.raises(ServerError) as broken:
        sb.summarization("x", model="fake/drop-model")
    assert broken.value.status == 502
    with pytest.raises(NotFoundError):
        sb.summarization("x", model="fake/missing-model")


def test_the_async_client(gateway):
    async def main():
        async with AsyncSwitchboard(gateway["root"], gateway["key"]) as sb:
            r = await sb.summarization("A long article.", model="fake/fake-model")
            assert r["output"]["summary_text"] == "Hello from the fake upstream" and r.inference_id
            tokens = [e async for e in sb.text_generation_stream("Say hi", model="fake/fake-model")]
            assert tokens[-1]["generated_text"] == "Hello from the fake upstream"
            records = [r async for r in sb.usage(page_size=1)]
            assert len(records) >= 1
            with pytest.raises(BadRequestError):
                await sb.text_generation("", model="fake/fake-model")
    asyncio.run(main())


def test_retries_honour_retry_after():
    import httpx
    answers = [httpx.Response(429, headers={"retry-after": "0"}, json={"error": {"message": "slow down", "type": "rate_limit_error",
                                                                            "code": "rate_limit_exceeded"}}),
               httpx.Response(503, json={"error": "Service unavailable", "error_type": "ServiceUnavailable"}),
               httpx.Response(200, headers={"x-switchboard-cost-usd": "0.01"}, json={"output": {"summary_text": "ok"}})]
    seen = []

    def handler(request):
        seen.append(request)
        return answers[len(seen) - 1]

    with Switchboard("http://gateway.test", "sk", max_retries=2, http_client=httpx.Client(transport=httpx.MockTransport(handler))) as sb:
        r = sb.summarization("x", model="m")
    assert r["output"]["summary_text"] == "ok" and r.cost_usd == "0.01" and len(seen) == 3
    seen.clear()
    with Switchboard("http://gateway.test", "sk", max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(handler))) as sb:
        with pytest.raises(RateLimitError) as error:
            sb.summarization("x", model="m")
    assert error.value.retry_after == 0 and len(seen) == 1
