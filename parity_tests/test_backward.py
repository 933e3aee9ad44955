"""Backward parity: torch autograd's gradients against the reference's analytic gradients, on
every case of every record with a reference gradient, in each dtype and device, and the
reference's gradients against central finite differences in float64."""

import numpy as np
import pytest
import torch

from .harness import (
    bound_arguments,
    differentiated,
    finite_difference_step,
    floating,
    unavailable,
    upstream_has_zeros,
    with_argument,
)
from .records import BY_NAME, RECORDS
from .runner import ItemRunner
from .suite_runs import needs_checkout, run_pytest_inline


def pytest_generate_tests(metafunc):
    if "record_with_gradient" in metafunc.fixturenames:
        checkable = [record for record in RECORDS
                     if record.gradient and set(record.differentiable) - set(record.no_finite_differences)]
        metafunc.parametrize("record_with_gradient", checkable,
                             ids=lambda r: r.name)


def test_backward(record, device, dtype, gradient_cases, request):
    """Each case's gradients, one argument at a time, with the upstream gradient that
    upstream_gradient gives (with zeros in it for a third of the cases, chosen by their seed)."""
    ItemRunner(request, record, device, dtype).run(gradient_cases, "gradients")


FINITE_DIFFERENCE_CASES = 12  # of each record's grid, away from its edge cases


def test_reference_gradient_matches_finite_differences(record_with_gradient):
    """sum(g * L(x + h v)) - sum(g * L(x - h v)) over 2h against sum(gradient * v), for a random
    direction v per argument, on grid cases whose inputs and outputs are finite (kinks are met
    with probability 0 there; the edge cases that sit on them are left out)."""
    record, checked = record_with_gradient, 0
    for case in record.cases()[:FINITE_DIFFERENCE_CASES]:
        args, kwargs = case.arguments()
        bound = bound_arguments(record, args, kwargs)
        output = np.asarray(record.reference(*args, **kwargs), dtype=np.float64)
        if not np.isfinite(output).all() or output.size == 0:
            continue
        rng = np.random.default_rng(case.seed)
        upstream = rng.normal(size=output.shape)
        gradients = record.gradient(upstream, *args, **kwargs)
        for name in set(differentiated(record, bound)) - set(record.no_finite_differences):
            value = bound.get(name)
            if not (isinstance(value, np.ndarray) and value.dtype.kind == "f" and np.isfinite(value).all()
                    and np.isfinite(gradients[name]).all()):  # e.g. kl_div's target gradient at a zero target
                continue
            direction = rng.normal(size=value.shape)
            step = finite_difference_step(value)

            def objective(shift, name=name, value=value, direction=direction):
                call_args, call_kwargs = with_argument(record, args, kwargs, name, value + shift * direction)
                return float(np.sum(upstream * np.asarray(record.reference(*call_args, **call_kwargs),
                                                          dtype=np.float64)))
            numeric = (objective(step) - objective(-step)) / (2 * step)
            analytic = float(np.sum(gradients[name] * direction))
            assert numeric == pytest.approx(analytic, rel=1e-5, abs=1e-7), \
                f"{record.name}, {case.name}: d/d{name} along a random direction: finite differences " \
                f"{numeric!r}, " \
                f"analytic {analytic!r}"
            checked += 1
    assert checked >= 3, f"{record.name}: only {checked} gradients checked"


def test_ctc_gradient_is_that_of_the_logits():
    """ctc_loss's gradient as torch takes it is d/dz of ctc(log_softmax(z)) at z = log_probs
    (log_softmax leaves normalised log-probabilities unchanged): central differences along a
    random direction, through the reference's log_softmax, on the record's grid cases."""
    import reference
    record = next(record for record in RECORDS if record.name == "ctc_loss")
    checked = 0
    for case in record.cases()[:FINITE_DIFFERENCE_CASES]:
        (log_probs, *rest), kwargs = case.arguments()
        rng = np.random.default_rng(case.seed)
        output = np.asarray(record.reference(log_probs, *rest, **kwargs))
        if not np.isfinite(output).all():
            continue
        upstream = rng.normal(size=output.shape)
        direction = rng.normal(size=log_probs.shape)

        def objective(shift):
            moved = reference.log_softmax(log_probs + shift * direction, dim=-1)
            return float(np.sum(upstream * np.asarray(record.reference(moved, *rest, **kwargs))))
        numeric = (objective(1e-6) - objective(-1e-6)) / 2e-6
        gradient = record.gradient(upstream, log_probs, *rest, **kwargs)["log_probs"]
        analytic = float(np.sum(gradient * direction))
        assert numeric == pytest.approx(analytic, rel=1e-5, abs=1e-7), \
            f"{case.name}: {numeric!r} vs {analytic!r}"
        checked += 1
    assert checked >= 3


