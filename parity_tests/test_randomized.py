"""Randomized parity with Hypothesis on top of the fixed grid: random shapes, keyword
subsets (omitted keywords test the defaults), layouts and seeds, through the same harness.
The `ci` profile (the default) is derandomized; `--hypothesis-profile dev` explores.
Items are parametrized by the loss's name, so that a failure prints the case, not the record."""
import functools

import numpy as np
import pytest
import torch
from hypothesis import assume, given, strategies as st

from .case_ids import value_id
from .harness import TORCH_DTYPES, compare, describe_call, expected_dtype, run_case, torch_arguments
from .records import BY_NAME, RECORDS
from .registry import LAYOUTS, Case
from .runner import skip_if_not_implemented
from .tables import divergences_for, tolerance_for


@functools.cache
def case_strategy(loss):
    """(dims, variant, keywords, seed, layout) in one draw: a random shape, a subset of the
    grid's keywords (omitted ones test the defaults), the seed of the case's data, a layout."""
    record = BY_NAME[loss]
    keywords = st.fixed_dictionaries({}, optional={key: st.sampled_from(values)
                                                   for key, values in record.keyword_grid.items()})
    return st.tuples(record.random_dims, st.sampled_from(record.variants), keywords, st.integers(0, 2**32 - 1),
                     st.sampled_from(LAYOUTS))


def draw_case(data, record, dtype):
    dims, variant, choice, seed, layout = data.draw(case_strategy(record.name), label="dims, variant, keywords, "
                                                    "seed, layout")
    build = lambda _: record.build(np.random.default_rng(seed), dims, variant, dict(choice))
    assume(build(None) is not None)
    # named as the grid names its cases, so that the ledger's patterns match it
    name = f"{variant}-random{dims}_{layout}-{choice}-seed{seed}{numerical_tags(build(None), dtype)}"
    return Case(record.name, name, build, layout=layout, variant=variant)


def numerical_tags(arguments, dtype):
    """Properties of a case's data that known divergences depend on, as a suffix of its name, so
    that the ledger's patterns match randomized draws as they match the grid's edge cases:
    `-subnormal_squared_norm` where a floating input, rounded to `dtype`, has a squared norm
    over its last axis between 0 and the dtype's smallest normal number."""
    tiny = torch.finfo(TORCH_DTYPES[dtype]).tiny
    for value in [*arguments[0], *arguments[1].values()]:
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim:
            rounded = torch.from_numpy(value).to(TORCH_DTYPES[dtype]).double().numpy()
            squared = np.sum(rounded ** 2, axis=-1)
            if np.any((squared > 0) & (squared < tiny)):
                return "-subnormal_squared_norm"
    return ""


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
        actual, expected, (_, torch_kwargs) = run_case(record, case, dtype, "cpu", under_test.function(record))
    except RuntimeError as error:  # a kernel this torch lacks: a visible skip with torch's message
        skip_if_not_implemented(error, f"{record.name} in {dtype} on cpu")

    def context():
        call = describe_call(record, *torch_arguments(case, dtype, "cpu")[0])
        return (f"case: {case.name} on cpu in {dtype} by {under_test.name}\n  call: {call}\n  rerun: pytest "
                f"parity_tests/test_randomized.py -k '{loss} and {dtype}' (the ci profile draws the same cases)")
    compare(actual, expected, expected_dtype(torch_kwargs, dtype), tolerance_for(record.name, "cpu", dtype, case.name),
            context, under_test.label)
