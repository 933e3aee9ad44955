"""The pytest plugin of the parity suite, registered with a `pytest11` entry point so that an
installed wheel runs anywhere (`python -m pytest --pyargs parity_tests --impl mypkg.losses`):
the options, the session's ParityRun in config.stash, the report header, the parametrization of
the batched items by fixture name, and the measured and drift tables at the end."""
import importlib
import os
import platform
from pathlib import Path

import pytest

PACKAGES = [Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "benchmarks"]
# the suite's warning filters, applied to its own tests only (not to a project that installs it)
WARNING_FILTERS = (
    "error::RuntimeWarning",  # NumPy's overflow or invalid operation in the reference is a bug
    "ignore:Implicit dimension choice for:UserWarning",
    "ignore:size_average and reduce args will be deprecated:UserWarning",
    "ignore:Using a target size:UserWarning",
    "ignore:reduction. 'mean' divides the total loss:UserWarning",
    "ignore:linear_cross_entropy. ..options.. ignored:UserWarning",
    "ignore:.NLLLoss2d. has been deprecated:FutureWarning",
    "ignore:Initializing zero-element tensors is a no-op:UserWarning",
)


def pytest_addoption(parser):
    from .registry import FLOAT_DTYPES
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
    group.addoption("--compile", default="", metavar="BACKEND",
                    help="check torch.compile of torch's functions with this backend (inductor, or "
                         "aot_eager_decomp_partition: torch's decompositions, fast): against the reference, "
                         "and against eager through the ledger; a call that ran no compiled graph fails")
    group.addoption("--ledger", default="torch", choices=("torch", "none"),
                    help="torch (default): a divergence where torch eager is known to diverge, the way it "
                         "does, is reported as shared with torch; none: every divergence is the candidate's "
                         "own")
    from .under_test import TRANSFORMS
    group.addoption("--transform", default="", choices=("", *TRANSFORMS),
                    help="check the implementation under a transform: double-backward (Hessian-vector "
                         "products of every differentiable argument, float64, against central differences of "
                         "the reference's gradient) or autocast (float32 and bfloat16 inputs under "
                         "torch.autocast: the output dtype torch's autocast lists give, the value at the "
                         "precision it ran in) or vmap (torch.func.vmap over 3 samples of each case: values "
                         "and per-sample gradients)")
    group.addoption("--golden", default=None, metavar="PATH",
                    help="a golden file (fixtures/golden/torch-<version>-<device>.npz) to compare the "
                         "running torch with, case by case (parity_tests/test_golden.py)")
    group.addoption("--golden-table", default="reports/golden-drift.md",
                    help="where to write the drift table of a --golden run (Markdown, plus a .json)")


def requested(config, option):
    return tuple(value.strip() for value in config.getoption(option).split(",") if value.strip())


def pytest_configure(config):
    import torch
    from hypothesis import HealthCheck, settings

    from .harness import TORCH_DTYPES, present_devices
    from .measured_table import DriftTablePlugin, MeasuredTablePlugin
    from .under_test import PARITY_RUN, ParityRun, load_under_test

    config.addinivalue_line("markers",
                            "needs_option(option, value=None): an item that runs only when the option "
                                       "is given (value None) or has this value; deselected otherwise")
    settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None, database=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=60, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci")
    check_numpy_bridge()
    unknown = set(requested(config, "--dtype")) - set(TORCH_DTYPES)
    if unknown:
        raise pytest.UsageError(f"--dtype: unknown {sorted(unknown)}; choose from {list(TORCH_DTYPES)}")
    from . import records  # noqa: F401  (the built-in losses are registered first)
    for module in requested(config, "--losses"):  # then the user's, with register_loss
        importlib.import_module(module)
    under_test = load_under_test(config.getoption("--impl"), config.getoption("--ledger"),
                                 config.getoption("--compile"))
    devices = requested(config, "--device")
    config.stash[PARITY_RUN] = ParityRun(under_test,
                                         tuple(d for d in devices if d in present_devices()), devices,
                                         requested(config, "--dtype"), requested(config, "--case"))
    if hasattr(config, "workerinput"):  # an xdist worker: share the cores, do not oversubscribe them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // config.workerinput["workercount"]))
    else:  # the xdist controller, or a run without xdist
        config.pluginmanager.register(MeasuredTablePlugin(
            config.rootpath / config.getoption("--parity-table"), under_test), "parity-table")
        if config.getoption("--golden"):
            config.pluginmanager.register(DriftTablePlugin(
                config.rootpath / config.getoption("--golden-table"), config.getoption("--golden")),
                "golden-table")