@needs_checkout
def test_a_case_is_checked_the_same_alone(tmp_path):
    """Under --case the selected case runs first in its item; its upstream gradient (with zeros
    for this case, chosen by its seed) and its verdict are those of the full run."""
    result = run_pytest_inline("parity_tests/test_backward.py", "-k",
                               "binary_cross_entropy_with_logits-cpu-float64", "--case",
                               "infinite_logits-none",
                               tmp_path=tmp_path)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:]
    assert upstream_has_zeros(next(case for case in BY_NAME["binary_cross_entropy_with_logits"].cases()
                                   if case.name == "infinite_logits-none"))


# records whose reference lacks a gradient torch takes: strict xfails, so that writing it is noticed
GRADIENTS_NOT_YET_IN_THE_REFERENCE = {
    "linear_cross_entropy": "weight, and a probability target",
}


def differentiated_by_torch(record, case):
    """The floating tensor arguments torch differentiates in a case, found one at a time (that
    argument alone requires grad): a gradient comes back, where torch's derivative is not
    implemented it raises, and an argument the loss does not depend on gets none."""
    from .harness import torch_arguments
    found = set()
    (args, kwargs), _ = torch_arguments(case, "float64", "cpu")
    bound = bound_arguments(record, args, kwargs)
    for name, value in bound.items():
        if not floating(value):
            continue
        (args, kwargs), _ = torch_arguments(case, "float64", "cpu")  # fresh tensors
        tensor = bound_arguments(record, args, kwargs)[name].requires_grad_()
        try:
            gradient, = torch.autograd.grad(record.torch_fn(*args, **kwargs).sum(), [tensor],
                                            allow_unused=True)
        except RuntimeError:  # e.g. "the derivative for 'weight' is not implemented"
            continue
        if gradient is not None:
            found.add(name)
    return found


@pytest.mark.parametrize("record", [
    pytest.param(record, marks=pytest.mark.xfail(strict=True, reason=f"no reference gradient for "
                                                 f"{GRADIENTS_NOT_YET_IN_THE_REFERENCE[record.name]} yet"))
    if record.name in GRADIENTS_NOT_YET_IN_THE_REFERENCE else record
    for record in RECORDS if record.gradient], ids=lambda record: record.name)
def test_torch_and_the_reference_differentiate_the_same_arguments(record, torch_under_test):
    """On every contiguous grid case, the floating tensor arguments torch differentiates are the
    reference's gradients (and the record's differentiable ones), each of its argument's shape
    (broadcast dimensions summed)."""
    from .harness import reference_arguments, skip_if_unavailable, torch_arguments
    skip_if_unavailable(record)
    mismatches = []
    for case in record.grid_cases():
        if case.layout != "contiguous" or unavailable(record, case.arguments()[1], case.variant):
            continue
        by_torch = differentiated_by_torch(record, case)
        args, kwargs = reference_arguments(*torch_arguments(case, "float64", "cpu"))
        output = np.asarray(record.reference(*args, **kwargs))
        by_reference = record.gradient(np.ones(output.shape), *args, **kwargs)
        bound = bound_arguments(record, args, kwargs)
        named = {name for name in by_reference if name in bound}
        listed = set(differentiated(record, bound))
        shapes = {name: (np.shape(by_reference[name]), np.shape(bound[name])) for name in named
                  if np.shape(by_reference[name]) != np.shape(bound[name])}
        if not by_torch == named == listed or shapes:
            mismatches.append(f"{case.name}: torch differentiates {sorted(by_torch)}, the reference "
                              f"{sorted(named)}, the record lists {sorted(listed)}; gradient shapes unlike "
                              f"their argument's: {shapes}")
    assert not mismatches, f"{len(mismatches)} cases of {record.name}, first: " + "\n".join(mismatches[:3])
