"""Running the suite itself, for the tests of its options and commands: in a subprocess, or in
this process with pytest.main (about 0.3 s instead of 2.7 s of startup)."""
import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import TORCH_VERSION, unavailable
from .records import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
needs_checkout = pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason=(
    "runs the suite from the checkout (its README, benchmarks, build or test paths), which an installed "
    "package does not have"))
# the wrapped candidate (examples/wrapped_torch_losses.py) passes weight= to torch's l1, mse and huber
TAKES_LOSS_WEIGHTS = not unavailable(BY_NAME["l1_loss"], {"weight": None})
NO_LOSS_WEIGHTS = (f"the wrapped candidate's weighted l1/mse/huber cases call torch's weight=, which torch "
                   f"{TORCH_VERSION} lacks (torch 2.6 has it)")


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


def run_pytest_inline(*args, tmp_path):
    """The same run as run_pytest, in this process (pytest.main), from the repository root, its
    output captured. Only for runs that register no loss of their own: a registered loss would
    stay in this process's registry. (Not pytester's in-process run: it drops the modules a run
    imported, and torch's compiler stack, which the chunked linear_cross_entropy imports on its
    first call, registers operator libraries that cannot be imported twice.)"""
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(output):
        patch.chdir(ROOT)
        # pytest-benchmark reads them
        for key in [key for key in os.environ if key.startswith("PYTEST_XDIST")]:
            patch.delenv(key)
        returncode = pytest.main(["-p", "no:cacheprovider", "-p", "no:xdist", "--capture=sys",
                                  "--parity-table",
                                  str(tmp_path / "table.md"), *args])
    return subprocess.CompletedProcess(args, int(returncode), output.getvalue(), "")
