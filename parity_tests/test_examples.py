"""The shipped example losses as properties, and `--impl` on the in-repo candidates (a
torch-wrapping one with bugs of its own, one written from scratch; the wheel test runs another).
The examples' parity (values, dtypes, layouts, bad calls) comes from their records, registered
with parity_tests.register_loss in parity_tests/examples/__init__.py."""
import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import reference

from .examples import focal_loss, focal_missing, reference_losses, torch_losses
from .suite_runs import (
    NO_LOSS_WEIGHTS,
    ROOT,
    TAKES_LOSS_WEIGHTS,
    needs_checkout,
    run_pytest,
    run_pytest_inline,
)


def logits_and_targets(rng, shape=(6, 4)):
    return rng.normal(0.0, 4.0, shape), (rng.random(shape) < 0.4).astype(np.float64)


def test_focal_loss_with_gamma_0_and_no_alpha_is_bce_with_logits():
    x, t = logits_and_targets(np.random.default_rng(1))
    np.testing.assert_allclose(reference_losses.sigmoid_focal_loss(x, t, alpha=-1.0, gamma=0),
                               reference.binary_cross_entropy_with_logits(x, t, reduction="none"), rtol=1e-15)
    if focal_loss is None:
        pytest.skip(focal_missing)
    x, t = torch.from_numpy(x), torch.from_numpy(t)
    torch.testing.assert_close(focal_loss(x, t, alpha=-1.0, gamma=0),
                               F.binary_cross_entropy_with_logits(x, t, reduction="none"), rtol=1e-15, atol=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cutmix_target_is_cross_entropy_with_the_mixed_probability_target(reduction):
    """lam CE(x, y_a) + (1 - lam) CE(x, y_b) == CE(x, lam onehot(y_a) + (1 - lam) onehot(y_b))."""
    rng = np.random.default_rng(2)
    x, y_a = rng.normal(0.0, 2.0, (8, 10)), rng.integers(0, 10, 8)
    y_b, lam = y_a[rng.permutation(8)], reference_losses.cutmix_lambda(rng, 32, 32)
    mixed = lam * np.eye(10)[y_a] + (1 - lam) * np.eye(10)[y_b]
    np.testing.assert_allclose(reference_losses.cutmix_cross_entropy(x, y_a, y_b, lam, reduction),
                               reference.cross_entropy(x, mixed, reduction=reduction), rtol=1e-13)
    x, y_a, y_b, mixed = map(torch.from_numpy, (x, y_a, y_b, mixed))
    torch.testing.assert_close(torch_losses.cutmix_cross_entropy(x, y_a, y_b, lam, reduction),
                               F.cross_entropy(x, mixed, reduction=reduction), rtol=1e-13, atol=0)


def test_cutmix_lambda_is_one_minus_the_box_share_of_the_image():
    rng = np.random.default_rng(3)
    lams = np.array([reference_losses.cutmix_lambda(rng, 32, 24) for _ in range(200)])
    assert ((lams >= 0) & (lams <= 1)).all()
    assert np.allclose(np.round((1 - lams) * 32 * 24), (1 - lams) * 32 * 24), "a box covers whole pixels"


def test_regularized_cross_entropy_without_regularizer_is_cross_entropy():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0.0, 2.0, (6, 5)), rng.integers(0, 5, 6)
    np.testing.assert_allclose(reference_losses.reg_cross_entropy_loss(x, y, reg_lambda=0.0),
                               reference.cross_entropy(x, y), rtol=1e-15)
    # the regularizer, sum_c p_c^2, lies in [1/C, 1]: reg_lambda = 1 adds between 0.2 and 1
    extra = reference_losses.reg_cross_entropy_loss(x, y, reg_lambda=1.0) - reference.cross_entropy(x, y)
    assert 0.2 <= extra <= 1.0


