"""Virtual environments with one torch each, for the commands that run the suite on several torch
versions (python -m parity_tests.matrix).

An environment holds a torch, the NumPy that torch can use and the suite's test requirements
(pyproject's `test` extra), not the suite itself: the suite runs from this checkout (its
conftest.py loads the plugin), so one cached environment serves every checkout. Environments are
cached under $TORCH_LOSS_PARITY_ENVS (default ~/.cache/torch-loss-parity/torch-<version>).
Versions other than the machine's own CPU build of torch are large CUDA builds (a few GB each).
"""
import os
import subprocess
import sys
from pathlib import Path

import tomllib  # Python 3.11: the matrix command needs it (the suite itself runs on 3.10)

ROOT = Path(__file__).resolve().parent.parent
NUMPY_1 = "numpy==1.26.4"  # torch < 2.3 was built against NumPy 1.x: with NumPy 2 it cannot convert tensors


def cache_folder():
    return Path(os.environ.get("TORCH_LOSS_PARITY_ENVS") or Path.home() / ".cache" / "torch-loss-parity")


def torch_requirements(version):
    """What pip installs first: this torch, and NumPy 1.26 for a torch older than 2.3."""
    return [f"torch=={version}", *([NUMPY_1] if release(version) < (2, 3) else [])]


def release(version):
    """(major, minor) of a version string such as 2.2.2 or 2.13.0+cpu."""
    return tuple(int(part) for part in version.split("+")[0].split(".")[:2])


def test_requirements():
    """The suite's own requirements but torch (pyproject's dependencies and its test extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    return [requirement for requirement in wanted if not requirement.startswith("torch")]


def pip(python, requirements, log, lift_torch_cap=False):
    """pip install into the environment of `python`, its output appended to `log`. lift_torch_cap:
    this call only ignores the machine's pip constraint file (which may cap torch below the version
    asked for); the torch asked for is pinned exactly, so nothing else changes."""
    env = {**os.environ, **({"PIP_CONSTRAINT": os.devnull} if lift_torch_cap else {})}
    with open(log, "a") as out:
        done = subprocess.run([str(python), "-m", "pip", "install",
                               "--disable-pip-version-check", *requirements],
                              stdout=out, stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        raise RuntimeError(f"pip install {' '.join(requirements)} failed in {python}: see {log}")


def environment(version, log):
    """The Python of the cached environment for this torch version, made (or completed) first."""
    folder = cache_folder() / f"torch-{version}"
    python = folder / "bin" / "python"
    wanted = "\n".join(torch_requirements(version) + test_requirements())
    ready = folder / "requirements-installed.txt"
    if ready.is_file() and ready.read_text() == wanted:
        return python
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip(python, torch_requirements(version), log, lift_torch_cap=True)
    pip(python, test_requirements(), log)  # torch is installed: the test extra's range pulls no other build
    ready.write_text(wanted)
    return python


def versions_of(python):
    """{"torch": ..., "numpy": ..., "python": ...} of the environment of `python`."""
    code = ("import platform, numpy, torch; "
            "print(torch.__version__, numpy.__version__, platform.python_version())")
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                           check=True).stdout.split()
    return dict(zip(("torch", "numpy", "python"), found))
