"""The suite as another project uses it: a wheel (not an editable install) in a fresh virtual
environment, run from an empty directory with `python -m pytest --pyargs parity_tests`."""
import importlib.util
import re
import shutil
import subprocess
import sys

import pytest

from .suite_runs import ROOT, child_environment, needs_checkout


def run(*args, cwd, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)


pytestmark = needs_checkout


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """A venv holding the wheel built from this checkout; torch, NumPy and pytest come from the
    running interpreter's site-packages (--system-site-packages), so nothing is downloaded."""
    setuptools = pytest.importorskip("setuptools",
                                     reason="building the wheel needs setuptools (pip install setuptools)")
    old_setuptools = tuple(map(int, setuptools.__version__.split(".")[:2])) < (70, 1)
    if old_setuptools and importlib.util.find_spec("wheel") is None:
        pytest.skip(f"setuptools {setuptools.__version__} needs the wheel package to build a wheel without "
                    "isolation; pip install 'setuptools>=70.1' (the test extra asks for it)")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy without build outputs, which setuptools would reuse
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "reports", "*.egg-info", "__pycache__", ".hypothesis", ".benchmarks",
        ".pytest_cache"))
    built = run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                "-w", str(work / "dist"), str(source), cwd=work)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel, = (work / "dist").glob("torch_loss_parity-*.whl")
    created = run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(work / "venv"),
                  cwd=work)
    assert created.returncode == 0, created.stderr
    python = str(work / "venv" / "bin" / "python")
    installed = run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                    "--disable-pip-version-check", "--no-deps", "--ignore-installed", str(wheel), cwd=work)
    assert installed.returncode == 0, installed.stderr[-3000:]
    (work / "empty").mkdir()
    return python, work / "empty", work / "venv"


def test_the_installed_wheel_checks_a_candidate_from_an_empty_directory(installed_wheel):
    """`--impl` on the shipped candidate from an empty directory, with the plugin's options, the
    package's fixtures and its test files (--pyargs): l1_loss and soft_margin_loss pass, the 12
    weighted means of mse_loss fail, naming the candidate, and huber_loss (which the module
    lacks) is not covered."""
    python, empty, venv = installed_wheel
    module = "parity_tests.examples.candidate_losses"
    result = run(python, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rfs",
                 "--pyargs", "parity_tests",
                 "--impl", module, "-k",
                 "test_parity and cpu-float64 and (l1_loss or mse_loss or huber_loss or "
                 "soft_margin_loss) and not smooth", cwd=empty, env=child_environment())
    out = result.stdout
    assert f"under test: {module} ({venv}" in out, out[-3000:]
    assert "known torch divergences in the ledger: 0" not in out
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "test_parity[mse_loss-cpu-float64]" in failed[0], out[-3000:]
    failing_cases = re.search(r"all failing cases: (.*)", out).group(1).split(", ")
    assert len(failing_cases) == 12
    assert all("weight" in name and name.endswith("-mean") for name in failing_cases)
    assert re.search(r"candidate_losses [-\d.e]+, reference [-\d.e]+", out)
    assert f"rerun: pytest '{venv}" in out, "the rerun line should name the installed test file"
    assert f"huber_loss: not covered: {module} has no huber_loss" in out
    table = (empty / "reports" / "parity-table.md").read_text()
    assert "| l1_loss | cpu | float64 | default float64 |" in table
