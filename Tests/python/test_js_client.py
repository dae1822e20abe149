"""The TypeScript client (clients/js): built with Debian's `tsc`, tested with Node's own test runner against the live
gateway this suite starts."""
import os
import shutil
import subprocess

from conftest import ROOT


def test_the_typescript_client_builds_and_passes_its_tests(gateway):
    tsc, node = shutil.which("tsc"), shutil.which("node") or shutil.which("nodejs")
    assert tsc and node, "needs Debian's node-typescript and nodejs (.ci/run installs them)"
    js = ROOT / "clients" / "js"
    build = subprocess.run([tsc, "-p", str(js)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    env = dict(os.environ, SWITCHBOARD_URL=gateway["root"], SWITCHBOARD_KEY=gateway["key"])
    run = subprocess.run([node, "--test", str(js / "test")], capture_output=True, text=True, timeout=300, env=env, cwd=js)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
