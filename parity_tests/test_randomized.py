"""Randomized parity with Hypothesis on top of the fixed grid: random shapes, keyword
subsets (omitted keywords test the defaults), layouts and seeds, through the same harness.
The `ci` profile (the default) is derandomized; `--hypothesis-profile dev` explores."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from .harness import compare, expected_dtype, run_case, skip_if_unavailable
from .records import RECORDS
from .registry import LAYOUTS, Case
from .tables import divergences_for, parity_id, tolerance_for


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


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
@given(data=st.data())
def test_randomized_parity(record, dtype, data):
    if record.random_dims is None:
        pytest.skip(f"{record.name}: the record gives no random_dims strategy")
    if ("cpu", dtype) in record.unsupported:
        pytest.skip(f"{record.name} in {dtype} on cpu: {record.unsupported[('cpu', dtype)]}")
    case = draw_case(data, record)
    skip_if_unavailable(record, case.arguments()[1])
    assume(not divergences_for(parity_id(record.name, "cpu", dtype, case.name)))  # the grid checks those
    actual, expected, (_, torch_kwargs) = run_case(record, case, dtype, "cpu")
    compare(actual, expected, expected_dtype(torch_kwargs, dtype),
            tolerance_for(record.name, "cpu", dtype, case.name), f"case: {case.name} on cpu in {dtype}")