def check_numpy_bridge():
    """The suite hands every case from NumPy to torch: a torch built against NumPy 1.x (before
    2.3) cannot convert arrays under NumPy 2, which it says only as a warning; stop with the fix."""
    import numpy as np
    import torch
    try:
        torch.from_numpy(np.zeros(1))
    except RuntimeError as error:
        raise pytest.UsageError(
            f"torch {torch.__version__} cannot take NumPy {np.__version__} arrays ({error}): install the "
            "NumPy it was built for, e.g. pip install 'numpy<2' for torch < 2.3") from None


def pytest_collection_modifyitems(config, items):
    """The suite's warning filters on its own items; items of a mode the run did not ask for
    (--golden, --transform) deselected: a skip would say nothing about the run."""
    def not_asked_for(item):
        marker = item.get_closest_marker("needs_option")
        if marker is None:
            return False
        value = config.getoption(marker.args[0])
        return not value if len(marker.args) == 1 else value != marker.args[1]
    deselected = [item for item in items if not_asked_for(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]
    for item in items:
        if any(Path(item.path).is_relative_to(package) for package in PACKAGES):
            item.add_marker(pytest.mark.filterwarnings(*WARNING_FILTERS))


def pytest_generate_tests(metafunc):
    """The batched items, by the fixtures a test asks for: `value_cases` (one item per loss x
    device x dtype with its cases), `gradient_cases` (the same for records with a gradient),
    `second_derivative_cases`, `autocast_cases` and `vmap_cases` (with --transform), `requested_device`."""
    from .records import RECORDS
    from .runner import item_params
    from .under_test import TRANSFORMS, parity_run
    names = metafunc.fixturenames
    for kind in ("value", "gradient"):
        if f"{kind}_cases" in names:
            metafunc.parametrize(f"record, device, dtype, {kind}_cases",
                                 item_params(metafunc.config, RECORDS, kind))
    for transform, (fixture, _, kind, dtypes) in TRANSFORMS.items():
        if fixture in names:  # the transform's items, in its input dtypes
            asked = metafunc.config.getoption("--transform") == transform
            params = item_params(metafunc.config, RECORDS, kind, list(dtypes)) if asked else [pytest.param(
                None, None, None, [], id="not-asked",
                marks=pytest.mark.needs_option("--transform", transform))]
            metafunc.parametrize(f"record, device, dtype, {fixture}", params)
    if "requested_device" in names:
        metafunc.parametrize("requested_device", parity_run(metafunc.config).requested_devices)


@pytest.fixture(scope="session")
def under_test(request):
    """The implementation the session checks (parity_tests.under_test.UnderTest)."""
    from .under_test import parity_run
    return parity_run(request.config).under_test


@pytest.fixture
def torch_under_test(under_test):
    """For tests of torch itself (its coverage, its versions, its modules), not of any
    implementation: they skip when --impl names a candidate."""
    if not under_test.is_torch:
        pytest.skip(f"checks torch itself; under test: {under_test.name}")


def pytest_report_header(config):
    import numpy as np
    import torch

    from .harness import present_devices
    from .records import RECORDS
    from .tolerances_and_ledgers import LEDGER
    from .under_test import parity_run
    run = parity_run(config)
    return [
        f"under test: {run.under_test.describe(RECORDS)}",
        f"torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"devices present: {', '.join(present_devices())}; checked: {', '.join(run.devices)}",
        f"dtypes: {', '.join(run.dtypes)}; known torch divergences in the ledger: {len(LEDGER)}",
    ]
