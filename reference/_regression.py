"""Regression and divergence losses: l1, mse, smooth_l1, huber, kl_div, poisson_nll, gaussian_nll."""
import math
import warnings

import numpy as np

from ._reduction import (
    broadcast_with_input,
    check_floating,
    check_reduction,
    reduce_elementwise,
    reduce_loss,
    resolve_reduction,
    unbroadcast,
    upstream_per_element,
)


def _broadcast_target(input, target):
    """Input and target broadcast together, warning as torch does when their shapes differ."""
    input, target = np.asarray(input), np.asarray(target)
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=4,  # the caller of l1_loss, mse_loss, smooth_l1_loss or huber_loss
        )
    return broadcast_with_input(input, target)


def _reduce_distance(loss_of_difference, input, target, weight, reduction, mean_over_weights):
    """w * loss(x - y), reduced, x and y broadcast together; with a weight of the input's shape,
    'mean' divides by sum(w) or, if not mean_over_weights, by the number of elements."""
    input_shape = np.shape(input)
    input, target = _broadcast_target(input, target)
    if weight is None:
        return reduce_elementwise(lambda x, y: loss_of_difference(x - y), (input, target), reduction)
    weight = np.asarray(weight)
    if weight.shape != input_shape:
        raise ValueError(f"weight: expected the input's shape {input_shape}, got {weight.shape}")
    return reduce_elementwise(lambda x, y, w: (w * loss_of_difference(x - y)).astype(x.dtype, copy=False),
                              (input, target, weight), reduction,
                              denominator=weight.sum() if mean_over_weights else None)


def _distance_backward(loss_of_difference, derivative, grad_output, input, target, weight, reduction,
                       mean_over_weights):
    """Gradients of reduce(w * loss(x - y)): g_n w_n loss'(x_n - y_n) for the input and its
    negative for the target; for the weight g_n loss(x_n - y_n), less the weighted mean L where
    'mean' divides by sum(w) (d/dw_n of sum(w loss) / sum(w) is (loss_n - L) / sum(w)); each
    summed back over the dimensions broadcasting added; g_n is the upstream gradient reaching
    element n (see upstream_per_element)."""
    input, target = np.asarray(input), np.asarray(target)
    difference = np.subtract(*np.broadcast_arrays(input, target))
    denominator = np.sum(weight) if weight is not None and mean_over_weights else None
    upstream = upstream_per_element(grad_output, reduction, difference.shape, denominator)
    slope = upstream * derivative(difference)
    if weight is None:
        return {"input": unbroadcast(slope, input.shape), "target": unbroadcast(-slope, target.shape)}
    weight = np.asarray(weight)
    losses = loss_of_difference(difference)
    if reduction == "mean" and mean_over_weights:
        with np.errstate(invalid="ignore", divide="ignore"):  # an empty mean: nan, as torch's
            losses = losses - np.sum(weight * losses) / denominator
    slope = slope * weight
    return {"input": unbroadcast(slope, input.shape), "target": unbroadcast(-slope, target.shape),
            "weight": unbroadcast(upstream * losses, weight.shape)}


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """l_n = w_n * |x_n - y_n|; 'mean' is sum(w * l) / sum(w) with a weight, else the mean.

    A target of another shape is broadcast against the input, with torch's warning.

    Examples:
        The worked example "001-l1_loss" of fixtures/worked_examples.json (nn.L1Loss of ones(2, 2) against
        [[0, 1], [2, 3]]: (1 + 0 + 1 + 2) / 4; document 001_2cf915faea1e028e.txt):

        >>> import numpy as np
        >>> x = np.array([[1.0, 1.0], [1.0, 1.0]])
        >>> y = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> round(float(l1_loss(x, y)), 6)
        1.0

    References:
        torch.nn.functional.l1_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.l1_loss.html
        the source document ../shared/seeds/001_2cf915faea1e028e.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    return _reduce_distance(np.abs, input, target, weight, reduction, True)


def l1_loss_backward(grad_output, input, target, size_average=None, reduce=None,
                     reduction="mean", weight=None):
    """d/dx = g w sign(x - y), with torch's sign(0) = 0 at the kink; d/dy = -d/dx;
    d/dw = g |x - y| (less the weighted mean, over sum(w), for 'mean')."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    return _distance_backward(np.abs, np.sign, grad_output, input, target, weight, reduction, True)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """l_n = w_n * (x_n - y_n)^2; 'mean' is sum(w * l) / sum(w) with a weight, else the mean.

    Examples:
        The worked example "001-mse_loss" of fixtures/worked_examples.json (nn.MSELoss of the same pair;
        document 001_2cf915faea1e028e.txt):

        >>> import numpy as np
        >>> x = np.array([[1.0, 1.0], [1.0, 1.0]])
        >>> y = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> round(float(mse_loss(x, y)), 6)
        1.5

    References:
        torch.nn.functional.mse_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.mse_loss.html
        the source document ../shared/seeds/001_2cf915faea1e028e.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    return _reduce_distance(np.square, input, target, weight, reduction, True)


