"""Parity of every record's cases: torch on each device and dtype against the float64 reference.

One test item per loss x device x dtype runs all of its cases: pytest's own cost of an item
(about 1.5 ms) would otherwise be several times the cost of a case. A failing item lists every
failing case, the first ones in full, each with the command that reruns it alone (--case)."""
import fnmatch
import time

import pytest

from .harness import (ABSENT_DEVICE_REASONS, ParityMismatch, compare, describe_call, expected_dtype,
                      present_devices, run_case, selected_cases, skip_if_unavailable, to_torch)
from .measured_table import parity_row
from .records import RECORDS
from .tables import divergences_for, parity_id, tolerance_for

SHOWN_IN_FULL = 3  # failing cases whose whole message a failing item shows


def parity_params(config):
    """(record, device, dtype, cases) for every supported combination the options select; the
    cases that this torch cannot run (a newer feature, a missing function) form an item of their
    own, skipped with the reason."""
    groups = {}
    for record, case, device, dtype, why in selected_cases(RECORDS, config.parity_devices, config.parity_dtypes):
        if not config.parity_cases or any(fnmatch.fnmatchcase(case.name, p) for p in config.parity_cases):
            groups.setdefault((record.name, device, dtype, why), (record, []))[1].append(case)
    return [pytest.param(record, device, dtype, cases, id=f"{name}-{device}-{dtype}" + ("-skipped" if why else ""),
                         marks=[pytest.mark.skip(reason=why)] if why else [])
            for (name, device, dtype, why), (record, cases) in groups.items()]


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_parity":
        metafunc.parametrize("record, device, dtype, cases", parity_params(metafunc.config))
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
    """Each case against the reference. A case in the ledger of known torch divergences must
    still diverge (a mismatch, not an error), unless its entry says torch's value is arbitrary
    (strict: false); the ledger applies to torch only, not to an --impl module."""
    ledger_applies = request.config.parity_impl == "torch"
    rows, problems, started = {}, [], time.perf_counter()
    for case in cases:
        case_id = parity_id(record.name, device, dtype, case.name)
        tolerance = tolerance_for(record.name, device, dtype, case.name)
        outcome, measured, message = check_case(record, case, device, dtype, tolerance, request.node.nodeid)
        known = divergences_for(case_id) if ledger_applies else []
        row = rows.setdefault(tolerance.source, parity_row(record.name, device, dtype, tolerance))
        row["cases"] += 1
        row["ids"].append(case_id)
        if known and outcome == "mismatch":
            row["xfailed"] += 1
            continue
        if outcome == "passed" and any(entry.get("strict", True) for entry in known):
            message = (f"torch now agrees with the reference on a known divergence "
                       f"({', '.join(entry['id'] for entry in known)}): update fixtures/known_divergences.json"
                       f"\n  rerun: pytest '{request.node.nodeid}' --case '{case.name}'")
        if message is not None:
            row["failed"] += 1
            problems.append((case.name, message))
        measured = measured or {"abs": float("inf"), "rel": float("inf"), "fraction": float("inf")}
        for key in ("abs", "rel", "fraction"):
            row[key] = max(row[key], measured[key])
    for row in rows.values():
        request.node.user_properties.append(("parity", row))
    request.node.user_properties.append(("parity_seconds", (len(cases), time.perf_counter() - started)))
    if problems:
        shown = "\n\n".join(message for _, message in problems[:SHOWN_IN_FULL])
        pytest.fail(f"{len(problems)} of {len(cases)} cases of {record.name} on {device} in {dtype} failed; "
                    f"the first {min(len(problems), SHOWN_IN_FULL)} in full:\n\n{shown}\n\nall failing cases: "
                    + ", ".join(name for name, _ in problems), pytrace=False)


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
