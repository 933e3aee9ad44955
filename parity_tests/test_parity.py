"""Parity of every record's cases: torch on each device and dtype against the float64 reference.

One test item per loss x device x dtype runs all of its cases: pytest's own cost of an item
(about 1.5 ms) would otherwise be several times the cost of a case. A failing item lists every
failing case, the first ones in full, each with the command that reruns it alone (--case)."""
import pytest

from .harness import (ABSENT_DEVICE_REASONS, ParityMismatch, compare, describe_call, expected_dtype,
                      present_devices, run_case, run_torch, skip_if_unavailable)
from .items import ItemReport, item_params
from .records import RECORDS
from .tables import parity_id, tolerance_for

def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_parity":
        metafunc.parametrize("record, device, dtype, cases", item_params(metafunc.config, RECORDS))
    elif metafunc.function.__name__ == "test_requested_device_is_present":
        from conftest import requested
        metafunc.parametrize("device", requested(metafunc.config, "--device"))
    elif metafunc.function.__name__ == "test_torch_still_lacks_dtype":
        gaps = [pytest.param(record, device, dtype, id=f"{record.name}-{device}-{dtype}")
                for record in RECORDS for (device, dtype) in record.unsupported
                if device in metafunc.config.parity_devices]
        none = pytest.param(None, None, None, id="none", marks=pytest.mark.skip(
            reason="no record marks a dtype unsupported on the devices checked"))
        metafunc.parametrize("record, device, dtype", gaps or [none])


def check_case(record, case, device, dtype, tolerance, nodeid):
    """("passed", measurement, None), ("mismatch", measurement or None, message) or ("error",
    None, message) for one case."""
    calls = {}

    def context():
        call = describe_call(record, *calls["torch"]) if "torch" in calls else "(torch was not called)"
        return (f"case: {record.name} on {device} in {dtype}, {case.name!r} (seed {case.seed}, layout "
                f"{case.layout})\n  call: {call}\n  rerun: pytest '{nodeid}' --case '{case.name}'")
    try:
        actual, expected, calls["torch"] = run_case(record, case, dtype, device)
        return "passed", compare(actual, expected, expected_dtype(calls["torch"][1], dtype), tolerance, context), None
    except ParityMismatch as mismatch:
        return "mismatch", mismatch.measurement, str(mismatch)
    except Exception as error:  # torch or the reference raised: a failure, never a silent pass
        return "error", None, f"{type(error).__name__}: {error}\n  {context()}"


def test_parity(record, device, dtype, cases, request):
    """Each case against the reference; the ledger of known torch divergences applies (items.py)."""
    report = ItemReport(request)
    for case in cases:
        tolerance = tolerance_for(record.name, device, dtype, case.name)
        outcome, measured, message = check_case(record, case, device, dtype, tolerance, request.node.nodeid)
        report.add(parity_id(record.name, device, dtype, case.name), case.name, record.name, device, dtype,
                   tolerance, outcome, measured, message)
    report.finish(len(cases), f"{record.name} on {device} in {dtype}")


def test_requested_device_is_present(device):
    if device not in present_devices():
        pytest.skip(f"device {device} requested but absent: "
                    f"{ABSENT_DEVICE_REASONS.get(device, 'torch does not know this device')}")


def test_torch_still_lacks_dtype(record, device, dtype, torch_under_test):
    """A dtype the record marks unsupported must still raise; when torch adds it, this fails
    and the record should move the dtype into its grid."""
    case = record.cases()[0]
    skip_if_unavailable(record, case.arguments()[1])
    try:
        run_torch(record, case, dtype, device)
    except (RuntimeError, NotImplementedError):
        return
    pytest.fail(f"torch now runs {record.name} in {dtype} on {device}, which the record marks "
                f"unsupported ({record.unsupported[(device, dtype)]}): move the dtype into its grid")
