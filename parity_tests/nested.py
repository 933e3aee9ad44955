"""Running the suite itself in a subprocess, for the tests of its options and commands."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_environment():
    """The environment without the outer run's pytest, xdist and PYTHONPATH variables, and with
    bytecode written: pytest's assertion-rewritten modules are then compiled once, not per run
    (about 1.5 s of each nested run where PYTHONDONTWRITEBYTECODE is set)."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"))}


def run_pytest(*args, tmp_path, pythonpath=None):
    """`python -m pytest *args` from the repository root, in one process, its measured table
    written under tmp_path; the outer run's pytest and xdist variables are not passed on."""
    env = child_environment()
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "--parity-table", str(tmp_path / "table.md"), *args],
                          cwd=ROOT, capture_output=True, text=True, env=env)
