"""The swarm provider end to end, on loopback: a real relay (nostr-relay from PyPI), DVMs and a wallet written with
nostr-sdk (swarm_fixture.py), and `switchboard serve` with [providers.swarm], called through /v1/chat/completions
with the OpenAI SDK. The DVMs answer only jobs whose signature nostr-sdk verifies; the relay checks no signature, so
forged events reach the gateway, whose own checks are what is tested."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai
import pytest
import requests

from conftest import BIN, MASTER_KEY, ROOT, free_port, wait_for

VENV = ROOT / ".venv" / "bin"
RELAY_CONFIG = """relay_name: switchboard swarm tests
storage:
  sqlalchemy.url: sqlite+aiosqlite:///{db}
  validators: []
verification:
  nip05_verification: disabled
gunicorn:
  bind: 127.0.0.1:{port}
  workers: 1
  loglevel: warning
purple:
  host: 127.0.0.1
  port: {port}
  workers: 1
  disable_compression: true
authentication:
  enabled: false
"""


def start_relay(work: Path, port: int) -> subprocess.Popen:
    relay = subprocess.Popen([str(VENV / "nostr-relay"), "-c", str(work / "relay.yaml"), "serve", "--use-uvicorn"], cwd=work,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return relay
        except requests.ConnectionError:
            if time.monotonic() > deadline or relay.poll() is not None:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def swarm():
    if not (VENV / "nostr-relay").exists():
        pytest.skip("the suite's venv has no nostr-relay")
    work = Path(tempfile.mkdtemp(prefix="sb-swarm-"))
    relay_port = free_port()
    (work / "relay.yaml").write_text(RELAY_CONFIG.format(db=work / "events.sqlite3", port=relay_port))
    relay_url = f"ws://127.0.0.1:{relay_port}"
    processes = [start_relay(work, relay_port)]
    try:
        fixture = subprocess.Popen([sys.executable, str(Path(__file__).parent / "swarm_fixture.py"), relay_url, str(work)],
                                   stdout=subprocess.PIPE, text=True)
        processes.append(fixture)
        keys = json.loads(fixture.stdout.readline())
        yield {"work": work, "relay": relay_url, "relay_port": relay_port, "keys": keys, "processes": processes}
    finally:
        for p in reversed(processes):
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


def serve(swarm, name: str, section: str, extra: str = "", timeout: int = 4, nwc: str | None = "nwc") -> dict:
    work = swarm["work"] / name
    work.mkdir()
    port = free_port()
    wallet = 'nwc = "env:NWC_URI"\n' if nwc else ""
    config = work / "switchboard.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n[store]\npath = "{work}/switchboard.db"\n\n'
        f'[billing]\nbtc_usd = 100000\n\n{extra}\n'
        f'[providers.swarm]\nrelays = ["{swarm["relay"]}"]\nkey_file = "{work}/swarm.key"\n{wallet}'
        f'bid_msats = 5000\ntimeout_seconds = {timeout}\nnetwork = "bc"\n{section}\n')
    env = dict(os.environ, SWITCHBOARD_MASTER_KEY=MASTER_KEY)
    if nwc:
        env["NWC_URI"] = swarm["keys"][nwc]
    process = subprocess.Popen([str(BIN / "switchboard"), "serve", "--config", str(config)], cwd=work, env=env,
                               stderr=subprocess.PIPE, text=True)
    swarm["processes"].append(process)
    wait_for(f"http://127.0.0.1:{port}/health", process=process)
    return {"root": f"http://127.0.0.1:{port}", "config": config, "work": work, "env": env}


@pytest.fixture(scope="module")
def gateway(swarm):
    return serve(swarm, "swarm", "budget_msats = 5000")


def chat(gateway, model: str) -> requests.Response:
    return requests.post(gateway["root"] + "/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                         json={"model": model, "messages": [{"role": "user", "content": "What is the capital of France?"}]},
                         timeout=30)


def payments(swarm) -> list[dict]:
    log = swarm["work"] / "payments.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def usage(gateway) -> dict:
    out = subprocess.run([str(BIN / "switchboard"), "usage", "--json", "--config", str(gateway["config"])], cwd=gateway["work"],
                         env=gateway["env"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_a_free_dvm_streams_its_partial_text_then_the_rest(gateway):
    client = openai.OpenAI(base_url=gateway["root"] + "/v1", api_key=MASTER_KEY, max_retries=0)
    stream = client.chat.completions.create(model="swarm/free", messages=[{"role": "user", "content": "Capital?"}], stream=True)
    deltas = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == "The capital of France is Paris."
    assert deltas[:2] == ["The capital", " of France"], deltas
    answer = chat(gateway, "swarm/free")
    assert answer.status_code == 200 and answer.headers["x-switchboard-cost-msats"] == "0"


def test_dvms_are_paid_through_the_wallet_within_the_budget_and_the_ledger_keeps_msats(gateway, swarm):
    before = len(payments(swarm))
    paid = chat(gateway, "swarm/paid")
    assert paid.status_code == 200, paid.text
    assert paid.json()["choices"][0]["message"]["content"] == "A paid answer."
    # 3000 msats at 100,000 USD a bitcoin: 0.003 USD.
    assert paid.headers["x-switchboard-cost-msats"] == "3000" and paid.headers["x-switchboard-cost-nano-usd"] == "3000000"
    late = chat(gateway, "swarm/late-bill")
    assert late.status_code == 200 and late.json()["choices"][0]["message"]["content"] == "Pay me later."
    assert late.headers["x-switchboard-cost-msats"] == "1000"
    made = payments(swarm)[before:]
    assert [p["amount_msat"] for p in made] == [3000, 1000] and all(p["nip44"] for p in made)
    # A wallet that refuses: the DVM's offer is withdrawn, never a success, and nothing is spent.
    refused = chat(gateway, "swarm/refused")
    assert refused.status_code == 504 and "PAYMENT_FAILED" in refused.json()["error"]["message"], refused.text
    # 4000 of the 5000 msats budget spent: a DVM asking 3000 more (within the bid) is declined for the budget.
    over = chat(gateway, "swarm/paid")
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "budget_exceeded" and "over 1000" in over.json()["error"]["message"]
    assert len(payments(swarm)) == before + 2
    total = usage(gateway)["total"]
    assert total["paid_msats"] == 4000 and total["cost_nano_usd"] == 4000000


def test_a_wallet_that_offers_only_nip04_is_asked_in_nip04(swarm):
    legacy = serve(swarm, "legacy-wallet", "", nwc="nwc_legacy")
    before = len(payments(swarm))
    paid = chat(legacy, "swarm/paid")
    assert paid.status_code == 200 and paid.headers["x-switchboard-cost-msats"] == "3000", paid.text
    assert [p["nip44"] for p in payments(swarm)[before:]] == [False]


def test_without_a_wallet_only_dvms_that_need_no_payment_first_are_used(swarm):
    walletless = serve(swarm, "no-wallet", "", nwc=None)
    before = len(payments(swarm))
    asked = chat(walletless, "swarm/paid")
    assert asked.status_code == 504 and "no wallet is configured" in asked.json()["error"]["message"], asked.text
    late = chat(walletless, "swarm/late-bill")
    assert late.status_code == 200 and late.json()["choices"][0]["message"]["content"] == "Pay me later."
    assert late.headers["x-switchboard-cost-msats"] == "0"
    assert len(payments(swarm)) == before


def test_a_dvm_asking_more_than_the_bid_is_declined_and_the_next_one_answers(gateway, swarm):
    before = len(payments(swarm))
    answer = chat(gateway, "swarm/contested")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "A cheap answer."
    assert len(payments(swarm)) == before


def test_two_answers_give_one_and_swarm_any_answers_the_cli(gateway):
    answer = chat(gateway, "swarm/double")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] in ("First.", "Second.")
    out = subprocess.run([str(BIN / "switchboard"), "chat", "-m", "swarm/any", "--config", str(gateway["config"]), "Capital?"],
                         cwd=gateway["work"], env=gateway["env"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Any DVM's answer." in out.stdout, out.stderr


def test_forged_events_are_dropped_and_the_genuine_result_answers(gateway):
    answer = chat(gateway, "swarm/tampered")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "The genuine answer.", answer.text


def test_an_invoice_for_another_amount_is_not_paid_and_silence_is_a_timeout(gateway, swarm):
    before = len(payments(swarm))
    bad = chat(gateway, "swarm/bad-invoice")
    assert bad.status_code == 504 and "asks 600 msats" in bad.json()["error"]["message"], bad.text
    assert len(payments(swarm)) == before
    for model in ["swarm/silent", "swarm/error"]:
        failed = chat(gateway, model)
        assert failed.status_code == 504, failed.text
    assert "model not loaded" in failed.json()["error"]["message"]
    # Jobs nobody answered are withdrawn (NIP-09 deletions naming them), as nostr-sdk reads them from the relay.
    assert len(withdrawals(swarm)) >= 3


def withdrawals(swarm) -> list:
    import asyncio
    import nostr_sdk as n

    async def fetch():
        client = n.Client()
        await client.add_relay(n.RelayUrl.parse(swarm["relay"]))
        await client.connect()
        deadline = time.monotonic() + 5
        while True:
            events = await client.fetch_events(
                n.ReqTarget.single(n.RelayUrl.parse(swarm["relay"]), [n.Filter().kinds([n.Kind(5)])]), n.Duration.from_secs(2)
                if hasattr(n, "Duration") else None)
            found = [e for e in events if e.verify() and any(t.to_vec()[:2] == ["k", "5050"] for t in e.tags())]
            if len(found) >= 3 or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)

    return asyncio.run(fetch())


def test_models_lists_the_dvms_that_announce_text_generation(gateway, swarm):
    out = subprocess.run([str(BIN / "switchboard"), "models", "--provider", "swarm", "--json", "--config", str(gateway["config"])],
                         cwd=gateway["work"], env=gateway["env"], capture_output=True, text=True, check=True)
    listed = json.loads(out.stdout)
    text = json.dumps(listed)
    for model in ["any", "free", "contested", "paid"]:
        assert f'"{model}"' in text, text
    assert "Fixture A" in text and "Fixture B" in text


def test_hybrid_tries_the_local_model_first_and_local_mode_answers_alone(swarm):
    fake = subprocess.Popen([str(BIN / "switchboard-fake-upstream"), "Hello from the local model", "3"],
                            stdout=subprocess.PIPE, text=True)
    swarm["processes"].append(fake)
    base_url = fake.stdout.readline().strip()
    down = f"http://127.0.0.1:{free_port()}/v1"
    endpoints = (f'[[providers.openai_compat]]\nid = "local"\nbase_url = "{base_url}"\n\n'
                 f'[[providers.openai_compat]]\nid = "down"\nbase_url = "{down}"\n\n'
                 '[lanes.fallback]\nmodels = ["swarm/silent", "local/llama3.2"]\n')
    hybrid = serve(swarm, "hybrid", 'mode = "hybrid"\nlocal = "down/llama3.2"\nlocal_timeout_seconds = 2', endpoints)
    answer = chat(hybrid, "swarm/free")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "The capital of France is Paris."
    route = answer.headers["x-switchboard-route"]
    assert "down/llama3.2" in route and "swarm" in route, route
    # A lane whose first slot is a swarm job nobody answers moves on after the job's timeout.
    lane = chat(hybrid, "lane:fallback")
    assert lane.status_code == 200 and lane.json()["choices"][0]["message"]["content"] == "Hello from the local model", lane.text
    up = serve(swarm, "hybrid-up", 'mode = "hybrid"\nlocal = "local/llama3.2"', endpoints)
    answer = chat(up, "swarm/free")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Hello from the local model"
    local = serve(swarm, "local", 'mode = "local"\nlocal = "local/llama3.2"', endpoints)
    answer = chat(local, "swarm/free")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Hello from the local model"


# Last: the relay it restarts is the one every test above uses.
def test_a_job_survives_a_relay_restart(swarm):
    from concurrent.futures import ThreadPoolExecutor

    patient = serve(swarm, "restart", "", timeout=30)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(chat, patient, "swarm/slow")
        received = swarm["work"] / "slow-job-received"
        deadline = time.monotonic() + 30
        while not received.exists() and time.monotonic() < deadline and not pending.done():
            time.sleep(0.05)
        assert received.exists(), "the DVM never received the job"
        relay = swarm["processes"][0]
        relay.kill()
        relay.wait()
        swarm["processes"][0] = start_relay(swarm["work"], swarm["relay_port"])
        answer = pending.result(timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "Survived a relay restart."