def mse_loss_backward(grad_output, input, target, size_average=None, reduce=None,
                      reduction="mean", weight=None):
    """d/dx = 2 g w (x - y); d/dy = -d/dx; d/dw = g (x - y)^2 (less the weighted mean, over
    sum(w), for 'mean')."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    return _distance_backward(np.square, lambda d: 2 * d, grad_output, input, target, weight, reduction, True)


def _huber_of_distance(distance, delta):
    """0.5 d^2 if d <= delta, else delta (d - 0.5 delta), branch-free: q (d - 0.5 q) with
    q = min(d, delta)."""
    quadratic = np.minimum(distance, delta)
    return quadratic * (distance - 0.5 * quadratic)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """With d = |x - y|: l = 0.5 d^2 / beta if d < beta, else d - 0.5 beta (d == beta is on the
    linear branch; both give 0.5 beta), i.e. huber(d, delta=beta) / beta. beta = 0 is exactly
    l1_loss; a negative beta is an error.

    Examples:
        The worked example "001-smooth_l1_loss" of fixtures/worked_examples.json (nn.SmoothL1Loss of the same
        pair; document 001_2cf915faea1e028e.txt):

        >>> import numpy as np
        >>> x = np.array([[1.0, 1.0], [1.0, 1.0]])
        >>> y = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> round(float(smooth_l1_loss(x, y)), 6)
        0.625

    References:
        torch.nn.functional.smooth_l1_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.smooth_l1_loss.html
        the source document ../shared/seeds/001_2cf915faea1e028e.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"beta: expected a non-negative value, got {beta}")
    if beta == 0:
        return _reduce_distance(np.abs, input, target, None, reduction, True)
    return _reduce_distance(lambda d: _huber_of_distance(np.abs(d), beta) / beta, input, target, None,
                            reduction, True)


