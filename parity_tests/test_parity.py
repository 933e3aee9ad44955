"""Parity of every record's cases: torch on each device and dtype against the float64 reference."""
import pytest

from .harness import (ABSENT_DEVICE_REASONS, ParityMismatch, compare, describe_call, expected_dtype,
                      present_devices, run_case, selected_cases, skip_if_unavailable, to_torch)
from .records import RECORDS
from .tables import parity_id, tolerance_for


def parity_params(config):
    """(record, case, device, dtype) for every supported combination the options select; a
    case that needs a newer torch is skipped with the version it needs."""
    return [pytest.param(record, case, device, dtype, id=parity_id(record.name, device, dtype, case.name),
                         marks=[pytest.mark.skip(reason=why)] if why else [])
            for record, case, device, dtype, why in selected_cases(RECORDS, config.parity_devices,
                                                                    config.parity_dtypes)]


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_parity":
        metafunc.parametrize("record, case, device, dtype", parity_params(metafunc.config))
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


def test_parity(record, case, device, dtype, request):
    tolerance = tolerance_for(record.name, device, dtype, case.name)
    actual, expected, (torch_args, torch_kwargs) = run_case(record, case, dtype, device)
    context = (f"case: {record.name} on {device} in {dtype}, {case.name!r} (seed {case.seed}, "
               f"layout {case.layout})\n  call: {describe_call(record, torch_args, torch_kwargs)}"
               f"\n  rerun: pytest '{request.node.nodeid}'")
    measured = {"id": request.node.callspec.id, "loss": record.name, "device": device, "dtype": dtype,
                "tolerance": tolerance.source, "rtol": tolerance.rtol, "atol": tolerance.atol}
    try:
        measurement = compare(actual, expected, expected_dtype(torch_kwargs, dtype), tolerance, context)
    except ParityMismatch as mismatch:
        found = mismatch.measurement or {"abs": float("inf"), "rel": float("inf"), "fraction": float("inf")}
        request.node.user_properties.append(("parity", {**measured, **found}))
        raise
    request.node.user_properties.append(("parity", {**measured, **measurement}))


def test_requested_device_is_present(device):
    if device not in present_devices():
        pytest.skip(f"device {device} requested but absent: "
                    f"{ABSENT_DEVICE_REASONS.get(device, 'torch does not know this device')}")


def test_torch_still_lacks_dtype(record, device, dtype, request):
    """A dtype the record marks unsupported must still raise; when torch adds it, this fails
    and the record should move the dtype into its grid."""
    if request.config.parity_impl != "torch":
        pytest.skip(f"the dtype gaps are torch's; under test: {request.config.parity_impl}")
    case = record.cases()[0]
    args, kwargs = case.arguments()
    skip_if_unavailable(record, kwargs)
    try:
        record.torch_fn(*[to_torch(a, dtype, device, case.layout) for a in args],
                        **{k: to_torch(v, dtype, device, case.layout) for k, v in kwargs.items()})
    except (RuntimeError, NotImplementedError):
        return
    pytest.fail(f"torch now runs {record.name} in {dtype} on {device}, which the record marks "
                f"unsupported ({record.unsupported[(device, dtype)]}): move the dtype into its grid")
