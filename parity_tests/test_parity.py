"""Parity of every record's cases: the implementation under test (torch eager unless --impl)
on each device and dtype against the float64 reference.

One test item per loss x device x dtype runs all of its cases (runner.py): pytest's own cost of
an item (about 1.5 ms) would otherwise be several times the cost of a case. A failing item lists
every failing case, the first ones in full, each with the command that reruns it alone (--case)."""
import pytest

from .harness import ABSENT_DEVICE_REASONS, present_devices, run_torch, skip_if_unavailable
from .records import RECORDS
from .runner import ItemRunner
from .under_test import parity_run


def test_parity(record, device, dtype, value_cases, request):
    """Each case's value against the reference, with a verdict (runner.py)."""
    ItemRunner(request, record, device, dtype).run(value_cases, "values")


def test_requested_device_is_present(requested_device):
    if requested_device not in present_devices():
        pytest.skip(f"device {requested_device} requested but absent: "
                    f"{ABSENT_DEVICE_REASONS.get(requested_device, 'torch does not know this device')}")


def dtype_gaps(config):
    return [pytest.param(record, device, dtype, id=f"{record.name}-{device}-{dtype}")
            for record in RECORDS for (device, dtype) in record.unsupported if device in parity_run(config).devices]


def pytest_generate_tests(metafunc):
    if "dtype_gap" in metafunc.fixturenames:
        gaps = dtype_gaps(metafunc.config) or [pytest.param(None, None, None, id="none", marks=pytest.mark.skip(
            reason="no record marks a dtype unsupported on the devices checked"))]
        metafunc.parametrize("dtype_gap", [pytest.param(p.values, id=p.id, marks=p.marks) for p in gaps])


def test_torch_still_lacks_dtype(dtype_gap, torch_under_test):
    """A dtype the record marks unsupported must still raise; when torch adds it, this fails
    and the record should move the dtype into its grid."""
    record, device, dtype = dtype_gap
    case = record.cases()[0]
    skip_if_unavailable(record, case.arguments()[1])
    try:
        run_torch(record, case, dtype, device)
    except (RuntimeError, NotImplementedError):
        return
    pytest.fail(f"torch now runs {record.name} in {dtype} on {device}, which the record marks "
                f"unsupported ({record.unsupported[(device, dtype)]}): move the dtype into its grid")