def smooth_l1_loss_backward(grad_output, input, target, size_average=None, reduce=None, reduction="mean",
                            beta=1.0):
    """d/dx = g clip(d / beta, -1, 1) with d = x - y (continuous at |d| = beta; sign(d) when
    beta = 0, as torch takes l1's gradient there); d/dy = -d/dx."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    slope = np.sign if beta == 0 else (lambda d: np.clip(d / beta, -1, 1))
    return _distance_backward(None, slope, grad_output, input, target, None, reduction, True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """With d = |x - y|: l = 0.5 d^2 if d <= delta, else delta (d - 0.5 delta); times w_n.

    huber_loss(delta) == delta * smooth_l1_loss(beta=delta). With a weight, 'mean' is the plain
    mean of w * l (not divided by sum(w), unlike l1_loss and mse_loss). delta must be positive.

    Examples:
        The worked example "keras-huber_loss" of fixtures/worked_examples.json (Huber loss with delta 1;
        document losses_test.py (as cited in issue 3)):

        >>> import numpy as np
        >>> x = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
        >>> y = np.array([[1.0, 0, 1], [1, 0, 0]])
        >>> round(float(huber_loss(x, y)), 6)
        0.104167

    References:
        torch.nn.functional.huber_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.huber_loss.html
    """
    check_reduction(reduction)
    check_floating(input=np.asarray(input))
    if not delta > 0:
        raise ValueError(f"delta: expected a positive value, got {delta}")
    return _reduce_distance(lambda d: _huber_of_distance(np.abs(d), delta), input, target, weight,
                            reduction, False)


def huber_loss_backward(grad_output, input, target, reduction="mean", delta=1.0, weight=None):
    """d/dx = g w clip(x - y, -delta, delta) (continuous at |d| = delta); d/dy = -d/dx;
    d/dw = g huber(x - y); a weighted 'mean' divides by the number of elements."""
    return _distance_backward(lambda d: _huber_of_distance(np.abs(d), delta),
                              lambda d: np.clip(d, -delta, delta),
                              grad_output, input, target, weight,
                              reduction, False)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of a target distribution from log-probabilities x.

    l = y (log y - x), or exp(y) (y - x) with log_target; a zero probability (y = 0, or y = -inf
    with log_target) contributes 0, as its limit; a negative y gives nan, as in torch.
    'batchmean' divides the sum by the batch size x.shape[0]; 'mean' divides by every element and
    warns, as torch does.

    Examples:
        By hand: 0.25 log(0.25 / 0.5) + 0.75 log(0.75 / 0.5).

        >>> import numpy as np
        >>> round(float(kl_div(np.log(np.array([0.5, 0.5])), np.array([0.25, 0.75]), reduction='sum')), 6)
        0.130812

    References:
        torch.nn.functional.kl_div, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.kl_div.html
    """
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            stacklevel=2,
        )
    reduction = resolve_reduction(size_average, reduce, reduction,
                                  allowed=("none", "batchmean", "sum", "mean"))
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input, target=target)
    input, target = np.broadcast_arrays(input, target)
    with np.errstate(invalid="ignore", divide="ignore"):
        if log_target:
            loss = np.where(target == -np.inf, 0, np.exp(target) * (target - input))
        else:
            loss = np.where(target == 0, 0, target * (np.log(target) - input))
    loss = loss.astype(input.dtype)
    if reduction == "batchmean":
        return reduce_loss(loss, "mean", denominator=input.shape[0] if input.ndim else 1)
    return reduce_loss(loss, reduction)


