"""Schema fuzzing: schemathesis against a live gateway, over every operation of /openapi.json, with the master key and
with a normal key. No 5xx, no response outside its schema, status, content type or headers, no undeclared method
answered, no request that violates the schema accepted. Seeded, so a failure replays. (Whether every schema-valid
request is accepted is not checked: a model name no provider serves is valid JSON Schema and rightly refused.)"""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN


def new_key(gateway):
    return subprocess.run([str(BIN / "switchboard"), "keys", "create", "--config", gateway["config"], "--name", "fuzz"],
                          cwd=gateway["work"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("who", ["master", "key"])
def test_every_operation_holds_to_the_document(gateway, who):
    key = gateway["key"] if who == "master" else new_key(gateway)
    st = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run([str(st), "run", gateway["root"] + "/openapi.json", "-H", f"Authorization: Bearer {key}",
                          "--seed", "1", "-n", "10", "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                          "--no-color"], capture_output=True, text=True, timeout=600)
    # What went wrong comes first in schemathesis's report, before its long warnings and summary.
    found = [i for i in (run.stdout.find(" FAILURES "), run.stdout.find(" ERRORS ")) if i >= 0]
    report = run.stdout[max(0, min(found) - 40):][:6000] if found else run.stdout[-6000:]
    assert run.returncode == 0, report + run.stderr[-2000:]
