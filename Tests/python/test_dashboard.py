"""The usage dashboard in headless Chromium: a seeded ledger (SQLite and PostgreSQL), charts drawn, the numbers those of
`switchboard usage --json`, a screenshot kept, and 401 without a key."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import openai
import pytest

from conftest import BIN, MASTER_KEY, ROOT, free_port, own_postgres_database, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("SWITCHBOARD_ARTIFACTS", ROOT / ".ci" / "artifacts"))


def store_section(kind: str, work: str) -> str:
    if kind == "sqlite":
        return f'[store]\npath = "{work}/switchboard.db"\n'
    return f'[store]\nurl = "{own_postgres_database("dashboard")}"\n'


@pytest.fixture(params=["sqlite", "postgres"])
def seeded(request):
    kind = request.param
    fake = subprocess.Popen([str(BIN / "switchboard-fake-upstream"), "seeded answer", "0"], stdout=subprocess.PIPE, text=True)
    base_url = fake.stdout.readline().strip()
    work = tempfile.mkdtemp(prefix="sb-dash-")
    port = free_port()
    config = Path(work) / "switchboard.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n{store_section(kind, work)}\n'
        f'[[providers.openai_compat]]\nid = "fake"\nbase_url = "{base_url}"\napi_key = "sk-upstream-dash"\n\n'
        f'[pricing."fake/json-model"]\ninput_per_million_usd = 3\noutput_per_million_usd = 15\n\n'
        f'[lanes.steady]\nmodels = ["fake/fake-model"]\n'
    )
    env = dict(os.environ, SWITCHBOARD_MASTER_KEY=MASTER_KEY)
    cli = [str(BIN / "switchboard")]

    def create_key(*extra):
        out = subprocess.run(cli + ["keys", "create", "--config", str(config), "--name", "k", *extra],
                             cwd=work, env=env, capture_output=True, text=True, check=True)
        return out.stdout.strip()

    admin_key = create_key("--admin")
    plain_key = create_key()
    server = subprocess.Popen(cli + ["serve", "--config", str(config)], cwd=work, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process=server)
        root = f"http://127.0.0.1:{port}"
        for key, model, count in [(MASTER_KEY, "fake/fake-model", 3), (plain_key, "fake/json-model", 2),
                                  (plain_key, "lane:steady", 2), (admin_key, "fake/missing-model", 1)]:
            client = openai.OpenAI(base_url=root + "/v1", api_key=key, max_retries=0)
            for _ in range(count):
                try:
                    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "seed the ledger"}])
                except openai.NotFoundError:
                    pass

        def usage():
            out = subprocess.run(cli + ["usage", "--json", "--config", str(config)], cwd=work, env=env,
                                 capture_output=True, text=True, check=True)
            return json.loads(out.stdout)

        # The server moves journaled records into the database several times a second.
        deadline = time.monotonic() + 10
        while usage()["total"]["requests"] < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield {"root": root, "admin": admin_key, "plain": plain_key, "usage": usage(), "kind": kind}
    finally:
        server.terminate()
        server.wait(timeout=30)
        fake.kill()
        fake.wait()


def chromium(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600", *args, url],
        capture_output=True, text=True, timeout=120)


def credentials(root: str, key: str) -> str:
    # A browser's HTTP Basic sign-in: any user name, the key as the password.
    return root.replace("http://", f"http://admin:{urllib.parse.quote(key, safe='')}@") + "/dashboard"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_dashboard_renders_in_chromium_with_the_ledgers_numbers(seeded):
    usage = seeded["usage"]["total"]
    assert usage["requests"] == 8 and usage["cost_nano_usd"] > 0

    dom = chromium(credentials(seeded["root"], seeded["admin"]), "--virtual-time-budget=5000", "--dump-dom").stdout
    assert 'data-charts="ready"' in dom, dom[:2000]

    def figure(element_id: str) -> str:
        match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
        assert match, element_id
        return match.group(1)

    assert int(figure("total-requests")) == usage["requests"]
    assert int(figure("total-input-tokens")) == usage["input_tokens"]
    assert int(figure("total-output-tokens")) == usage["output_tokens"]
    assert int(re.search(r'id="total-cost-usd" data-value="(-?\d+)"', dom).group(1)) == usage["cost_nano_usd"]
    assert int(figure("total-errors")) == 1
    # Every chart was drawn by the page's script, with bars for what happened today.
    rendered = re.findall(r'<figure class="chart" data-measure="(\w+)" data-rendered="(\d+)"', dom)
    assert {m for m, _ in rendered} == {"cost", "requests", "tokens", "errors", "p50", "p95"}
    assert dom.count("<svg") == 6 and "<rect" in dom and "<circle" in dom
    # The tables agree with the per-model totals.
    for model in seeded["usage"]["models"]:
        name = f'{model["provider"]}/{model["model"]}'
        row = re.search(rf'<table id="by-model">.*?<td>{re.escape(name)}</td><td>(\d+)</td>', dom, re.S)
        assert row and int(row.group(1)) == model["requests"], name
    assert "lane:steady" in dom and "key_" in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f'dashboard-{seeded["kind"]}.png'
    chromium(credentials(seeded["root"], seeded["admin"]), "--virtual-time-budget=5000", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 20_000


def test_the_dashboard_asks_for_a_key_and_refuses_one_without_the_admin_scope(seeded):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(seeded["root"] + "/dashboard")
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Basic ")

    def get(key, path="/dashboard"):
        token = base64.b64encode(f"someone:{key}".encode()).decode()
        return urllib.request.urlopen(urllib.request.Request(seeded["root"] + path, headers={"Authorization": "Basic " + token}))

    with pytest.raises(urllib.error.HTTPError) as forbidden:
        get(seeded["plain"])
    assert forbidden.value.code == 403
    assert get(MASTER_KEY).status == 200
    with pytest.raises(urllib.error.HTTPError) as bad:
        get(seeded["admin"], "/dashboard?from=2026-02-31")
    assert bad.value.code == 400 and "'from'" in json.loads(bad.value.read())["error"]["message"]
