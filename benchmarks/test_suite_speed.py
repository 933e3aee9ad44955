"""The parity suite's own speed: value and gradient checks per second in one process, per
family of records, as an item runs them (runner.CaseChecks, torch eager on CPU, every dtype),
without pytest's cost per item. Targets (issue 13): 5,000 value checks/s and 2,500 gradient
checks/s per process; `python -m benchmarks.report` lists them."""
import pytest

from parity_tests.examples import EXAMPLES
from parity_tests.harness import selected_cases
from parity_tests.records import classification, margin, regression, sequence
from parity_tests.registry import FLOAT_DTYPES
from parity_tests.runner import CaseChecks
from parity_tests.under_test import UnderTest

FAMILIES = {"classification": classification.RECORDS, "regression": regression.RECORDS,
            "margin": margin.RECORDS, "sequence": sequence.RECORDS, "examples": EXAMPLES}
TINY_CASES = 2  # cases per record x dtype at --bench-sizes tiny (the smoke test)


@pytest.mark.parametrize("what", ["values", "gradients"])
@pytest.mark.parametrize("family", FAMILIES)
def test_suite_checks(family, what, benchmark, request):
    tiny = "tiny" in request.config.getoption("--bench-sizes")
    under_test, taken, work = UnderTest("torch"), {}, []
    for record, case, device, dtype in selected_cases(FAMILIES[family], ["cpu"], FLOAT_DTYPES):
        count = taken.setdefault((record.name, dtype), [0])
        if (what == "values" or record.gradient) and not under_test.missing(record, case.arguments()[1]) \
                and not (tiny and count[0] >= TINY_CASES):
            work.append(CaseChecks(record, case, device, dtype, under_test, request.node))
            count[0] += 1

    def run():
        return sum(len(getattr(checks, what)()) for checks in work)
    checks = benchmark.pedantic(run, rounds=1 if tiny else 3, warmup_rounds=0 if tiny else 1)
    benchmark.group = f"suite {what}"
    benchmark.extra_info.update(suite=family, what=what, checks=checks)
