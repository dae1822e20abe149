"""The Hugging Face task API (/hf/tasks/*) with plain `requests`, and the streaming route with
huggingface_hub's InferenceClient, against a live server over the fake upstream."""
import json

import pytest
import requests
from huggingface_hub import InferenceClient

SENTENCE = "My name is Sarah Jessica Parker and I live in London."


@pytest.fixture
def hf(gateway):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {gateway['key']}"
    root = gateway["root"] + "/hf/tasks"

    def post(path, body, **kw):
        return session.post(f"{root}/{path}", json=body, timeout=30, **kw)

    def get(path, **kw):
        return session.get(f"{root}/{path}", timeout=30, **kw)

    return post, get, root


def test_text_generation_and_its_bill(hf):
    post, _, _ = hf
    r = post("text-generation", {"inputs": "Once upon a time", "parameters": {"model": "fake/fake-model", "max_new_tokens": 20}})
    assert r.status_code == 200, r.text
    assert r.json()["output"][0]["generated_text"] == "Hello from the fake upstream"
    assert r.headers["inference-id"]
    assert r.headers["x-switchboard-cost-nano-usd"] == "unknown"  # the fake model has no price: flagged, not 0


def test_text_generation_streams_tgi_events(hf):
    post, _, _ = hf
    with post("text-generation?stream=true", {"inputs": "Say hi", "model": "fake/fake-model"}, stream=True) as r:
        assert r.status_code == 200
        events = [json.loads(line[len("data: "):]) for line in r.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert "".join(e["token"]["text"] for e in events[:-1]) == "Hello from the fake upstream"
    assert events[-1]["generated_text"] == "Hello from the fake upstream"
    assert events[-1]["details"]["finish_reason"] == "eos_token"


def test_huggingface_hub_client_reads_the_stream(gateway):
    client = InferenceClient(model=gateway["root"] + "/hf/tasks/text-generation?model=fake/fake-model", token=gateway["key"])
    tokens = list(client.text_generation("Say hi", max_new_tokens=20, stream=True))
    assert "".join(tokens) == "Hello from the fake upstream"


def test_question_answering_offsets_index_the_context(hf):
    post, _, _ = hf
    r = post("question-answering", {"question": "Where do I live?", "context": SENTENCE, "model": "fake/qa-model"})
    assert r.status_code == 200, r.text
    out = r.json()["output"]
    assert SENTENCE[out["start"]:out["end"]] == out["answer"] == "London"
    assert 0 <= out["score"] <= 1


def test_token_classification_offsets(hf):
    post, _, _ = hf
    r = post("token-classification", {"inputs": SENTENCE, "model": "fake/ner-model"})
    assert r.status_code == 200, r.text
    entities = r.json()["output"]
    assert [(e["entity_group"], e["start"], e["end"]) for e in entities] == [("PER", 11, 31), ("LOC", SENTENCE.index("London"), SENTENCE.index("London") + 6)]
    assert all(SENTENCE[e["start"]:e["end"]] == e["word"] for e in entities)


def test_text_classification_scores_sum_to_one(hf):
    post, _, _ = hf
    r = post("text-classification", {"inputs": "I love this!", "model": "fake/classify-model"})
    labels = r.json()["output"]
    assert [l["label"] for l in labels] == ["POSITIVE", "NEGATIVE"]
    assert abs(sum(l["score"] for l in labels) - 1) < 1e-9


def test_conversational_summarization_translation_and_run(hf):
    post, _, _ = hf
    c = post("conversational", {"text": "And now?", "past_user_inputs": ["Hi"], "generated_responses": ["Hello"],
                                "model": "fake/fake-model"}).json()
    assert c["conversation"]["past_user_inputs"] == ["Hi", "And now?"]
    assert c["conversation"]["generated_responses"][-1] == "Hello from the fake upstream"
    s = post("summarization", {"inputs": "A long article.", "model": "fake/fake-model"}).json()
    assert s["output"]["summary_text"] == "Hello from the fake upstream"
    t = post("translation", {"inputs": "Bonjour", "target_language": "English", "model": "fake/fake-model"}).json()
    assert t["output"]["translation_text"] == "Hello from the fake upstream"
    run = post("run", {"task": "summarization", "model": "fake/fake-model", "inputs": "text"}).json()
    assert run["task"] == "summarization" and run["output"]["summary_text"]


def test_model_mapping_and_listing(hf):
    post, get, _ = hf
    r = post("models/map", {"provider_model_id": "fake/fake-model", "hub_model_id": "acme/summarizer",
                            "task_type": "summarization"})
    assert r.status_code == 200 and r.json()["success"] is True
    listed = get("models", params={"task_type": "summarization"}).json()
    assert {"model_id": "fake/fake-model", "hub_model_id": "acme/summarizer", "task_type": "summarization"} in listed["models"]
    assert "token-classification" in listed["task_types"]
    s = post("summarization", {"inputs": "text", "model": "acme/summarizer"})
    assert s.status_code == 200 and s.json()["model"] == "acme/summarizer"


def test_billing_cost_and_usage(hf, gateway):
    post, get, _ = hf
    cost = post("billing/cost", {"requests": [{"task": "text-generation", "model": "fake/fake-model", "input_tokens": 100,
                                              "output_tokens": 50}]}).json()
    assert cost["currency"] == "USD" and cost["costs"][0]["priced"] is False and cost["costs"][0]["cost_nano_usd"] is None
    usage = get("billing/usage", params={"limit": 2, "offset": 0}).json()
    assert len(usage["records"]) <= 2 and usage["total_records"] >= len(usage["records"])
    assert {"request_id", "timestamp", "task", "model", "input_tokens", "output_tokens", "cost_nano_usd"} <= set(usage["records"][0])


def test_errors_use_the_seed_shape(hf, gateway):
    post, get, root = hf
    bad = post("text-generation", {"parameters": {"model": "fake/fake-model"}})
    assert bad.status_code == 400
    assert bad.json()["error_type"] == "BadRequest" and "inputs" in bad.json()["message"]
    assert set(bad.json()) == {"error", "error_type", "message"}
    unauthorized = requests.post(f"{root}/summarization", json={"inputs": "x"}, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert unauthorized.status_code == 401 and unauthorized.json()["error_type"] == "Unauthorized"
    image = post("image-generation", {"inputs": "a cat", "model": "fake/fake-model"})
    assert image.status_code == 400 and "image-generation" in image.json()["message"]
