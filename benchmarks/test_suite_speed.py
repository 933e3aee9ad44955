"""The parity suite's own speed: checks per second in one process, per family of records and
kind of check, as an item runs them (runner.CaseChecks, torch eager on CPU), without pytest's
cost per item: values and gradients in every dtype, and the transforms' checks in theirs.
Targets: 5,000 value checks/s and 2,500 gradient checks/s per process (issue 13), each
transform's full run under 5 minutes (issue 18); `python -m benchmarks.report` lists them."""
import pytest

from parity_tests.examples import EXAMPLES
from parity_tests.harness import selected_cases
from parity_tests.records import classification, margin, regression, sequence
from parity_tests.registry import FLOAT_DTYPES
from parity_tests.runner import CaseChecks
from parity_tests.under_test import TRANSFORMS, UnderTest

FAMILIES = {"classification": classification.RECORDS, "regression": regression.RECORDS,
            "margin": margin.RECORDS, "sequence": sequence.RECORDS, "examples": EXAMPLES}
TINY_CASES = 2  # cases per record x dtype at --bench-sizes tiny (the smoke test)
# CaseChecks method -> (dtypes, grid cases only), as the plugin runs them
CHECKS = {"values": (FLOAT_DTYPES, False), "gradients": (FLOAT_DTYPES, False),
          **{method: (dtypes, kind == "double_backward") for _, method, kind, dtypes in TRANSFORMS.values()}}


@pytest.mark.parametrize("what", CHECKS)
@pytest.mark.parametrize("family", FAMILIES)
def test_suite_checks(family, what, benchmark, request):
    tiny = "tiny" in request.config.getoption("--bench-sizes")
    under_test, taken, work = UnderTest("torch"), {}, []
    dtypes, grid_only = CHECKS[what]
    for record, case, device, dtype in selected_cases(FAMILIES[family], ["cpu"], dtypes, grid_only):
        count = taken.setdefault((record.name, dtype), [0])
        wanted = what in ("values", "autocast_values", "vmap_checks") or record.gradient
        runnable = not under_test.missing(record, case.arguments()[1], case.variant)
        if wanted and runnable and not (tiny and count[0] >= TINY_CASES):
            work.append(CaseChecks(record, case, device, dtype, under_test, request.node))
            count[0] += 1

    def run():
        return sum(len(getattr(checks, what)()) for checks in work)
    checks = benchmark.pedantic(run, rounds=1 if tiny else 3, warmup_rounds=0 if tiny else 1)
    benchmark.group = f"suite {what}"
    benchmark.extra_info.update(suite=family, what=what, checks=checks)
