"""Starts a fake upstream and a live `switchboard serve` in front of it, for the official SDKs."""
import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHBOARD_BIN_DIR", ROOT / ".build" / "debug"))
MASTER_KEY = "sk-sb-python-tests-master-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    """Polls `url` until it answers 200; with the `process` meant to serve it, fails at once, with what the process
    said on stderr, if it exits first (a configuration it refuses, say)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            said = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"{url}: the process exited with {process.returncode} before answering: {said[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def own_postgres_database(prefix: str) -> str:
    """A new database on the suite's PostgreSQL (scripts/with-postgres), so a test's ledger holds only its own records;
    skips the test without one."""
    import urllib.parse
    import uuid
    base = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL (scripts/with-postgres sets SWITCHBOARD_TEST_POSTGRES_URL)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", base, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(base)._replace(path="/" + name))


@contextlib.contextmanager
def running_gateway(any_model: bool = False):
    """A fake upstream and `switchboard serve` in front of it; with `any_model`, the fake provider takes every model
    name no provider lists (so a generated name reaches a handler instead of a 404)."""
    fake = subprocess.Popen([str(BIN / "switchboard-fake-upstream"), "Hello from the fake upstream", "5"],
                            stdout=subprocess.PIPE, text=True)
    base_url = fake.stdout.readline().strip()
    assert base_url.startswith("http://127.0.0.1:"), base_url
    work = tempfile.mkdtemp(prefix="sb-py-")
    port = free_port()
    config = Path(work) / "switchboard.toml"
    # Taking every model name, the fake provider also embeds and paints, so those operations reach their handlers too.
    serves_everything = "any_model = true\nembeddings = true\nimages = true\n" if any_model else ""
    config.write_text(
        # A default model, so a Hugging Face task body without one reaches its handler.
        (f'[agent]\nmodel = "fake/fake-model"\n\n' if any_model else '')
        + f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n'
        f'[store]\npath = "{work}/switchboard.db"\n\n'
        f'[[providers.openai_compat]]\nid = "fake"\nbase_url = "{base_url}"\napi_key = "sk-upstream-python"\n'
        f'{serves_everything}\n'
        # The same fake serving the Responses API itself, as OpenAI does: /v1/responses requests go to it as they came.
        f'[[providers.openai_compat]]\nid = "native"\nbase_url = "{base_url}"\napi_key = "sk-upstream-python"\n'
        f'responses_path = "/responses"\n\n'
        # One priced model, for budgets.
        f'[pricing."fake/json-model"]\ninput_per_million_usd = 10000\noutput_per_million_usd = 10000\n\n'
        # A fake coding agent speaking `codex exec --json`, as a provider.
        f'[[providers.cli_agent]]\nid = "agent"\npreset = "codex"\ncommand = "{ROOT / "Tests/Fixtures/cli-agents/fake-agent"}"\n\n'
        # The same fake also speaks Anthropic's Messages API, for the native Anthropic provider.
        f'[providers.anthropic]\napi_key = "sk-ant-api03-python-tests"\nbase_url = "{base_url.removesuffix("/v1")}"\n'
    )
    env = dict(os.environ, SWITCHBOARD_MASTER_KEY=MASTER_KEY)
    server = subprocess.Popen([str(BIN / "switchboard"), "serve", "--config", str(config)], cwd=work, env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process=server)
        yield {"base_url": f"http://127.0.0.1:{port}/v1", "key": MASTER_KEY, "root": f"http://127.0.0.1:{port}",
               "config": str(config), "work": work}
    finally:
        server.terminate()
        server.wait(timeout=30)
        fake.kill()
        fake.wait()


@pytest.fixture(scope="session")
def gateway():
    with running_gateway() as g:
        yield g


@pytest.fixture
def client(gateway):
    import openai
    return openai.OpenAI(base_url=gateway["base_url"], api_key=gateway["key"], max_retries=0)
