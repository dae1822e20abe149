"""Schema fuzzing: schemathesis against a live gateway, over every operation of /openapi.json, with the master key and
with a normal key. No 5xx, no response outside its schema, status, content type or headers, no undeclared method
answered, no request that violates the schema accepted. Seeded, so a failure replays. (In these two runs a model name
no provider serves is valid JSON Schema and rightly refused, so acceptance is not checked.) A third run is against a
gateway whose fake upstream takes every model name, so generated requests get past model resolution into the
handlers, the upstream call and the answer's encoding; there a schema-valid request must also be served (the hooks
list the refusals a schema cannot rule out)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, MASTER_KEY, running_gateway


def new_key(gateway):
    return subprocess.run([str(BIN / "switchboard"), "keys", "create", "--config", gateway["config"], "--name", "fuzz"],
                          cwd=gateway["work"], capture_output=True, text=True, check=True).stdout.strip()


def schemathesis(root, key, excluded="positive_data_acceptance", env=None):
    st = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run([str(st), "run", root + "/openapi.json", "-H", f"Authorization: Bearer {key}",
                          "--seed", "1", "-n", "10", "--checks", "all", "--exclude-checks", excluded,
                          "--no-color"], capture_output=True, text=True, timeout=600, env=env)
    # What went wrong comes first in schemathesis's report, before its long warnings and summary.
    found = [i for i in (run.stdout.find(" FAILURES "), run.stdout.find(" ERRORS ")) if i >= 0]
    report = run.stdout[max(0, min(found) - 40):][:6000] if found else run.stdout[-6000:]
    assert run.returncode == 0, report + run.stderr[-2000:]


@pytest.mark.parametrize("who", ["master", "key"])
def test_every_operation_holds_to_the_document(gateway, who):
    schemathesis(gateway["root"], gateway["key"] if who == "master" else new_key(gateway))


def test_every_operation_holds_to_the_document_when_every_model_name_is_served():
    # The hooks' checks replace two of schemathesis's own: its server-error check counts a 502 for a model's unusable
    # answer, and its acceptance check cannot tell a refusal that depends on state (a date range, an unknown model to
    # map) from a document that says too little. Past model resolution, a schema-violating request reaches the
    # decoders, which must refuse a member of the wrong type wherever it is nested (a null optional member is read as
    # absent, and the document says so), and a schema-valid one must be served.
    hooks = Path(__file__).with_name("schemathesis_hooks.py")
    with running_gateway(any_model=True) as gateway:
        schemathesis(gateway["root"], MASTER_KEY, excluded="positive_data_acceptance,not_a_server_error",
                     env=dict(os.environ, SCHEMATHESIS_HOOKS=str(hooks)))
