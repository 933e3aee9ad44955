"""The documents' mathematics, stated as properties of the reference itself (Hypothesis):
identities between losses that an independent oracle must satisfy exactly."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import reference

ROWS, CLASSES = st.integers(1, 5), st.integers(1, 6)


@st.composite
def logits_and_probabilities(draw, low=-20.0, high=20.0):
    n, c = draw(ROWS, label="N"), draw(CLASSES, label="C")
    logits = draw(arrays(np.float64, (n, c), elements=st.floats(low, high)), label="logits")
    weights = draw(arrays(np.float64, (n, c), elements=st.floats(0.01, 1.0)), label="raw probabilities")
    return logits, weights / weights.sum(axis=1, keepdims=True)


def entropy(probabilities):
    return -np.sum(np.where(probabilities > 0, probabilities * np.log(probabilities), 0), axis=-1)


@given(logits_and_probabilities())
def test_cross_entropy_is_entropy_plus_kl_divergence(case):
    """H(P, Q) = H(P) + D_KL(P || Q), with Q = softmax(logits)."""
    logits, p = case
    kl = reference.kl_div(reference.log_softmax(logits, 1), p, reduction="none").sum(axis=1)
    np.testing.assert_allclose(reference.cross_entropy(logits, p, reduction="none"), entropy(p) + kl,
                               rtol=1e-10, atol=1e-10)


@given(logits_and_probabilities())
def test_kl_divergence_is_non_negative_and_zero_only_at_equality(case):
    logits, p = case
    q = reference.softmax(logits, 1)
    divergence = reference.kl_div(np.log(q), p, reduction="none").sum(axis=1)
    assert (divergence >= -1e-12).all()
    np.testing.assert_allclose(reference.kl_div(np.log(p), p, reduction="none").sum(axis=1), 0, atol=1e-12)
    unequal = np.abs(p - q).max(axis=1) > 1e-3
    assert (divergence[unequal] > 0).all()


def test_kl_divergence_is_not_symmetric():
    p, q = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    forward = reference.kl_div(np.log(q), p, reduction="sum")
    backward = reference.kl_div(np.log(p), q, reduction="sum")
    assert abs(forward - backward) > 0.1, (forward, backward)


@given(logits_and_probabilities(), st.data())
def test_cross_entropy_is_nll_of_log_softmax(case, data):
    logits, _ = case
    n, c = logits.shape
    target = data.draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)), label="target")
    weight = data.draw(st.none() | arrays(np.float64, (c,), elements=st.floats(0.1, 3.0)), label="weight")
    ignore_index = data.draw(st.sampled_from([-100, 0]), label="ignore_index")
    reduction = data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")
    kwargs = dict(weight=weight, ignore_index=ignore_index, reduction=reduction)
    np.testing.assert_allclose(reference.cross_entropy(logits, target, **kwargs),
                               reference.nll_loss(reference.log_softmax(logits, 1), target, **kwargs),
                               rtol=1e-12, atol=1e-12)


@given(logits_and_probabilities(low=-15.0, high=15.0))
def test_bce_with_logits_is_bce_of_sigmoid_away_from_the_clamp(case):
    """Within |x| <= 15, 1 - sigmoid(x) >= 3e-7 keeps 9 digits in float64 (at |x| = 27 it keeps
    4, a limit of the BCE(sigmoid) route, not of either function)."""
    logits, target = case
    np.testing.assert_allclose(
        reference.binary_cross_entropy_with_logits(logits, target, reduction="none"),
        reference.binary_cross_entropy(reference.sigmoid(logits), target, reduction="none"),
        rtol=1e-8, atol=1e-12)


@given(logits_and_probabilities(), st.data())
def test_multilabel_soft_margin_is_the_class_mean_of_bce_with_logits(case, data):
    logits, target = case
    weight = data.draw(arrays(np.float64, logits.shape[-1:], elements=st.floats(0.1, 3.0)), label="weight")
    per_element = reference.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction="none")
    np.testing.assert_allclose(
        reference.multilabel_soft_margin_loss(logits, target, weight=weight, reduction="none"),
        per_element.mean(axis=-1), rtol=1e-12, atol=1e-12)


@given(arrays(np.float64, st.integers(0, 8), elements=st.floats(-50, 50)),
       arrays(np.float64, st.integers(0, 8), elements=st.floats(-50, 50)),
       st.floats(0.01, 10.0), st.sampled_from(["none", "sum", "mean"]))
def test_huber_is_delta_times_smooth_l1(input, target, delta, reduction):
    size = min(input.size, target.size)
    input, target = input[:size], target[:size]
    np.testing.assert_allclose(
        reference.huber_loss(input, target, reduction=reduction, delta=delta),
        delta * reference.smooth_l1_loss(input, target, reduction=reduction, beta=delta),
        rtol=1e-12, atol=1e-12)
