"""softmax, log_softmax, sigmoid and logsigmoid, as torch.nn.functional computes them."""
import warnings

import numpy as np

from ._blocks import along_slices, map_blocks
from ._reduction import check_floating


def _implicit_dim(name, ndim):
    """torch's deprecated rule for dim=None: dim 0 for 0-, 1- and 3-D input, else dim 1."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=4,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _prepare(input, dim, dtype, name):
    """The input cast to `dtype`, viewed as at least 1-D, and the axis to normalise over."""
    x = np.asarray(input)
    if dtype is not None:
        x = x.astype(dtype)
    check_floating(input=x)
    if dim is None:
        dim = _implicit_dim(name, x.ndim)
    rank = max(x.ndim, 1)
    if not -rank <= dim < rank:
        raise ValueError(f"dim: expected an int in [{-rank}, {rank}) for a {x.ndim}-D input, got {dim}")
    return x.reshape(x.shape or (1,)), dim


def logsumexp(x, axis):
    """log(sum(exp(x))) along axis, shifted by the finite maximum so that it cannot overflow (a
    slice of only -inf gives -inf); a slice of a large array at a time (along_slices)."""
    return along_slices(_logsumexp, x, axis)


def _logsumexp(x, axis):
    peak = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    peak = np.where(np.isfinite(peak), peak, 0)
    with np.errstate(divide="ignore"):
        return (np.log(np.exp(x - peak).sum(axis=axis, keepdims=True)) + peak).squeeze(axis)


def _shifted(x, axis):
    """x minus its maximum along axis. As in torch, a slice holding +inf, or only -inf, becomes
    nan (inf - inf), and so does its softmax."""
    with np.errstate(invalid="ignore"):
        return x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)


def softmax(input, dim=None, dtype=None):
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), with m = max_j x_j along `dim`.

    dtype casts the input first; dim=None follows torch's implicit-dim rule and warns.

    Examples:
        The worked example "002-softmax" of fixtures/worked_examples.json (torch.softmax of logits [2, 3,
        0.1]; document 002_232c5df0b0faf7cf.txt):

        >>> import numpy as np
        >>> x = np.array([2.0, 3.0, 0.1])
        >>> [round(v, 6) for v in softmax(x, dim=0).tolist()]
        [0.258542, 0.702789, 0.03867]

    References:
        torch.nn.functional.softmax, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html
        the source document ../shared/seeds/002_232c5df0b0faf7cf.txt
    """
    x, axis = _prepare(input, dim, dtype, "softmax")
    exp = np.exp(_shifted(x, axis))
    return (exp / exp.sum(axis=axis, keepdims=True)).reshape(np.shape(input))


def softmax_backward(grad_output, input, dim=None, dtype=None):
    """d/dx_i = y_i (g_i - sum_j g_j y_j), y = softmax(x) along dim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the forward warned about an implicit dim already
        y, axis = _prepare(softmax(input, dim, dtype), dim, None, "softmax")
    g = np.asarray(grad_output, dtype=np.float64).reshape(y.shape)
    return {"input": (y * (g - (g * y).sum(axis=axis, keepdims=True))).reshape(np.shape(input))}


def log_softmax(input, dim=None, dtype=None):
    """log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)), with m = max_j x_j along `dim`.

    Examples:
        By hand: x_i - log(sum_j e^x_j); the 1-D tensor of document 003_b9ec96481e6f403f.txt, dim given.

        >>> import numpy as np
        >>> [round(v, 6) for v in log_softmax(np.array([1.5, 2.2, 3.1, 0.9, 1.2, 1.7]), dim=0).tolist()]
        [-2.34926, -1.64926, -0.74926, -2.94926, -2.64926, -2.14926]

    References:
        torch.nn.functional.log_softmax, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.log_softmax.html
        the source document ../shared/seeds/003_b9ec96481e6f403f.txt, dim given.
    """
    x, axis = _prepare(input, dim, dtype, "log_softmax")
    shifted = _shifted(x, axis)
    with np.errstate(divide="ignore"):  # an empty axis sums to 0; its result is empty anyway
        log_sum = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return (shifted - log_sum).reshape(np.shape(input))


def log_softmax_backward(grad_output, input, dim=None, dtype=None):
    """d/dx_i = g_i - softmax(x)_i sum_j g_j along dim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, axis = _prepare(log_softmax(input, dim, dtype), dim, None, "log_softmax")
    g = np.asarray(grad_output, dtype=np.float64).reshape(y.shape)
    return {"input": (g - np.exp(y) * g.sum(axis=axis, keepdims=True)).reshape(np.shape(input))}


def sigmoid(input):
    """sigmoid(x) = 1 / (1 + exp(-x)), evaluated as e / (1 + e) with e = exp(x) for x < 0.

    Examples:
        The worked example "002-sigmoid" of fixtures/worked_examples.json (torch.sigmoid of logits [2, 3,
        0.1]; document 002_232c5df0b0faf7cf.txt):

        >>> import numpy as np
        >>> x = np.array([2.0, 3.0, 0.1])
        >>> [round(v, 6) for v in sigmoid(x).tolist()]
        [0.880797, 0.952574, 0.524979]

    References:
        torch.nn.functional.sigmoid, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.sigmoid.html
        the source document ../shared/seeds/002_232c5df0b0faf7cf.txt
    """
    def formula(x):
        exp_neg_abs = np.exp(-np.abs(x))
        positive = 1 / (1 + exp_neg_abs)
        return np.where(x < 0, exp_neg_abs * positive, positive)
    return map_blocks(formula, np.asarray(input))


def sigmoid_backward(grad_output, input):
    """d/dx = g s (1 - s), s = sigmoid(x)."""
    s = sigmoid(input)
    return {"input": np.asarray(grad_output) * s * (1 - s)}


def logsigmoid(input):
    """logsigmoid(x) = log(1 / (1 + exp(-x))) = min(x, 0) - log1p(exp(-|x|)).

    Examples:
        By hand: log(1/2).

        >>> import numpy as np
        >>> round(float(logsigmoid(np.array(0.0))), 6)
        -0.693147

    References:
        torch.nn.functional.logsigmoid, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.logsigmoid.html
    """
    input = np.asarray(input)
    check_floating(input=input)
    return np.asarray(map_blocks(lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))), input))


def logsigmoid_backward(grad_output, input):
    """d/dx = g sigmoid(-x) = g (1 - sigmoid(x))."""
    return {"input": np.asarray(grad_output) * sigmoid(-np.asarray(input))}
