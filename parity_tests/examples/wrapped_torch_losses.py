"""A candidate that wraps torch.nn.functional, as a project's dispatch layer over torch does:
every loss is torch's own (so it shares torch's known divergences), except four changes of its own:

- a deliberate bug: huber_loss ignores `delta` (it always uses 1.0);
- a subtler one: mse_loss has torch's values and gradients, but its gradient is computed from
  detached inputs, so its second derivative is 0, which only `--transform double-backward` sees
  (the mechanism of torch's own chunked linear_cross_entropy);
- an autocast bug: under torch.autocast on CPU, kl_div rounds its inputs to bfloat16 before
  torch's kl_div (which autocast runs in float32), so a float32 loss of float32 inputs carries
  bfloat16's error, which only `--transform autocast` sees;
- a stricter check: cross_entropy rejects a negative label_smoothing, which torch silently
  ignores (the reference rejects it too).

`--impl parity_tests.examples.wrapped_torch_losses` reports the bug as a new divergence, the rest
as agreeing with the reference or sharing torch's known divergences, and the stricter check as a
note in the measured table."""
import torch
import torch.nn.functional as F


def weighted(weight):
    """weight= where one is given (torch before 2.6 has no weight= for l1, mse and huber)."""
    return {} if weight is None else {"weight": weight}


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    return F.huber_loss(input, target, reduction=reduction, delta=1.0,
                        **weighted(weight))  # the bug: delta ignored


class _SquaredDifference(torch.autograd.Function):
    """(input - target)^2, its gradient computed from detached copies: torch's values and
    gradients, and a gradient that does not depend on the input (a Hessian of 0)."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input.detach(), target.detach())
        return (input - target) ** 2

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        slope = 2 * (input - target) * grad
        return slope, -slope


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    squared = _SquaredDifference.apply(*torch.broadcast_tensors(input, target))
    return F.l1_loss(squared, torch.zeros_like(squared), size_average, reduce, reduction, **weighted(weight))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if cpu_autocast_enabled():  # the bug: bfloat16 inputs to a float32 computation
        input, target = input.bfloat16(), target.bfloat16()
    return F.kl_div(input, target, size_average, reduce, reduction, log_target)


def cpu_autocast_enabled():
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch before 2.4 takes no device there
        return torch.is_autocast_cpu_enabled()


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean",
                  label_smoothing=0.0):
    if label_smoothing < 0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1], got {label_smoothing}")
    return F.cross_entropy(input, target, weight, size_average, ignore_index, reduce, reduction,
                           label_smoothing)


def __getattr__(name):  # every other loss is torch's
    return getattr(F, name)
