"""Randomized parity with Hypothesis on top of the fixed grid: random shapes, keyword
subsets (omitted keywords test the defaults), layouts and seeds, through the same harness.
The `ci` profile (the default) is derandomized; `--hypothesis-profile dev` explores.
Items are parametrized by the loss's name, so that a failure prints the case, not the record."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from .case_ids import value_id
from .harness import compare, describe_call, expected_dtype, run_case, torch_arguments
from .records import BY_NAME, RECORDS
from .registry import LAYOUTS, Case
from .tables import divergences_for, tolerance_for


def draw_case(data, record):
    dims = data.draw(record.random_dims, label="dims")
    variant = data.draw(st.sampled_from(record.variants), label="variant")
    choice = {key: data.draw(st.sampled_from(values), label=key)
              for key, values in record.keyword_grid.items() if data.draw(st.booleans(), label=f"pass {key}")}
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    build = lambda _: record.build(np.random.default_rng(seed), dims, variant, dict(choice))
    assume(build(None) is not None)
    # named as the grid names its cases, so that the ledger's patterns match it
    return Case(record.name, f"{variant}-random{dims}_{layout}-{choice}-seed{seed}", build, layout=layout)


RANDOMIZED = [record.name for record in RECORDS if record.random_dims is not None]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("loss", RANDOMIZED)
@given(data=st.data())
def test_randomized_parity(loss, dtype, data, under_test):
    record = BY_NAME[loss]
    if ("cpu", dtype) in record.unsupported:
        pytest.skip(f"{record.name} in {dtype} on cpu: {record.unsupported[('cpu', dtype)]}")
    case = draw_case(data, record)
    why = under_test.missing(record, case.arguments()[1])
    if why:
        pytest.skip(why)
    assume(not divergences_for(value_id(record.name, "cpu", dtype, case.name)))  # the grid checks those
    actual, expected, (_, torch_kwargs) = run_case(record, case, dtype, "cpu", under_test.function(record))

    def context():
        call = describe_call(record, *torch_arguments(case, dtype, "cpu")[0])
        return (f"case: {case.name} on cpu in {dtype} by {under_test.name}\n  call: {call}\n  rerun: pytest "
                f"parity_tests/test_randomized.py -k '{loss} and {dtype}' (the ci profile draws the same cases)")
    compare(actual, expected, expected_dtype(torch_kwargs, dtype), tolerance_for(record.name, "cpu", dtype, case.name),
            context, under_test.label)
