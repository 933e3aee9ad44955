"""Classification losses: nll_loss, cross_entropy and the binary/multi-label sigmoid losses."""
import math

import numpy as np

from ._activations import log_softmax, logsumexp, sigmoid
from ._reduction import (
    broadcast_weight,
    broadcast_with_input,
    check_floating,
    check_same_dtype,
    check_same_shape,
    check_unit_interval,
    reduce_elementwise,
    reduce_loss,
    resolve_reduction,
    unbroadcast,
    upstream_per_element,
)


def _class_axis(input):
    """torch's class dimension: 0 for an unbatched (C,) input, else 1."""
    return 0 if input.ndim == 1 else 1


def _check_class_weight(weight, num_classes, dtype):
    """The class weight as a (C,) array of the input's dtype; all ones when absent."""
    if weight is None:
        return np.ones(num_classes, dtype=dtype)
    weight = np.asarray(weight, dtype=dtype)
    if weight.shape != (num_classes,):
        raise ValueError(
            f"weight: expected a 1-D array of length C={num_classes}, got shape {weight.shape}"
        )
    return weight


def _check_class_indices(input, target, ignore_index):
    """Validate index targets; return them with ignored entries replaced by 0, and the kept mask
    (ignore_index=None: nothing is ignored)."""
    if input.ndim < 1:
        raise ValueError("input: expected 1 or more dimensions (got 0)")
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target: expected integer class indices, got dtype {target.dtype}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if input.ndim == 1 and target.shape == (1,):  # torch's forward takes it for the one sample (C,) is
        target = target.reshape(())
    if target.shape != expected:
        raise ValueError(
            f"target: expected shape {expected} for input of shape {input.shape}, got {target.shape}"
        )
    num_classes = input.shape[_class_axis(input)]
    kept = target != ignore_index
    outside = kept & ((target < 0) | (target >= num_classes))
    if outside.any():
        ignored = "" if ignore_index is None else f" and is not ignore_index={ignore_index}"
        raise ValueError(
            f"target: class index {target[outside].flat[0]} is outside [0, {num_classes}){ignored}"
        )
    return np.where(kept, target, 0), kept


def _target_weight(class_weight, target, kept):
    """w[y_n] for each kept target and 0 for an ignored one; its sum is the weighted mean's
    denominator."""
    return np.where(kept, class_weight[np.where(kept, target, 0)], 0)


def _class_positions(shape, target):
    """Where input[n, target[n, d...], d...] lies in the flattened input: (n * C + y) * D + d,
    D the number of positions d (for a (C,) input: y itself)."""
    if len(shape) == 1:
        return target
    batch, num_classes = shape[:2]
    positions = math.prod(shape[2:])
    index = (np.arange(batch)[:, None] * num_classes + target.reshape(batch, positions)) * positions
    return (index + np.arange(positions)).reshape(target.shape)


def _take_class(input, target):
    """input[n, target[n, d...], d...]: the entry of each sample's target class (a linear-index
    gather: 7x faster than take_along_axis on an (N, C, H, W) input)."""
    return np.take(input.reshape(-1), _class_positions(input.shape, target))


def _scatter_class(shape, target, values):
    """An array of `shape`, zero except values at [n, target[n, d...], d...]."""
    out = np.zeros(math.prod(shape))
    np.add.at(out, _class_positions(shape, target).reshape(-1), np.reshape(values, -1))
    return out.reshape(shape)



def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of class indices.

    l_n = -w[y_n] * x[n, y_n] * [y_n != ignore_index]; x is (C,) or (N, C, d1, ..., dk).
    'mean' is sum_n l_n / sum_n w[y_n] [y_n != ignore_index] (torch's weighted mean; nan when
    every target is ignored or the batch is empty).

    Examples:
        The worked example "003-nll_loss-mean" of fixtures/worked_examples.json (F.nll_loss of the 3x3
        'probabilities' against [1, 0, 2], mean; document 003_b9ec96481e6f403f.txt):

        >>> import numpy as np
        >>> x = np.array([[0.1, 0.4, 0.8], [0.2, 0.9, 0.2], [0.7, 0.1, 0.6]])
        >>> y = np.array([1, 0, 2])
        >>> round(float(nll_loss(x, y, reduction='mean')), 6)
        -0.4

    References:
        torch.nn.functional.nll_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.nll_loss.html
        the source document ../shared/seeds/003_b9ec96481e6f403f.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input)
    check_same_dtype(input, weight=weight)
    target, kept = _check_class_indices(input, target, ignore_index)
    weight = _check_class_weight(weight, input.shape[_class_axis(input)], input.dtype)
    target_weight = _target_weight(weight, target, kept).astype(input.dtype)
    loss = np.where(kept, -target_weight * _take_class(input, target), 0).astype(input.dtype)
    return reduce_loss(loss, reduction, denominator=target_weight.sum())