def kl_div_backward(grad_output, input, target, size_average=None, reduce=None, reduction="mean",
                    log_target=False):
    """d/dx = -g y and d/dy = g (log y + 1 - x); with log_target, d/dx = -g exp(y) and
    d/dy = g exp(y) (y - x + 1). 'batchmean' divides g by the batch size. At a zero target
    (not log_target) d/dy is nan, as torch gives it (its y (log y - x) differentiates to
    log 0 + 0 / 0); the one-sided derivative there is -inf."""
    reduction = resolve_reduction(size_average, reduce, reduction,
                                  allowed=("none", "batchmean", "sum", "mean"),
                                  warn=False)
    input, target = np.asarray(input), np.asarray(target)
    x, y = np.broadcast_arrays(input, target)
    denominator = (input.shape[0] if input.ndim else 1) if reduction == "batchmean" else None
    g = upstream_per_element(grad_output, "mean" if reduction == "batchmean" else reduction,
                             x.shape, denominator)
    with np.errstate(invalid="ignore", divide="ignore"):
        if log_target:
            probability = np.exp(y)
            d_input, d_target = -g * probability, g * probability * (y - x + 1)
        else:
            d_input, d_target = -g * y, np.where(y == 0, np.nan, g * (np.log(y) + 1 - x))
    return {"input": unbroadcast(d_input, input.shape), "target": unbroadcast(d_target, target.shape)}


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log likelihood of a rate: l = exp(x) - y x with log_input, else
    x - y log(x + eps). full adds Stirling's approximation of log(y!),
    y log y - y + 0.5 log(2 pi y), only where y > 1 (torch's mask). input and target broadcast.

    Examples:
        The worked example "keras-poisson_nll_loss" of fixtures/worked_examples.json (Poisson loss of a rate
        given directly (log_input=False); document losses_test.py (as cited in issue 3)):

        >>> import numpy as np
        >>> x = np.array([[1.0, 9, 2], [5, 2, 6]])
        >>> y = np.array([[4.0, 8, 12], [8, 1, 3]])
        >>> round(float(poisson_nll_loss(x, y, log_input=False)), 6)
        -3.306582

    References:
        torch.nn.functional.poisson_nll_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.poisson_nll_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = np.asarray(input), np.asarray(target)
    with np.errstate(invalid="ignore", divide="ignore"):
        if log_input:
            loss = np.exp(input) - target * input
        else:
            loss = input - target * np.log(input + eps)
        if full:
            stirling = target * np.log(target) - target + 0.5 * np.log(2 * math.pi * target)
            loss = loss + np.where(target > 1, stirling, 0)
    return reduce_loss(np.asarray(loss, dtype=input.dtype), reduction)


def poisson_nll_loss_backward(grad_output, input, target, log_input=True, full=False, size_average=None,
                              eps=1e-8, reduce=None, reduction="mean"):
    """d/dx = g (exp(x) - y), or g (1 - y / (x + eps)); d/dy = -g x, or -g log(x + eps), plus
    g (log y + 1 / (2 y)) from Stirling's term where y > 1 with full; each summed back to its
    argument's shape."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    g = upstream_per_element(grad_output, reduction, np.broadcast_shapes(x.shape, y.shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        if log_input:
            d_input, d_target = g * (np.exp(x) - y), -g * x
        else:
            d_input, d_target = g * (1 - y / (x + eps)), -g * np.log(x + eps)
        if full:
            d_target = d_target + np.where(y > 1, g * (np.log(y) + 0.5 / y), 0)
    return {"input": unbroadcast(d_input, x.shape), "target": unbroadcast(d_target, y.shape)}


def _check_variance(var, input):
    """var as an array that broadcasts as torch allows: the input's shape, the input's shape
    without its last dim (unsqueezed there), or the input's shape with one dim of size 1."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError(f"var: expected a non-negative variance, got {var}")
        return np.full_like(input, var)
    var = np.asarray(var)
    check_floating(var=var)
    if (var < 0).any():
        raise ValueError(f"var: expected non-negative entries, found {var[var < 0].flat[0]!r}")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return np.expand_dims(var, -1)
    if var.ndim == input.ndim and sum(
            var_size for size, var_size in zip(input.shape, var.shape) if size != var_size) == 1:
        return var
    raise ValueError(
        f"var: expected the input's shape {input.shape}, that shape without its last dim, or "
        f"with one dim of size 1; got {var.shape}"
    )


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log likelihood: l = 0.5 (log(max(var, eps)) + (x - y)^2 / max(var, eps)),
    plus 0.5 log(2 pi) if full. eps clamps the variance (it is not added to it).

    Examples:
        By hand: (log 2 + (1 - 3)^2 / 2) / 2.

        >>> import numpy as np
        >>> round(float(gaussian_nll_loss(np.array([1.0]), np.array([3.0]), np.array([2.0]))), 6)
        1.346574

    References:
        torch.nn.functional.gaussian_nll_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.gaussian_nll_loss.html
    """
    input, target = np.asarray(input), np.asarray(target)
    var = _check_variance(var, input)
    check_reduction(reduction)
    var = np.maximum(var, eps)
    loss = 0.5 * (np.log(var) + np.square(input - target) / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(np.asarray(loss, dtype=input.dtype), reduction)


def gaussian_nll_loss_backward(grad_output, input, target, var, full=False, eps=1e-6, reduction="mean"):
    """With v = max(var, eps) and d = x - y: d/dx = g d / v, d/dy = -g d / v and
    d/dvar = g (1 / v - d^2 / v^2) / 2, summed to var's shape. As in torch, the clamp passes the
    gradient through: below eps, d/dvar is taken at v = eps, not 0."""
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    given = var
    v = np.maximum(_check_variance(var, x), eps)
    difference = x - y
    g = upstream_per_element(grad_output, reduction, np.broadcast_shapes(difference.shape, v.shape))
    gradients = {"input": unbroadcast(g * difference / v, x.shape),
                 "target": unbroadcast(-g * difference / v, y.shape)}
    if not isinstance(given, float):
        d_var = g * (1 / v - np.square(difference) / np.square(v)) / 2
        gradients["var"] = unbroadcast(d_var, np.shape(v)).reshape(np.shape(given))
    return gradients
