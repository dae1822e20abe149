"""The `openai` SDK against a coding-agent CLI behind the gateway (a fake agent speaking `codex exec --json`)."""


def test_an_agent_answers_through_the_sdk(client):
    raw = client.chat.completions.with_raw_response.create(model="agent/default", messages=[{"role": "user", "content": "How many files?"}])
    r = raw.parse()
    assert r.choices[0].message.content == "The answer, for a prompt of 15 bytes."
    assert r.usage.prompt_tokens == 1820 and r.usage.completion_tokens == 96
    assert [a["kind"] for a in r.choices[0].message.model_extra["switchboard_agent_actions"]] == ["command", "file_change"]
    assert raw.headers["x-switchboard-session"] == "0199c0de-5a1e-7b22-9c41-3f6a2d0e8b17"


def test_an_agent_streams_through_the_sdk_and_resumes_its_session(client):
    stream = client.chat.completions.create(model="agent/default", messages=[{"role": "user", "content": "and then?"}], stream=True,
                                            extra_headers={"x-switchboard-session": "thread-7", "x-switchboard-agent-actions": "on"})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The answer, for a prompt of 9 bytes."
    actions = [c.model_extra.get("switchboard_agent_action") for c in chunks if c.model_extra.get("switchboard_agent_action")]
    assert [a["kind"] for a in actions] == ["command", "file_change"]