def nll_loss_backward(grad_output, input, target, weight=None, size_average=None,
                      ignore_index=-100, reduce=None,
                      reduction="mean"):
    """d/dx[n, c] = -g_n w[y_n] [c = y_n] [y_n != ignore_index], g_n divided by the weighted
    mean's denominator for 'mean'; an ignored target gets 0."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    input, target = np.asarray(input), np.asarray(target)
    target, kept = _check_class_indices(input, target, ignore_index)
    target_weight = _target_weight(_check_class_weight(weight, input.shape[_class_axis(input)], np.float64),
                                   target, kept)
    g = upstream_per_element(grad_output, reduction, target.shape, target_weight.sum())
    with np.errstate(invalid="ignore"):  # every target ignored: inf * 0 where kept is False
        return {"input": _scatter_class(input.shape, target, np.where(kept, -g * target_weight, 0))}


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits against class indices or class probabilities.

    With p = log_softmax(x) over the class dimension and smoothing e:
    - indices: l_n = [y_n != ignore_index] * ((1 - e) * w[y_n] * -p[n, y_n]
      + e / C * sum_c w_c * -p[n, c]); 'mean' divides by sum_n w[y_n] [y_n != ignore_index].
    - probabilities (target shaped like input): q = (1 - e) * t + e / C,
      l_n = -sum_c w_c q[n, c] p[n, c]; 'mean' divides by N * d1 * ... * dk, not by the weights.

    Examples:
        The worked example "001-cross_entropy-1.2-target0" of fixtures/worked_examples.json
        (nn.CrossEntropyLoss of [[0.8, 2.0, 1.2]] against target [0]; document 001_2cf915faea1e028e.txt):

        >>> import numpy as np
        >>> x = np.array([[0.8, 2.0, 1.2]])
        >>> y = np.array([0])
        >>> round(float(cross_entropy(x, y)), 6)
        1.759915

    References:
        torch.nn.functional.cross_entropy, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html
        the source document ../shared/seeds/001_2cf915faea1e028e.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1], got {label_smoothing}")
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input)
    if input.ndim >= 1 and target.shape == input.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction,
                                            label_smoothing)
    check_same_dtype(input, weight=weight)  # the class-index kernel's rule; probabilities promote
    target, kept = _check_class_indices(input, target, ignore_index)
    axis = _class_axis(input)
    num_classes = input.shape[axis]
    weight_given = weight is not None
    weight = _check_class_weight(weight, num_classes, input.dtype)
    target_weight = _target_weight(weight, target, kept).astype(input.dtype)
    log_normalizer = logsumexp(input, axis)
    loss = (1 - label_smoothing) * target_weight * (log_normalizer - _take_class(input, target))
    if label_smoothing > 0:
        # sum_c w_c * -p[n, c] = sum(w) * logsumexp(x_n) - sum_c w_c x[n, c]
        weighted_logits = np.tensordot(input, weight, axes=([axis], [0])) if weight_given \
            else input.sum(axis=axis)
        smooth = weight.sum() * log_normalizer - weighted_logits
        loss = loss + label_smoothing / num_classes * smooth
    loss = np.where(kept, loss, 0).astype(input.dtype)
    return reduce_loss(loss, reduction, denominator=target_weight.sum())


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing):
    """cross_entropy for a target of class probabilities (see cross_entropy)."""
    if not np.issubdtype(target.dtype, np.floating):
        raise TypeError(f"target: expected floating point class probabilities, got dtype {target.dtype}")
    if ignore_index >= 0:
        raise ValueError(
            "ignore_index: not supported for probability targets; expected a negative value, got "
            f"{ignore_index}"
        )
    axis = _class_axis(input)
    num_classes = input.shape[axis]
    weight = _check_class_weight(weight, num_classes, input.dtype)
    weight_shape = [1] * input.ndim
    weight_shape[axis] = num_classes
    smoothed = _smoothed_probabilities(target, label_smoothing, num_classes)
    loss = -(log_softmax(input, axis) * smoothed * weight.reshape(weight_shape)).sum(axis=axis)
    return reduce_loss(loss.astype(input.dtype), reduction, denominator=input.size // max(num_classes, 1))


def _smoothed_probabilities(target, label_smoothing, num_classes):
    """q = (1 - e) t + e / C (no smoothing term without smoothing, so that C = 0 classes is no division)."""
    return target * (1 - label_smoothing) + (label_smoothing / num_classes if label_smoothing else 0.0)


def cross_entropy_backward(grad_output, input, target, weight=None, size_average=None, ignore_index=-100,
                           reduce=None, reduction="mean", label_smoothing=0.0):
    """With p = softmax(x) over the classes, smoothing e and W = sum_c w_c:
    - indices: d/dx[n, c] = g_n [y_n kept] ((1 - e) w[y_n] (p_c - [c = y_n]) + e / C (W p_c - w_c));
    - probabilities, q = (1 - e) t + e / C: d/dx[n, c] = g_n (p_c sum_k w_k q_k - w_c q_c),
      d/dt[n, c] = -g_n (1 - e) w_c log p_c and d/dw_c = -sum_n g_n q[n, c] log p[n, c] (torch
      differentiates class weights there, not with class indices).
    g_n is the upstream gradient, divided by the forward's 'mean' denominator."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    input, target = np.asarray(input, dtype=np.float64), np.asarray(target)
    axis = _class_axis(input)
    num_classes = input.shape[axis]
    weight_given = weight is not None
    weight = _check_class_weight(weight, num_classes, np.float64)
    along_classes = [1] * input.ndim
    along_classes[axis] = num_classes
    w = weight.reshape(along_classes)
    log_p = log_softmax(input, axis)
    p = np.exp(log_p)
    if input.ndim >= 1 and target.shape == input.shape:
        q = _smoothed_probabilities(target, label_smoothing, num_classes)
        g = np.expand_dims(upstream_per_element(grad_output, reduction, np.sum(p, axis=axis).shape,
                                                input.size // max(num_classes, 1)), axis)
        gradients = {"input": g * (p * (w * q).sum(axis=axis, keepdims=True) - w * q),
                     "target": -g * (1 - label_smoothing) * w * log_p}
        if weight_given:
            gradients["weight"] = -(g * q * log_p).sum(axis=tuple(d for d in range(input.ndim) if d != axis))
        return gradients
    target, kept = _check_class_indices(input, target, ignore_index)
    target_weight = _target_weight(weight, target, kept)
    g = np.where(kept, upstream_per_element(grad_output, reduction, target.shape, target_weight.sum()), 0)
    scaled = (1 - label_smoothing) * g * target_weight
    gradient = np.expand_dims(scaled, axis) * p - _scatter_class(input.shape, target, scaled)
    if label_smoothing > 0:
        gradient += label_smoothing / num_classes * np.expand_dims(g, axis) * (weight.sum() * p - w)
    return {"input": gradient}


def _sigmoid_cross_entropy(logits, target, pos_weight=None):
    """-(p * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x))), elementwise and stable.

    -log(sigmoid(x)) = softplus(-x) and -log(1 - sigmoid(x)) = softplus(x), with
    softplus(z) = max(z, 0) + log1p(exp(-|z|)); a term whose factor y or 1 - y is 0 counts 0
    even at x = +-inf.
    """
    tail = np.log1p(np.exp(-np.abs(logits)))
    positive = target if pos_weight is None else pos_weight * target
    with np.errstate(invalid="ignore"):
        positive_term = np.where(target == 0, 0, positive * (np.maximum(-logits, 0) + tail))
        negative_term = np.where(target == 1, 0, (1 - target) * (np.maximum(logits, 0) + tail))
    return (positive_term + negative_term).astype(logits.dtype)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross entropy of probabilities.

    l_n = -w_n * (y_n * max(log x_n, -100) + (1 - y_n) * max(log(1 - x_n), -100)); the clamp
    at -100 is torch's, so that x = 0 or 1 gives a finite loss. 'mean' is the plain mean.

    Examples:
        The worked example "003-bce" of fixtures/worked_examples.json (F.binary_cross_entropy of a 3x3 P
        against 0/1 Y; document 003_b9ec96481e6f403f.txt):

        >>> import numpy as np
        >>> x = np.array([[0.1, 0.9, 0.8], [0.2, 0.9, 0.1], [0.3, 0.4, 0.5]])
        >>> y = np.array([[1.0, 0, 1], [0, 0, 1], [1, 1, 1]])
        >>> round(float(binary_cross_entropy(x, y)), 6)
        1.38556

    References:
        torch.nn.functional.binary_cross_entropy, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.binary_cross_entropy.html
        the source document ../shared/seeds/003_b9ec96481e6f403f.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input)
    check_same_dtype(input, target=target)
    check_same_shape(input, target)
    check_unit_interval(input, "input")
    check_unit_interval(target, "target")
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(input), -100)
        log_one_minus_x = np.maximum(np.log1p(-input), -100)
    loss = -(target * log_x + (1 - target) * log_one_minus_x)
    if weight is not None:
        loss = broadcast_weight(weight, input.shape) * loss
    return reduce_loss(loss.astype(input.dtype), reduction)


