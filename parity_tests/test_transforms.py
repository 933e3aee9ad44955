"""The implementation under a transform (--transform), through the same runner as values and
gradients. double-backward: every record's Hessian-vector products, argument by argument, in
float64 on the grid cases, against central differences of the reference's analytic gradient;
where torch has no double backward the table says so (verdict "unsupported", torch's message)."""
import json

from .nested import needs_checkout, run_pytest_inline
from .runner import ItemRunner


def test_double_backward(record, device, dtype, second_derivative_cases, request):
    ItemRunner(request, record, device, dtype).run(second_derivative_cases, "second_derivatives")


@needs_checkout
def test_double_backward_mode_on_torch_and_on_a_candidate_without_curvature(tmp_path):
    """A small selection of the mode (so that it cannot rot in CI): torch passes, with its silent
    zero Hessian of chunked linear_cross_entropy recognised from the ledger and ctc_loss's missing
    double backward as data; the wrapped candidate's mse_loss, right in value and gradient but
    with a gradient computed from detached inputs, fails on its Hessian-vector products."""
    selection = ["parity_tests/test_transforms.py", "--transform", "double-backward", "-k",
                 "test_double_backward and (mse_loss or linear_cross_entropy or ctc_loss)"]
    torch_run = run_pytest_inline(*selection, tmp_path=tmp_path)
    assert torch_run.returncode == 0 and "3 passed" in torch_run.stdout, torch_run.stdout[-3000:]
    rows = {row["loss"]: row for row in json.loads((tmp_path / "table.json").read_text())}
    assert rows["linear_cross_entropy d/dinput (double_backward)"]["torch's known divergences"] == 18
    ctc = rows["ctc_loss d/dlog_probs (double_backward)"]
    assert ctc["unsupported"] == ctc["cases"] and "_ctc_loss_backward is not implemented" in ctc["notes"]
    assert rows["mse_loss d/dinput (double_backward)"]["new divergences"] == 0

    candidate = run_pytest_inline(*selection, "--impl", "parity_tests.examples.wrapped_torch_losses",
                                  tmp_path=tmp_path)
    failed = [line for line in candidate.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "test_double_backward[mse_loss-cpu-float64]" in failed[0], candidate.stdout[-3000:]
    assert "Hessian-vector product of input (central differences of the reference's gradient)" in candidate.stdout