def tf_sigmoid_cross_entropy_with_logits(labels, logits):
    """TensorFlow's documented formula: max(x, 0) - x z + log(1 + exp(-|x|))."""
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def tf_softmax_cross_entropy_with_logits(labels, logits):
    """TensorFlow's definition: -sum_c labels_c log_softmax(logits)_c, labels not normalised."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return -np.sum(labels * (shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))), axis=-1)


# shared/seeds/001_2cf915faea1e028e.txt, section 9: the labels include the unnormalised [1, 1, 0]
DOC_001_LABELS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 0]], dtype=np.float64)
DOC_001_LOGITS = np.array([[12, 3, 2], [3, 10, 1], [1, 2, 5], [4, 6.5, 1.2], [3, 6, 1]])


def test_tensorflow_sigmoid_cross_entropy_is_bce_with_logits_elementwise():
    rng = np.random.default_rng(5)
    for labels, logits in ((DOC_001_LABELS, DOC_001_LOGITS),
                           (rng.random((50, 7)), rng.normal(0, 30, (50, 7)))):
        ours = reference.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        np.testing.assert_allclose(ours, tf_sigmoid_cross_entropy_with_logits(labels, logits),
                                   rtol=1e-13, atol=1e-300)


def test_tensorflow_softmax_cross_entropy_is_cross_entropy_with_probability_targets():
    rng = np.random.default_rng(6)
    unnormalised = rng.random((50, 7)) * 3
    for labels, logits in ((DOC_001_LABELS, DOC_001_LOGITS), (unnormalised, rng.normal(0, 30, (50, 7)))):
        np.testing.assert_allclose(reference.cross_entropy(logits, labels, reduction="none"),
                                   tf_softmax_cross_entropy_with_logits(labels, logits), rtol=1e-13)
    # the document's TensorFlow output for the row [1, 1, 0]: 2.6669841 (float32)
    assert reference.cross_entropy(DOC_001_LOGITS, DOC_001_LABELS, reduction="none")[3] == \
        pytest.approx(2.6669841, rel=1e-7)


@needs_checkout
def test_the_readme_example_of_adding_a_loss_runs(tmp_path):
    """The documented complete example (docs/adding-a-loss.md), saved as a user's module and named
    with --losses."""
    guide = (ROOT / "docs" / "adding-a-loss.md").read_text()
    example = guide.split("## Your own losses")[1].split("```python")[1].split("```")[0]
    (tmp_path / "mylosses.py").write_text(example)
    result = run_pytest("parity_tests", "-q", "--losses", "mylosses", "-k", "squared_hinge",
                        tmp_path=tmp_path, pythonpath=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "| squared_hinge | cpu | float16 | squared_hinge-float16 |" in (tmp_path / "table.md").read_text()


@needs_checkout
@pytest.mark.skipif(not TAKES_LOSS_WEIGHTS, reason=NO_LOSS_WEIGHTS)
def test_a_torch_wrapping_candidate_is_green_but_for_its_own_bug(tmp_path):
    """--impl on a candidate that is torch's own losses but for a huber_loss that ignores delta
    and a stricter cross_entropy: only huber_loss fails, on its delta cases, with
    the candidate named in the message; its kl_div and BCE-with-logits share torch's known
    divergences (the ledger applies to any candidate where it gives torch eager's output), which
    with --ledger none are its own; its rejection of a label_smoothing torch ignores (and the
    reference rejects) passes, noted in the measured table."""
    module = "parity_tests.examples.wrapped_torch_losses"
    selection = ["-k",
                 "test_parity and cpu-float64 and (huber_loss or kl_div or binary_cross_entropy_with_logits)"
                 " or cross_entropy-label_smoothing_negative"]
    result = run_pytest_inline("parity_tests/test_parity.py", "parity_tests/test_torch_api.py", "--impl",
                               module, *selection, "-rf", tmp_path=tmp_path)
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "test_parity[huber_loss-cpu-float64]" in failed[0], result.stdout[-3000:]
    failing_cases = re.search(r"all failing cases: (.*)", result.stdout).group(1).split(", ")
    assert failing_cases and all("delta" in name for name in failing_cases), failing_cases
    assert re.search(r"at index \(.*\): wrapped_torch_losses [-\d.e]+, reference [-\d.e]+", result.stdout)
    assert f"by {module}" in result.stdout and "call: wrapped_torch_losses.huber_loss(" in result.stdout
    rows = json.loads((tmp_path / "table.json").read_text())
    shared = lambda loss: sum(row["torch's known divergences"] for row in rows if row["loss"] == loss)
    assert shared("kl_div") >= 4 and shared("binary_cross_entropy_with_logits") >= 2, rows
    assert all(row["new divergences"] == 0 for row in rows if row["loss"] != "huber_loss")
    assert any("stricter than torch: rejects label_smoothing_negative" in row["notes"] for row in rows), rows

    strict = run_pytest_inline("parity_tests/test_parity.py", "--impl", module, "--ledger", "none", "-k",
                               "cpu-float64 and kl_div", "-rf", tmp_path=tmp_path)
    assert "FAILED parity_tests/test_parity.py::test_parity[kl_div-cpu-float64]" in strict.stdout, \
        strict.stdout[-3000:]


@needs_checkout
def test_ledger_cases_tell_a_candidate_right_where_torch_is_wrong_from_one_wrong_its_own_way(
        tmp_path, monkeypatch):
    """At torch's known divergences a candidate either agrees with the reference (candidate_losses'
    softplus-based soft_margin_loss, where torch overflows) or is new there when its output is
    not torch eager's (a kl_div that writes 5 where torch gives nan), however the entry reads."""
    (tmp_path / "nan_free_losses.py").write_text("import torch.nn.functional as F\n\n\ndef kl_div(*args, "
                                                 "**kwargs):\n    return F.kl_div(*args, "
                                                 "**kwargs).nan_to_num(nan=5.0)\n")
    monkeypatch.syspath_prepend(tmp_path)
    result = run_pytest_inline("parity_tests/test_parity.py", "--impl", "nan_free_losses", "-k",
                               "kl_div-cpu-float64", "--case",
                               "zero_target_at_minus_inf_input-*,log_target_minus_inf-*",
                               tmp_path=tmp_path)
    failing = re.search(r"all failing cases: (.*)", result.stdout).group(1).split(", ")
    assert len(failing) == 4 and all("minus_inf" in name for name in failing), failing
    assert "where nan_free_losses differs from torch eager too" in result.stdout, result.stdout[-3000:]
    rows = json.loads((tmp_path / "table.json").read_text())
    assert sum(row["torch's known divergences"] for row in rows) == 0, rows

    better = run_pytest_inline("parity_tests/test_parity.py", "--impl",
                               "parity_tests.examples.candidate_losses",
                               "-k", "soft_margin_loss-cpu", tmp_path=tmp_path)
    assert better.returncode == 0, better.stdout[-3000:]
    rows = json.loads((tmp_path / "table.json").read_text())
    assert sum(row["agrees where torch diverges"] for row in rows) >= 4, rows