def binary_cross_entropy_backward(grad_output, input, target, weight=None, size_average=None, reduce=None,
                                  reduction="mean"):
    """d/dx = g w (x - y) / max(x (1 - x), 1e-12) (torch's floor, so x = 0 or 1 stays finite);
    d/dy = g w (max(log(1 - x), -100) - max(log x, -100)), with the forward's clamps."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    g = upstream_per_element(grad_output, reduction, x.shape)
    if weight is not None:
        g = g * broadcast_weight(weight, x.shape)
    with np.errstate(divide="ignore"):
        log_x, log_one_minus_x = np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)
    return {"input": g * (x - y) / np.maximum(x * (1 - x), 1e-12), "target": g * (log_one_minus_x - log_x)}


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross entropy of logits.

    l_n = w_n * (p * y_n * softplus(-x_n) + (1 - y_n) * softplus(x_n)), i.e.
    -w_n * (p * y_n * log sigmoid(x_n) + (1 - y_n) * log(1 - sigmoid(x_n))), with pos_weight p
    broadcast against the input. Finite for every finite x; at x = +-inf it takes the limit.

    Examples:
        The worked example "002-bce_with_logits" of fixtures/worked_examples.json (nn.BCEWithLogitsLoss of
        [[2, 3, 0.1]] against one-hot [[0, 1, 0]]: three binary losses averaged; document
        002_232c5df0b0faf7cf.txt):

        >>> import numpy as np
        >>> x = np.array([[2.0, 3.0, 0.1]])
        >>> y = np.array([[0.0, 1.0, 0.0]])
        >>> round(float(binary_cross_entropy_with_logits(x, y)), 6)
        0.973304

    References:
        torch.nn.functional.binary_cross_entropy_with_logits, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.binary_cross_entropy_with_logits.html
        the source document ../shared/seeds/002_232c5df0b0faf7cf.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input, target=target)
    check_same_shape(input, target)
    given = {name: broadcast_weight(value, input.shape, name=name)
             for name, value in (("pos_weight", pos_weight), ("weight", weight)) if value is not None}

    def loss(x, y, pos_weight=None, weight=None):
        unweighted = _sigmoid_cross_entropy(x, y, pos_weight)
        return unweighted if weight is None else (weight * unweighted).astype(x.dtype, copy=False)
    return reduce_elementwise(loss, (input, target), reduction, **given)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None, size_average=None,
                                              reduce=None, reduction="mean", pos_weight=None):
    """With sp(z) = log(1 + exp(z)) and s = sigmoid:
    d/dx = g w (-p y s(-x) + (1 - y) s(x)), d/dy = g w (p sp(-x) - sp(x))."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    p = 1.0 if pos_weight is None else broadcast_weight(pos_weight, x.shape, name="pos_weight")
    g = upstream_per_element(grad_output, reduction, x.shape)
    if weight is not None:
        g = g * broadcast_weight(weight, x.shape)
    softplus = lambda z: np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    with np.errstate(invalid="ignore"):  # a zero upstream at an infinite logit: 0 * inf is nan, as in torch
        return {"input": g * (-p * y * sigmoid(-x) + (1 - y) * sigmoid(x)),
                "target": g * (p * softplus(-x) - softplus(x))}


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Multi-label one-versus-all loss over the last (class) dimension of size C.

    l_n = -1/C * sum_c w_c * (y_nc * log sigmoid(x_nc) + (1 - y_nc) * log sigmoid(-x_nc)),
    the class-mean of binary_cross_entropy_with_logits; 'mean' averages over samples. As in
    torch, input, target and weight broadcast together and the sum runs over the input's last
    axis (axis input.ndim - 1 of the broadcast loss), divided by the input's C.

    Examples:
        The worked example "001-per_row_sigmoid_losses" of fixtures/worked_examples.json (the class mean of
        the sigmoid cross entropy table, per row (TensorFlow, float32): multilabel_soft_margin_loss with
        reduction='none'; document 001_2cf915faea1e028e.txt):

        >>> import numpy as np
        >>> x = np.array([[12, 3, 2], [3, 10, 1], [1, 2, 5], [4, 6.5, 1.2], [3, 6, 1]])
        >>> y = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 0]])
        >>> [round(v, 6) for v in multilabel_soft_margin_loss(x, y, reduction='none').tolist()]
        [1.725174, 1.453965, 1.148968, 0.494312, 1.454775]

    References:
        torch.nn.functional.multilabel_soft_margin_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.multilabel_soft_margin_loss.html
        the source document ../shared/seeds/001_2cf915faea1e028e.txt
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input)
    loss = _sigmoid_cross_entropy(*_multilabel_broadcast(input, target))
    if weight is not None:
        loss = broadcast_weight(weight, loss.shape) * loss
    with np.errstate(invalid="ignore"):  # no classes: 0 / 0 is nan, as in torch
        class_mean = loss.sum(axis=input.ndim - 1) / input.shape[-1]
    return reduce_loss(class_mean.astype(input.dtype), reduction)


