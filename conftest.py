"""pytest wiring: the options (devices, dtypes, cases, losses, implementation, golden file), the
report header, and the measured and drift tables at the end."""
import os
import platform
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

from parity_tests.harness import TORCH_DTYPES, present_devices
from parity_tests.implementation import load_losses, use_implementation
from parity_tests.measured_table import DriftTablePlugin, MeasuredTablePlugin
from parity_tests.registry import FLOAT_DTYPES
from parity_tests.tables import LEDGER

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


def pytest_addoption(parser):
    group = parser.getgroup("parity")
    group.addoption("--device", default="cpu,cuda,mps",
                    help="comma-separated devices to check (default: cpu,cuda,mps; "
                         "absent ones are reported as skipped)")
    group.addoption("--dtype", default=",".join(FLOAT_DTYPES),
                    help=f"comma-separated dtypes to check (default: {','.join(FLOAT_DTYPES)})")
    group.addoption("--case", default="", metavar="PATTERNS",
                    help="comma-separated fnmatch patterns of case names to run inside the parity items, "
                         "e.g. --case 'index-k2-*' (a failure prints the one that reruns it)")
    group.addoption("--parity-table", default="reports/parity-table.md",
                    help="where to write the measured table (Markdown, plus a .json beside it)")
    group.addoption("--losses", default="parity_tests.examples", metavar="MODULES",
                    help="comma-separated modules that register losses of your own with "
                         "parity_tests.register_loss (default: the shipped examples, parity_tests.examples)")
    group.addoption("--impl", default="torch", metavar="MODULE",
                    help="what is checked against the reference: torch (default), or a module with "
                         "torch.nn.functional's names and signatures, e.g. mypkg.losses")
    group.addoption("--golden", default=None, metavar="PATH",
                    help="a golden file (fixtures/golden/torch-<version>-<device>.npz) to compare the "
                         "running torch with, case by case (parity_tests/test_golden.py)")
    group.addoption("--golden-table", default="reports/golden-drift.md",
                    help="where to write the drift table of a --golden run (Markdown, plus a .json)")


def requested(config, option):
    return [value.strip() for value in config.getoption(option).split(",") if value.strip()]


def pytest_configure(config):
    unknown = set(requested(config, "--dtype")) - set(TORCH_DTYPES)
    if unknown:
        raise pytest.UsageError(f"--dtype: unknown {sorted(unknown)}; choose from {list(TORCH_DTYPES)}")
    load_losses(requested(config, "--losses"))
    config.parity_impl = config.getoption("--impl")
    config.not_covered = [] if config.parity_impl == "torch" else use_implementation(config.parity_impl)
    config.parity_devices = [d for d in requested(config, "--device") if d in present_devices()]
    config.parity_dtypes = requested(config, "--dtype")
    config.parity_cases = requested(config, "--case")
    if hasattr(config, "workerinput"):  # an xdist worker: share the cores, do not oversubscribe them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // config.workerinput["workercount"]))
    else:  # the xdist controller, or a run without xdist
        config.pluginmanager.register(
            MeasuredTablePlugin(config.rootpath / config.getoption("--parity-table")), "parity-table")
        if config.getoption("--golden"):
            config.pluginmanager.register(DriftTablePlugin(
                config.rootpath / config.getoption("--golden-table"), config.getoption("--golden")), "golden-table")


@pytest.fixture
def torch_under_test(request):
    """For tests of torch itself (its coverage, its versions), not of any implementation: they
    skip when --impl names another module."""
    if request.config.parity_impl != "torch":
        pytest.skip(f"checks torch itself; under test: {request.config.parity_impl}")


def pytest_report_header(config):
    under_test = (f"torch {torch.__version__} (torch.nn.functional)" if config.parity_impl == "torch" else
                  f"{config.parity_impl} ({sys.modules[config.parity_impl].__file__}) on torch tensors; "
                  f"not covered: {', '.join(config.not_covered) or 'none'}")
    return [
        f"under test: {under_test}",
        f"torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"devices present: {', '.join(present_devices())}; checked: {', '.join(config.parity_devices)}",
        f"dtypes: {', '.join(config.parity_dtypes)}; known torch divergences in the ledger: {len(LEDGER)}",
    ]
