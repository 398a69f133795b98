"""The Makefile: the port `make run` serves on, and `make test` installing axe-core only when its lock changes."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_command(**env):
    """The `flask run` line `make run` would execute (make -n prints the recipes without running them)."""
    environment = {k: v for k, v in os.environ.items() if k != "PORT"} | env
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "run"], env=environment, capture_output=True, text=True,
                         check=True).stdout
    return next(line for line in out.splitlines() if " run --host " in line)


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_run_serves_on_port_5000_unless_port_is_set():
    assert _run_command().endswith("--port 5000")
    assert _run_command(PORT="8080").endswith("--port 8080")


def _dry_run(*arguments):
    return subprocess.run(["make", "-n", "-C", str(ROOT), *arguments], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_test_installs_axe_with_npm_ci_when_its_lock_file_changes():
    lock = "tests/e2e/axe/package-lock.json"
    assert "npm ci --prefix tests/e2e/axe" in _dry_run("-W", lock, "test")  # a changed (or fresh) lock installs
    stamp = ROOT / "tests/e2e/axe/node_modules/.installed"
    if stamp.exists() and stamp.stat().st_mtime >= (ROOT / lock).stat().st_mtime:
        assert "npm ci" not in _dry_run("browser-deps")  # the stamp is newer: a second run skips npm
