"""The implementation under a transform (--transform), through the same runner as values and
gradients. double-backward: every record's Hessian-vector products, argument by argument, in
float64 on the grid cases, against central differences of the reference's analytic gradient;
where torch has no double backward the table says so (verdict "unsupported", torch's message).
autocast: every case with float32 and bfloat16 inputs under torch.autocast on CPU: the output
dtype torch's autocast lists imply (fixtures/autocast.json) and the value at the tolerance of
the precision the loss computed in; torch's known divergences apply in that dtype."""
import json

import pytest

from .harness import unavailable
from .records import BY_NAME
from .runner import ItemRunner
from .suite_runs import NO_LOSS_WEIGHTS, TAKES_LOSS_WEIGHTS, needs_checkout, run_pytest_inline

# what the selections below find depends on what the running torch has (torch 2.6 has no linear_cross_entropy)
HAS_LINEAR_CROSS_ENTROPY = not unavailable(BY_NAME["linear_cross_entropy"])


def test_double_backward(record, device, dtype, second_derivative_cases, request):
    ItemRunner(request, record, device, dtype).run(second_derivative_cases, "second_derivatives")


def test_autocast(record, device, dtype, autocast_cases, request):
    ItemRunner(request, record, device, dtype).run(autocast_cases, "autocast_values")


def test_vmap(record, device, dtype, vmap_cases, request):
    ItemRunner(request, record, device, dtype).run(vmap_cases, "vmap_checks")


@needs_checkout
def test_double_backward_mode_on_torch_and_on_a_candidate_without_curvature(tmp_path):
    """A small selection of the mode (so that it cannot rot in CI): torch passes, with its silent
    zero Hessian of chunked linear_cross_entropy recognised from the ledger, and ctc_loss's missing
    double backward as data (a skip with torch's message, and its row); the wrapped candidate's
    mse_loss, right in value and gradient but with a gradient computed from detached inputs, fails
    on its Hessian-vector products."""
    selection = ["parity_tests/test_transforms.py", "--transform", "double-backward", "-k",
                 "test_double_backward and (mse_loss or linear_cross_entropy or ctc_loss)"]
    torch_run = run_pytest_inline(*selection, tmp_path=tmp_path)
    assert torch_run.returncode == 0 and (
        "2 passed, 1 skipped" in torch_run.stdout or not HAS_LINEAR_CROSS_ENTROPY), \
        torch_run.stdout[-3000:]
    rows = {row["loss"]: row for row in json.loads((tmp_path / "table.json").read_text())}
    if HAS_LINEAR_CROSS_ENTROPY:
        assert rows["linear_cross_entropy d/dinput (double_backward)"]["torch's known divergences"] >= 18
    ctc = rows["ctc_loss d/dlog_probs (double_backward)"]
    assert ctc["unsupported"] == ctc["cases"] and "_ctc_loss_backward is not implemented" in ctc["notes"]
    assert rows["mse_loss d/dinput (double_backward)"]["new divergences"] == 0

    candidate = run_pytest_inline(*selection, "--impl", "parity_tests.examples.wrapped_torch_losses",
                                  tmp_path=tmp_path)
    failed = [line for line in candidate.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "test_double_backward[mse_loss-cpu-float64]" in failed[0], \
        candidate.stdout[-3000:]
    assert "Hessian-vector product of input (central differences of the reference's gradient)" \
        in candidate.stdout


@needs_checkout
def test_autocast_mode_on_torch_and_on_a_candidate_that_rounds_under_autocast(tmp_path):
    """A small selection of the mode: torch passes, its weighted l1/mse escaping the float32
    policy recognised from the ledger, multilabel_soft_margin_loss (unlisted ops) computed and
    returned in bfloat16; the wrapped candidate's kl_div, which rounds to bfloat16 under
    autocast, fails on float32 inputs."""
    selection = ["parity_tests/test_transforms.py", "--transform", "autocast", "-k",
                 "test_autocast and (l1_loss or kl_div or multilabel_soft_margin_loss)"]
    torch_run = run_pytest_inline(*selection, tmp_path=tmp_path)
    assert torch_run.returncode == 0 and " passed" in torch_run.stdout, torch_run.stdout[-3000:]
    rows = {(row["loss"], row["dtype"]): row for row in json.loads((tmp_path / "table.json").read_text())}
    expected = 42 if TAKES_LOSS_WEIGHTS else 0
    assert rows[("l1_loss (autocast)", "bfloat16")]["torch's known divergences"] == expected
    assert rows[("l1_loss (autocast)", "bfloat16")]["tolerance"] == "default float32"
    assert rows[("multilabel_soft_margin_loss (autocast)", "bfloat16")]["tolerance"] == "default bfloat16"

    if not TAKES_LOSS_WEIGHTS:
        pytest.skip(f"torch's half checked; {NO_LOSS_WEIGHTS}")
    candidate = run_pytest_inline(*selection, "--impl", "parity_tests.examples.wrapped_torch_losses",
                                  tmp_path=tmp_path)
    failed = [line for line in candidate.stdout.splitlines() if line.startswith("FAILED")]
    assert failed and all("test_autocast[kl_div-cpu-" in line for line in failed), candidate.stdout[-3000:]
    assert "test_autocast[kl_div-cpu-float32]" in "".join(failed)
    assert "autocast policy: kl_div (float32): returns float32, computed in float32" in candidate.stdout


@needs_checkout
def test_vmap_mode_on_torch_and_on_a_candidate_with_wrong_per_sample_gradients(tmp_path):
    """A small selection of the mode: torch passes, kl_div's missing batching rule noted and
    gaussian_nll_loss's data-dependent check reported as unsupported under vmap, with torch's
    message; candidate_losses' mse_loss (a weighted mean over the element count) fails on its
    values and its per-sample gradients."""
    selection = ["parity_tests/test_transforms.py", "--transform", "vmap", "-k",
                 "test_vmap and cpu-float64 and (mse_loss or kl_div or gaussian_nll_loss)"]
    torch_run = run_pytest_inline(*selection, tmp_path=tmp_path)
    assert torch_run.returncode == 0 and " passed" in torch_run.stdout, torch_run.stdout[-3000:]
    rows = {row["loss"]: row for row in json.loads((tmp_path / "table.json").read_text())}
    assert "no batching rule, vmap loops: aten::kl_div" in rows["kl_div (vmap)"]["notes"]
    gaussian = rows["gaussian_nll_loss (vmap)"]
    assert gaussian["unsupported"] == gaussian["cases"] and "data-dependent control flow" in gaussian["notes"]
    vmap_rows = rows["mse_loss d/dinput (vmap)"]
    assert vmap_rows["new divergences"] == 0 and vmap_rows["cases"] > 40

    candidate = run_pytest_inline(*selection, "--impl", "parity_tests.examples.candidate_losses",
                                  tmp_path=tmp_path)
    failed = [line for line in candidate.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "test_vmap[mse_loss-cpu-float64]" in failed[0], candidate.stdout[-3000:]
    assert "per-sample gradient of input: value differs" in candidate.stdout
