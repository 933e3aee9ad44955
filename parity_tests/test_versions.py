"""Running on any torch from 2.2: what the running torch supports is discovered from it (its
signatures, its answer to a variant, its 'not implemented' messages) and reported as data; the
matrix command's compatibility table tells kernels gained or lost and conventions changed."""
import dataclasses
import xml.etree.ElementTree as ElementTree
from collections import Counter

import numpy as np
import pytest
import torch

from . import matrix
from .environments import torch_requirements
from .harness import FIRST_CALLS, TORCH_VERSION, unavailable
from .records import BY_NAME
from .registry import BadCall, LossRecord, Shape
from .runner import not_implemented
from .test_torch_api import torch_accepts


def toy_record(torch_fn, **fields):
    """A record of an elementwise loss with a reduction keyword and a 'float' variant (its second
    argument a Python float), whose torch side is `torch_fn`."""
    def reference(input, scale, reduction="mean"):
        return np.mean(input * scale)

    def build(rng, dims, variant, kwargs):
        return (rng.normal(size=dims), 2.0 if variant == "float" else rng.normal(size=dims)), kwargs
    return LossRecord(name="toy_loss", reference=reference, torch_fn=torch_fn, build=build,
                      shapes=(Shape("N3", (3,)),), keyword_grid={"reduction": ["mean", "sum"]},
                      variants=("array", "float"), **fields)


def test_a_keyword_the_running_torch_lacks_is_found_from_its_signature():
    """The signature decides, whatever the versions say; they only word the message."""
    def without_reduction(input, scale):
        return (input * scale).mean()
    record = toy_record(without_reduction, keyword_since={"reduction": "9.0"})
    assert unavailable(record, {"reduction": "sum"}) == \
        f"toy_loss: reduction= (torch 9.0) newer than torch {TORCH_VERSION}"
    assert unavailable(record, {}) == ""
    told_wrong = toy_record(without_reduction, keyword_since={"reduction": "2.0"})  # data says it is there
    assert unavailable(told_wrong, {"reduction": "sum"}) == \
        f"toy_loss: torch {TORCH_VERSION} takes no reduction="
    takes_any = toy_record(lambda input, scale, **kwargs: (input * scale).mean())
    assert unavailable(takes_any, {"reduction": "sum"}) == ""


def test_a_variant_the_running_torch_refuses_is_found_by_calling_it_once():
    """A variant in variant_since is run once on torch: refused, each of its cases is unavailable
    with torch's own message and the version the record names; other variants run."""
    calls = []

    def refuses_floats(input, scale, reduction="mean"):
        calls.append(type(scale))
        return (input * scale.size(0)).mean()  # a float has no .size, as gaussian_nll_loss's var in torch 2.2
    record = toy_record(refuses_floats, variant_since={"float": "9.0"})
    FIRST_CALLS.pop(("toy_loss", "float", "float64", "cpu"), None)
    try:
        why = unavailable(record, {}, "float")
        assert why == (f"toy_loss: torch {TORCH_VERSION} does not take its 'float' cases (torch 9.0 does): "
                       "AttributeError: 'float' object has no attribute 'size'")
        assert unavailable(record, {}, "float") == why and calls == [float]  # asked once per process
        assert unavailable(record, {}, "array") == ""
    finally:
        FIRST_CALLS.pop(("toy_loss", "float", "float64", "cpu"), None)


def test_gaussian_nll_loss_float_var_is_a_variant_whose_support_is_discovered():
    record = BY_NAME["gaussian_nll_loss"]
    float_cases = [case for case in record.cases() if case.variant == "float"]
    assert float_cases and "float" in record.variant_since
    takes_floats = TORCH_VERSION >= record.variant_since["float"]
    assert (unavailable(record, {}, "float") == "") == takes_floats
    bad = next(bad for bad in record.bad_calls if bad.name == "var_negative_float")
    assert bad.variant == "float"


def test_a_bad_call_torch_began_to_reject_is_accepted_by_older_ones():
    bad = BadCall("margin_zero", lambda rng: ((), {}), ValueError, "margin")
    assert torch_accepts(bad) == ""
    newer = dataclasses.replace(bad, torch_rejects_since="9.0")
    assert torch_accepts(newer) == f"torch {TORCH_VERSION} accepts margin_zero (torch 9.0 rejects it)"
    assert torch_accepts(dataclasses.replace(bad, torch_rejects_since="2.0")) == ""


