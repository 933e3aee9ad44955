"""A candidate implementation to check with `--impl parity_tests.examples.candidate_losses`:
a few losses written with torch ops, as a user's own kernels would be, and one deliberate bug
(mse_loss's weighted mean divides by the element count instead of the sum of the weights).
It has no other loss, so the run reports the rest as not covered."""
import torch
from torch.nn import _reduction


def _reduce(loss, size_average, reduce, reduction, denominator=None):
    if size_average is not None or reduce is not None:
        reduction = _reduction.legacy_get_string(size_average, reduce, emit_warning=False)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / (loss.numel() if denominator is None else denominator)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    loss = (input - target).abs()
    if weight is None:
        return _reduce(loss, size_average, reduce, reduction)
    return _reduce(loss * weight, size_average, reduce, reduction, denominator=weight.expand_as(loss).sum())


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    loss = (input - target) ** 2
    if weight is None:
        return _reduce(loss, size_average, reduce, reduction)
    return _reduce(loss * weight, size_average, reduce,
                   reduction)  # the bug: a weighted mean is sum(w l) / sum(w)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    return _reduce(torch.nn.functional.softplus(-target * input), size_average, reduce, reduction)
