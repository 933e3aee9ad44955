"""Randomized parity with Hypothesis on top of the fixed grid: random shapes, keyword
subsets (omitted keywords test the defaults), layouts and seeds, through the same harness.
The `ci` profile (the default) is derandomized; `--hypothesis-profile dev` explores.
Items are parametrized by the loss's name, so that a failure prints the case, not the record."""
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from .case_ids import value_id
from .harness import compare, describe_call, expected_dtype, run_case, torch_arguments
from .random_cases import draw_case
from .records import BY_NAME, RECORDS
from .runner import skip_if_not_implemented
from .tolerances_and_ledgers import divergences_for, tolerance_for

RANDOMIZED = [record.name for record in RECORDS if record.random_dims is not None]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("loss", RANDOMIZED)
@given(data=st.data())
def test_randomized_parity(loss, dtype, data, under_test):
    record = BY_NAME[loss]
    case = draw_case(data, record, dtype)
    why = under_test.missing(record, case.arguments()[1], case.variant)
    if why:
        pytest.skip(why)
    assume(not divergences_for(value_id(record.name, "cpu", dtype, case.name)))  # the grid checks those
    try:
        actual, expected, (_, torch_kwargs) = run_case(record, case, dtype, "cpu",
                                                       under_test.function(record))
    except RuntimeError as error:  # a kernel this torch lacks: a visible skip with torch's message
        skip_if_not_implemented(error, f"{record.name} in {dtype} on cpu")

    def context():
        call = describe_call(record, *torch_arguments(case, dtype, "cpu")[0])
        return (f"case: {case.name} on cpu in {dtype} by {under_test.name}\n  call: {call}\n  rerun: pytest "
                f"parity_tests/test_randomized.py -k '{loss} and {dtype}' (the ci profile draws the same "
                "cases)")
    compare(actual, expected, expected_dtype(torch_kwargs, dtype),
            tolerance_for(record.name, "cpu", dtype, case.name),
            context, under_test.label)
