"""The harness itself: each kind of mismatch is caught, layouts are what they claim, and the
reference sees exactly the values torch received."""
import dataclasses

import numpy as np
import pytest
import torch

from .harness import ParityMismatch, Tolerance, compare, lay_out, run_case
from .records import BY_NAME
from .registry import Case
from .runner import kink_side

TIGHT = Tolerance(rtol=1e-6, atol=1e-9, source="test")


def check(actual, expected, dtype=torch.float64):
    return compare(torch.tensor(actual, dtype=dtype), np.asarray(expected, dtype=np.float64), dtype,
                   TIGHT, "case: harness self-test")


def test_equal_values_pass_and_are_measured():
    measured = check([1.0, 2.0], [1.0, 2.0 + 1e-7])
    assert measured["abs"] == pytest.approx(1e-7) and measured["fraction"] < 1


@pytest.mark.parametrize("actual, expected, problem", [
    ([1.0, 2.0], [1.0, 2.01], "beyond tolerance at index \\(1,\\)"),
    ([1.0, 2.0], [1.0, 2.0, 3.0], "shape"),
    ([1.0, float("nan")], [1.0, 2.0], "nan in different places"),
    ([1.0, float("inf")], [1.0, float("-inf")], "inf in different places"),
    ([1.0, 2.0], [float("nan"), 2.0], "nan in different places"),
])
def test_mismatches_are_caught_with_the_worst_element(actual, expected, problem):
    with pytest.raises(ParityMismatch, match=problem):
        check(actual, expected)


def test_wrong_output_dtype_is_caught():
    with pytest.raises(ParityMismatch, match="dtype"):
        compare(torch.tensor([1.0], dtype=torch.float32), np.array([1.0]), torch.float16, TIGHT, "case")


@pytest.mark.parametrize("layout", ["strided", "permuted"])
def test_layouts_are_non_contiguous_with_the_same_values(layout):
    array = np.arange(24.0).reshape(2, 3, 4)
    tensor = lay_out(array, torch.float32, "cpu", layout)
    assert not tensor.is_contiguous()
    np.testing.assert_array_equal(tensor.numpy(), array)


def test_reference_gets_the_rounded_values_torch_received(torch_under_test):
    seen = {}
    record = BY_NAME["sigmoid"]
    spy = dataclasses.replace(record, reference=lambda x: seen.setdefault("x", x))
    case = Case("sigmoid", "rounding", lambda rng: ((np.array([0.1, 1 / 3]),), {}))
    run_case(spy, case, "bfloat16", "cpu")
    np.testing.assert_array_equal(seen["x"], torch.tensor([0.1, 1 / 3]).bfloat16().double().numpy())
    assert seen["x"].dtype == np.float64


def test_matching_infinities_are_measured_as_zero_even_without_atol():
    measured = compare(torch.tensor([float("inf"), 1.0], dtype=torch.float64), np.array([np.inf, 1.0]),
                       torch.float64, Tolerance(rtol=1e-6, atol=0.0, source="test"), "case")
    assert measured == {"abs": 0.0, "rel": 0.0, "fraction": 0.0}


@pytest.mark.parametrize("actual, expected, message", [
    ([1.0, float("nan")], [1.0, 2.0],
     r"nan in different places: first at index \(1,\): mine nan, theirs 2.0"),
    ([1.0, 2.5], [1.0, 2.0], r"at index \(1,\): mine 2.5, theirs 2.0"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], r"mine returned shape \(3,\), the theirs \(2,\)"),
])
def test_messages_name_the_implementation_and_what_it_is_compared_with(actual, expected, message):
    with pytest.raises(ParityMismatch, match=message):
        compare(torch.tensor(actual, dtype=torch.float64), np.asarray(expected), torch.float64, TIGHT, "case",
                label="mine", against="theirs")


def test_a_kink_accepts_either_one_sided_derivative_or_between_and_says_which():
    """At a hinge's kink the reference gives both one-sided derivatives: an implementation passes
    with either (or a convex combination), the note says which, and outside both it fails."""
    expected, other = np.array([-1.0, 0.5]), np.array([0.0, 0.5])
    for got, side in (([-1.0, 0.5], "passes the gradient"), ([0.0, 0.5], "other one-sided"),
                      ([-0.5, 0.5], "between")):
        actual = torch.tensor(got, dtype=torch.float64)
        compare(actual, expected, torch.float64, TIGHT, "case", alternative=other)
        assert side in kink_side("torch", actual, expected, other)
    with pytest.raises(ParityMismatch):
        compare(torch.tensor([0.0, 0.5], dtype=torch.float64), expected, torch.float64, TIGHT, "case")
    with pytest.raises(ParityMismatch):
        compare(torch.tensor([0.5, 0.5], dtype=torch.float64), expected, torch.float64, TIGHT, "case",
                alternative=other)
    assert kink_side("torch", torch.tensor([1.0]), np.array([1.0]), np.array([1.0])) == ""