def _multilabel_broadcast(input, target):
    """input and target broadcast together, after checking that the input has a class axis."""
    if input.ndim < 1:
        raise ValueError("input: expected 1 or more dimensions (got 0)")
    return broadcast_with_input(input, target)


def multilabel_soft_margin_loss_backward(grad_output, input, target, weight=None,
                                         size_average=None, reduce=None,
                                         reduction="mean"):
    """d/dx[n, c] = g_n w_c (sigmoid(x) - y) / C and d/dy[n, c] = -g_n w_c x / C, g_n the
    upstream gradient of sample n's class mean; d/dw_c = sum_n g_n l_nc / C, with l_nc the
    unweighted binary cross entropy; each summed over what broadcasting added to its argument."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, y = _multilabel_broadcast(np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64))
    axis = np.ndim(input) - 1
    per_row = upstream_per_element(grad_output, reduction, x.shape[:axis] + x.shape[axis + 1:])
    g = np.expand_dims(per_row, axis)
    g = g / np.shape(input)[-1]
    if weight is not None:
        gradients = {"weight": unbroadcast(g * _sigmoid_cross_entropy(x, y), np.shape(weight))}
        g = g * broadcast_weight(weight, x.shape)
    else:
        gradients = {}
    return {"input": unbroadcast(g * (sigmoid(x) - y), np.shape(input)),
            "target": unbroadcast(-g * x, np.shape(target)), **gradients}


# rows of logits evaluated at once by linear_cross_entropy: at most this many float64 values
LOGITS_PER_BLOCK = 1 << 22


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(input @ linear_weight.T + linear_bias, target, ...) without holding the
    (N, V) logits: rows are processed in blocks of at most LOGITS_PER_BLOCK logits.

    linear_weight is (C, *out_features, in_features); extra dims make a K-dimensional loss with
    logits (N, C, *out_features). ignore_index=None means -100 (and must stay None for a target of
    probabilities). `options` configures torch's chunked kernel; the mathematics, and so the
    reference, does not depend on it.

    Examples:
        By hand: logits (1, 0): log(1 + e^-1).

        >>> import numpy as np
        >>> round(float(linear_cross_entropy(np.array([[1.0, 0.0]]), np.eye(2), np.array([0]))), 6)
        0.313262

    References:
        torch.nn.functional.linear_cross_entropy, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.linear_cross_entropy.html
    """
    input, linear_weight, target = np.asarray(input), np.asarray(linear_weight), np.asarray(target)
    check_floating(input=input)
    check_same_dtype(input, linear_weight=linear_weight, linear_bias=linear_bias)
    if input.ndim not in (1, 2):
        raise ValueError(f"input: expected (N, in_features) or (in_features,), got shape {input.shape}")
    if linear_weight.ndim < 2 or linear_weight.shape[-1] != input.shape[-1]:
        raise ValueError(f"linear_weight: expected (C, ..., in_features={input.shape[-1]}), "
                         f"got shape {linear_weight.shape}")
    if linear_bias is not None and np.shape(linear_bias) != linear_weight.shape[:-1]:
        raise ValueError(f"linear_bias: expected shape {linear_weight.shape[:-1]}, got "
                         f"{np.shape(linear_bias)}")
    if linear_weight.ndim > 2 and input.ndim == 1:
        raise ValueError("input: a K-dimensional linear_weight needs a batched (N, in_features) input")
    logits_shape = input.shape[:-1] + linear_weight.shape[:-1]
    probabilities = target.shape == logits_shape
    if probabilities and ignore_index is not None:
        raise ValueError("ignore_index: must be None for a target of class probabilities")

    def logits(rows):
        out = np.tensordot(rows, linear_weight, axes=([-1], [-1]))  # (n, C, *out_features)
        return out if linear_bias is None else out + np.asarray(linear_bias)

    keywords = dict(weight=weight, ignore_index=-100 if ignore_index is None else ignore_index,
                    label_smoothing=label_smoothing)
    if input.ndim == 1:
        return cross_entropy(logits(input), target, reduction=reduction, **keywords)
    rows_per_block = max(1, LOGITS_PER_BLOCK // max(int(np.prod(linear_weight.shape[:-1])), 1))
    losses = np.concatenate(
        [cross_entropy(logits(input[start:start + rows_per_block]), target[start:start + rows_per_block],
                       reduction="none", **keywords)
         for start in range(0, input.shape[0], rows_per_block)] or [np.zeros((0,) + logits_shape[2:])]
    ).astype(input.dtype)
    if reduction != "mean":
        return reduce_loss(losses, resolve_reduction(None, None, reduction))
    if probabilities:
        return reduce_loss(losses, "mean")
    class_weight = _check_class_weight(weight, linear_weight.shape[0], input.dtype)
    denominator = _target_weight(class_weight, target, target != keywords["ignore_index"]).sum()
    return reduce_loss(losses, "mean", denominator=denominator)


def linear_cross_entropy_backward(grad_output, input, linear_weight, target, *, linear_bias=None, weight=None,
                                  reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    """With z = x W^T + b and G = d/dz of cross_entropy(z, ...) (cross_entropy_backward):
    d/dx = G W (summed over classes and out_features), d/dW = G^T x, d/db = G summed over the
    batch. Evaluated on the whole (N, C) logits: gradients are checked at small sizes."""
    x, w = np.asarray(input, dtype=np.float64), np.asarray(linear_weight, dtype=np.float64)
    logits = np.tensordot(x, w, axes=([-1], [-1]))
    if linear_bias is not None:
        logits = logits + np.asarray(linear_bias, dtype=np.float64)
    d_logits = cross_entropy_backward(grad_output, logits, target, weight=weight, reduction=reduction,
                                      ignore_index=-100 if ignore_index is None else ignore_index,
                                      label_smoothing=label_smoothing)["input"]
    batch = () if x.ndim == 1 else (0,)
    class_axes = tuple(range(len(batch), d_logits.ndim))
    gradients = {"input": np.tensordot(d_logits, w, axes=(class_axes, tuple(range(w.ndim - 1)))),
                 "linear_weight": np.tensordot(d_logits, x, axes=(batch, batch)) if batch
                 else np.multiply.outer(d_logits, x)}
    if linear_bias is not None:
        gradients["linear_bias"] = d_logits.sum(axis=batch) if batch else d_logits
    return gradients