def test_torchs_missing_kernel_is_told_from_other_errors():
    try:
        torch.nn.functional.multi_margin_loss(torch.ones(2, 3, dtype=torch.float16), torch.tensor([0, 1]))
        pytest.skip(f"torch {torch.__version__} has a float16 CPU multi_margin_loss")
    except RuntimeError as error:
        message = not_implemented(error)  # a NotImplementedError, or a RuntimeError in torch 2.2
        assert "Error: \"multi_margin_loss" in message and "not implemented for 'Half'" in message, message
    assert not_implemented(RuntimeError("the size of tensor a (3) must match")) == ""


def test_an_old_torch_gets_a_numpy_it_can_use():
    assert torch_requirements("2.2.2") == ["torch==2.2.2", "numpy==1.26.4"]
    assert torch_requirements("2.6.0") == ["torch==2.6.0"]
    assert torch_requirements("2.15.0+cpu") == ["torch==2.15.0+cpu"]


def measured_row(loss, dtype, cases, unsupported=0, notes=""):
    return {"loss": loss, "device": "cpu", "dtype": dtype, "cases": cases,
            "unsupported": unsupported, "notes": notes,
            **dict.fromkeys(matrix.VERDICT_COLUMNS[:3], 0)}


def two_versions():
    """torch 2.2.2 lacks nll_loss in float16 and passes the gradient at a kink; 2.15.0 has the
    kernel and takes the other one-sided derivative."""
    old = [measured_row("nll_loss", "float16", 10, 10, "unsupported: torch 2.2.2: NotImplementedError: "
                        "\"nll_loss_out_frame\" not implemented for 'Half'"),
           measured_row("hinge_embedding_loss d/dinput", "bfloat16", 5,
                        notes="at a hinge's kink torch passes the gradient (as clamp_min at 0)")]
    new = [measured_row("nll_loss", "float16", 10),
           measured_row("hinge_embedding_loss d/dinput", "bfloat16", 5,
                        notes="at a hinge's kink torch takes the other one-sided derivative")]
    return [{"torch": "2.2.2", "rows": old}, {"torch": "2.15.0", "rows": new}]


def test_the_matrix_shows_a_kernel_gained_and_a_convention_changed():
    support, = matrix.support_rows(two_versions())
    assert (support["torch 2.2.2"], support["torch 2.15.0"]) == ("no", "yes")
    assert "\"nll_loss_out_frame\" not implemented for 'Half'" in support["torch's message"]
    convention, = matrix.convention_rows(two_versions())
    assert convention["torch 2.2.2"] == "passes the gradient (as clamp_min at 0)"
    assert convention["dtypes"] == "bfloat16"
    assert convention["convention change"] == \
        "passes the gradient (as clamp_min at 0) -> takes the other one-sided derivative"
    runs = [{**run, "summary": {"torch": run["torch"]}, "skips": Counter(), "failing": []}
            for run in two_versions()]
    text = matrix.report(runs, "python -m parity_tests.matrix --torch 2.2.2,2.15.0")
    assert "**convention change** in hinge_embedding_loss's gradient at its kink" in text
    same = [{**run, "rows": two_versions()[1]["rows"]} for run in runs]
    assert "**convention change**" not in matrix.report(same, "")


def test_the_matrix_counts_outcomes_from_junit(tmp_path):
    suite = ElementTree.fromstring(
        '<testsuites><testsuite>'
        '<testcase classname="a" name="passes"/>'
        '<testcase classname="a" name="fails"><failure message="x"/></testcase>'
        '<testcase classname="a" name="breaks"><error message="x"/></testcase>'
        '<testcase classname="a" name="skips"><skipped type="pytest.skip" '
        'message="parity_tests/runner.py:315: nll_loss on cpu in float16: torch 2.2.2: no '
        'kernel"/></testcase><testcase classname="a" name="xfails"><skipped type="pytest.xfail" '
        'message="known"/></testcase></testsuite></testsuites>')
    ElementTree.ElementTree(suite).write(tmp_path / "junit.xml")
    counts, skips, failing = matrix.outcomes(tmp_path / "junit.xml")
    assert dict(counts) == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1, "xfailed": 1}
    assert dict(skips) == {"nll_loss on cpu in float16: torch 2.2.2: no kernel": 1}
    assert failing == ["a::fails", "a::breaks"]
