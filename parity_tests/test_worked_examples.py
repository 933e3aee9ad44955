"""The worked examples of the source documents and of other projects' tests, as data in
fixtures/worked_examples.json: each value as printed, against an mpmath expectation."""
import math

import numpy as np
import pytest
import torch

import reference

from . import high_precision
from .tolerances_and_ledgers import load

EXAMPLES = load("worked_examples.json")["examples"]
by_id = pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example["id"])


def flat(values):
    return list(np.ravel(np.asarray(values, dtype=np.float64)))


def within_printed(printed, value, precision):
    """Whether `value` rounds to the printed string at its printed precision."""
    shown = float(printed)
    if "decimals" in precision:
        allowed = 0.5 * 10.0 ** -precision["decimals"]
    elif "significant" in precision:
        allowed = 0.5 * 10.0 ** (math.floor(math.log10(abs(shown))) - precision["significant"] + 1)
    else:
        allowed = precision["abs"]
    return abs(value - shown) <= allowed * (1 + 1e-9)


def expectation(example):
    return high_precision.evaluate(example.get("expectation_function", example["function"]),
                                   example.get("expectation_args", example["args"]),
                                   example.get("expectation_kwargs", example["kwargs"]))


@by_id
def test_stored_expectation_is_the_high_precision_closed_form(example):
    np.testing.assert_allclose(flat(example["expected"]), flat(expectation(example)), rtol=1e-15, atol=0)


@pytest.mark.parametrize("example", [example for example in EXAMPLES if example["printed"] is not None],
                         ids=lambda example: example["id"])
def test_printed_value_matches_the_expectation(example):
    """(An example whose source prints no value says why in its printed_note.)"""
    expected = flat(example["expected"])
    if example.get("printed_of") == "mean":  # the source printed the mean of the output
        expected = [float(np.mean(expected))]
    pairs = list(zip(np.ravel(example["printed"]), expected))
    if "negative" in example:
        mistaken = high_precision.evaluate(example["mistaken_function"], example["mistaken_args"], {})
        assert within_printed(example["printed"], flat(mistaken)[0], example["printed_precision"])
        assert not any(within_printed(p, v, example["printed_precision"]) for p, v in pairs), \
            example["negative"]
    else:
        outside = [(p, v) for p, v in pairs if not within_printed(p, v, example["printed_precision"])]
        assert not outside, f"printed value and expectation differ: {outside}"


def call(function, example):
    args = [np.asarray(arg) for arg in example["args"]]
    return function(*args, **example["kwargs"])


@by_id
def test_reference_gives_the_expectation(example):
    if "historical" in example:
        with pytest.raises(ValueError, match="^target: "):
            call(getattr(reference, example["function"]), example)
        return
    np.testing.assert_allclose(flat(call(getattr(reference, example["function"]), example)),
                               flat(example["expected"]), rtol=1e-12, atol=1e-15)


@by_id
def test_torch_gives_the_expectation_in_float64(example):
    function = getattr(torch.nn.functional, example["function"])
    as_tensors = lambda function: lambda *args, **kwargs: function(*map(torch.from_numpy, args), **kwargs)
    if "historical" in example:
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            call(as_tensors(function), example)
        return
    result = call(as_tensors(function), example)
    np.testing.assert_allclose(flat(result.numpy()), flat(example["expected"]), rtol=1e-12, atol=1e-15)
