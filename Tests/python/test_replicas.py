"""Three replicas behind nginx sharing one PostgreSQL (deploy/replicas.sh): one is killed under load and no client
sees a failure, every answered request has its ledger record, and a key's rate limit holds exactly across the rest."""
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import BIN, MASTER_KEY, ROOT, free_port, own_postgres_database, wait_for

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (.ci/run installs it)")


def post(url: str, key: str, model: str = "fake/fake-model", header: str = "Inference-Id"):
    """The status and one header of the answer (the ledger id by default)."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            r.read()
            return r.status, r.headers[header]
    except urllib.error.HTTPError as e:
        return e.code, e.headers[header]
    except OSError as e:
        return repr(e), None


@pytest.fixture
def cluster():
    url = own_postgres_database("replicas")
    fake = subprocess.Popen([str(BIN / "switchboard-fake-upstream"), "from a replica", "0"], stdout=subprocess.PIPE, text=True)
    upstream = fake.stdout.readline().strip()
    run = tempfile.mkdtemp(prefix="sb-replicas-")
    config = Path(run) / "switchboard.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\n\n[store]\nurl = "{url}"\n\n'
        f'[cache]\nstore = "postgres"\n\n'
        # $1 a token: each json-model answer costs more than $10, so the lane's $30 lasts for three of them.
        f'[pricing."fake/json-model"]\ninput_per_million_usd = 1000000\noutput_per_million_usd = 1000000\n\n'
        f'[lanes.capped]\nmodels = ["fake/json-model"]\nbudget_usd = 30\n\n'
        f'[[providers.openai_compat]]\nid = "fake"\nbase_url = "{upstream}"\napi_key = "sk-upstream-replicas"\n')
    env = dict(os.environ, SWITCHBOARD_MASTER_KEY=MASTER_KEY, SWITCHBOARD_BIN=str(BIN / "switchboard"), RUN_DIR=run,
               NGINX_PORT=str(free_port()), REPLICA_PORTS=" ".join(str(free_port()) for _ in range(3)))
    limited = subprocess.run([str(BIN / "switchboard"), "keys", "create", "--config", str(config), "--name", "limited",
                              "--rpm", "40"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    script = subprocess.Popen([str(ROOT / "deploy" / "replicas.sh"), str(config), "3"], env=env, stderr=subprocess.PIPE,
                              text=True)
    front = f"http://127.0.0.1:{env['NGINX_PORT']}"
    try:
        wait_for(front + "/health", timeout=60)
        yield {"front": front, "run": Path(run), "db": url, "limited": limited}
    finally:
        script.send_signal(signal.SIGTERM)
        try:
            script.wait(timeout=60)
        finally:
            fake.kill()
            fake.wait()


def ledger_ids(db: str) -> set:
    out = subprocess.run(["psql", db, "-At", "-c", "SELECT request_id FROM usage_ledger"], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def test_replicas_share_the_response_cache_and_stored_responses(cluster):
    front = cluster["front"]
    # nginx sends consecutive requests to the replicas in turn: a replica that never saw the answer finds it in
    # PostgreSQL.
    body = json.dumps({"model": "fake/fake-model", "temperature": 0, "messages": [{"role": "user", "content": "shared?"}]})
    outcomes = []
    for _ in range(6):
        request = urllib.request.Request(front + "/v1/chat/completions", data=body.encode(), method="POST", headers={
            "Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            outcomes.append(r.headers["x-switchboard-cache"])
    assert outcomes == ["miss"] + ["hit"] * 5

    created = json.loads(urllib.request.urlopen(urllib.request.Request(
        front + "/v1/responses", data=json.dumps({"model": "fake/fake-model", "input": "keep this"}).encode(),
        method="POST", headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}),
        timeout=30).read())
    for _ in range(3):
        fetched = urllib.request.urlopen(urllib.request.Request(
            front + "/v1/responses/" + created["id"], headers={"Authorization": f"Bearer {MASTER_KEY}"}), timeout=30)
        assert json.loads(fetched.read())["id"] == created["id"]


def test_a_lanes_budget_is_one_budget_across_replicas(cluster):
    # nginx sends these to the three replicas in turn; each one alone would see only its own call.
    statuses = [post(cluster["front"], MASTER_KEY, "lane:capped")[0] for _ in range(5)]
    # $21 a call against $30: the second call passes the budget, so the third is refused, whichever replica takes it.
    assert statuses == [200, 200, 429, 429, 429], statuses


def test_a_replica_killed_under_load_costs_no_request_no_record_and_no_limit(cluster):
    front = cluster["front"]
    results = []
    lock = threading.Lock()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            outcome = post(front, MASTER_KEY)
            with lock:
                results.append(outcome)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        workers = [pool.submit(client) for _ in range(16)]
        time.sleep(1.5)
        victim = int((cluster["run"] / "replica-2.pid").read_text())
        os.kill(victim, signal.SIGKILL)
        time.sleep(2.5)
        stop.set()
        for w in workers:
            w.result()

    # nginx saw the replica go (its requests were moved to the others)...
    errors = (cluster["run"] / "logs" / "error.log").read_text()
    assert "upstream" in errors and "failed" in errors or "prematurely closed" in errors, errors[-2000:]
    # ...and no client saw it.
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    assert len(results) > 200
    before_kill_and_after = [r[1] for r in results]
    assert None not in before_kill_and_after
    # Every answered request was recorded before it was answered (some requests the dead replica had recorded were
    # retried by nginx, and so have a second record: more, never fewer).
    missing = set(before_kill_and_after) - ledger_ids(cluster["db"])
    assert not missing, list(missing)[:5]

    # The key's 40 requests a minute hold across the two replicas left: a burst of 60. Each answer names the end of
    # the minute it was counted in, so a burst that crosses a minute is judged a minute at a time.
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        burst = list(pool.map(lambda _: post(front, cluster["limited"], header="x-ratelimit-reset"), range(60)))
    assert all(status in (200, 429) and reset for status, reset in burst), burst
    for minute in {reset for _, reset in burst}:
        statuses = [status for status, reset in burst if reset == minute]
        assert statuses.count(200) == min(40, len(statuses)), (minute, burst)
