"""Reductions and argument checks shared by every loss family."""
import math
import warnings

import numpy as np

from ._blocks import map_blocks, sum_blocks

REDUCTIONS = ("none", "mean", "sum")


def legacy_get_string(size_average, reduce, emit_warning=True):
    """torch.nn._reduction.legacy_get_string: both flags default to True.

    (size_average, reduce) -> 'mean' if both, 'sum' if only reduce, else 'none'.
    """
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        reduction = "mean"
    elif reduce:
        reduction = "sum"
    else:
        reduction = "none"
    if emit_warning:
        warnings.warn(
            "size_average and reduce args will be deprecated, "
            f"please use reduction='{reduction}' instead.",
            stacklevel=4,
        )
    return reduction


def resolve_reduction(size_average, reduce, reduction, allowed=REDUCTIONS, warn=True):
    """The reduction torch uses: the legacy flags win when either is given (with torch's
    deprecation warning unless warn=False, as for a gradient after its forward warned)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce, emit_warning=warn)
    check_reduction(reduction, allowed)
    return reduction


def check_reduction(reduction, allowed=REDUCTIONS):
    """Raise a ValueError naming `reduction` unless it is one of `allowed`."""
    if reduction not in allowed:
        raise ValueError(
            f"reduction: {reduction!r} is not a valid value for reduction; expected one of "
            + ", ".join(repr(name) for name in allowed)
        )


def reduce_loss(loss, reduction, denominator=None):
    """'none' -> loss; 'sum' -> sum(loss); 'mean' -> sum(loss) / denominator.

    The denominator defaults to loss.size, so the mean of an empty loss is nan, as in torch.
    """
    if reduction == "none":
        return loss
    return _reduced(loss.sum(dtype=loss.dtype), reduction, loss.size if denominator is None else denominator,
                    loss.dtype)


def reduce_elementwise(formula, arrays, reduction, denominator=None, **named):
    """reduce_loss(formula(*arrays, **named), reduction, denominator), with the formula taken one
    cache block at a time (see _blocks): a 'sum' or 'mean' never holds the whole loss array."""
    if reduction == "none":
        return map_blocks(formula, *arrays, **named)
    dtype = arrays[0].dtype
    return _reduced(sum_blocks(formula, *arrays, dtype=dtype, **named), reduction,
                    arrays[0].size if denominator is None else denominator, dtype)


def _reduced(total, reduction, denominator, dtype):
    """A loss's sum as 'sum' returns it, or divided by the denominator for 'mean'."""
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / np.asarray(denominator, dtype=dtype))


def upstream_per_element(grad_output, reduction, shape, denominator=None):
    """The gradient reaching each element of an unreduced loss of `shape`: grad_output itself
    for 'none', broadcast for 'sum', and divided by the mean's denominator (default: the number
    of elements) for 'mean'."""
    grad_output = np.asarray(grad_output, dtype=np.float64)
    if reduction == "none":
        return np.broadcast_to(grad_output, shape)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            grad_output = grad_output / (math.prod(shape) if denominator is None else denominator)
    return np.broadcast_to(grad_output, shape)


def unbroadcast(gradient, shape):
    """A gradient summed over the dimensions broadcasting added, back to `shape`."""
    extra = gradient.ndim - len(shape)
    summed = gradient.sum(axis=tuple(range(extra))) if extra else gradient
    kept = tuple(i for i, size in enumerate(shape) if size == 1 and summed.shape[i] != 1)
    return summed.sum(axis=kept, keepdims=True) if kept else summed


def check_floating(**arrays):
    """Raise a TypeError naming the first array argument that is not floating (None and Python
    numbers pass): torch computes these losses in floating types only."""
    for name, value in arrays.items():
        if isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.floating):
            raise TypeError(f"{name}: expected a floating point array, got dtype {value.dtype}")


def check_same_dtype(input, **arrays):
    """Raise a TypeError naming the first array argument (None passes) whose dtype is not the
    input's: torch's kernels of these losses take their arguments in one dtype."""
    for name, value in arrays.items():
        if value is not None and np.asarray(value).dtype != input.dtype:
            raise TypeError(f"{name}: expected the input's dtype {input.dtype}, "
                            f"got {np.asarray(value).dtype}")


def broadcast_with_input(input, target, name="target"):
    """input and `name` broadcast together, or a ValueError naming the argument."""
    try:
        return np.broadcast_arrays(input, target)
    except ValueError:
        raise ValueError(f"{name}: shape {np.shape(target)} does not broadcast with the input's shape "
                         f"{np.shape(input)}") from None


def check_same_shape(input, target, name="target"):
    """Raise a ValueError naming `name` unless its shape equals the input's."""
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: expected the input's shape {input.shape}, got {target.shape}"
        )


def broadcast_weight(weight, shape, name="weight"):
    """`weight` broadcast to `shape`, or a ValueError naming the argument."""
    weight = np.asarray(weight)
    try:
        if np.broadcast_shapes(weight.shape, shape) == shape:
            return np.broadcast_to(weight, shape)
    except ValueError:
        pass
    raise ValueError(f"{name}: shape {weight.shape} does not broadcast to the input's shape {shape}")


def check_unit_interval(values, name):
    """Raise a ValueError naming `name` unless every value is in [0, 1] (nan is not)."""
    outside = ~((values >= 0) & (values <= 1))
    if outside.any():
        raise ValueError(
            f"{name}: expected every element in [0, 1], found {values[outside].flat[0]!r}"
        )
