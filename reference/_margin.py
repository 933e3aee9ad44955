"""Margin and embedding losses: hinge_embedding, margin_ranking, soft_margin, multi_margin,
multilabel_margin, cosine_embedding, triplet_margin and triplet_margin_with_distance."""
import numpy as np

from ._activations import sigmoid
from ._classification import _check_class_indices, _take_class
from ._reduction import (
    check_floating,
    check_reduction,
    check_same_dtype,
    reduce_elementwise,
    reduce_loss,
    resolve_reduction,
    unbroadcast,
    upstream_per_element,
)

# torch's EPSILON for cosine_embedding_loss, added to each squared norm
SQUARED_NORM_EPSILON = 1e-12
# the key suffix of a gradient's other one-sided derivative at a hinge's kink ("input@other_side")
OTHER_SIDE = "@other_side"


def _both_sides(gradient_at, z):
    """The gradients of a loss through the hinge max(z, 0), from gradient_at(active) ->
    {argument: gradient}: with active = [z >= 0], the gradient passing at the kink z = 0 (torch
    2.13's clamp_min), and, where some z is exactly 0, the other one-sided derivative
    (active = [z > 0]) under "<argument>@other_side". Both are derivatives of the loss there."""
    passing = gradient_at(z >= 0)
    if not np.any(z == 0):
        return passing
    return {**passing, **{name + OTHER_SIDE: value for name, value in gradient_at(z > 0).items()}}


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """l_n = x_n if y_n = 1, max(0, margin - x_n) if y_n = -1; any other y_n gets both terms,
    as in torch: [y != -1] x + [y != 1] max(0, margin - x).

    Examples:
        By hand: (0.3 + max(0, 1 - 2)) / 2.

        >>> import numpy as np
        >>> round(float(hinge_embedding_loss(np.array([0.3, 2.0]), np.array([1.0, -1.0]))), 6)
        0.15

    References:
        torch.nn.functional.hinge_embedding_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.hinge_embedding_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_floating(input=np.asarray(input))
    input, target = np.broadcast_arrays(np.asarray(input), np.asarray(target))

    def loss(x, y):
        hinged = np.where(y != 1, np.maximum(margin - x, 0), 0)
        return (np.where(y != -1, x, 0) + hinged).astype(x.dtype, copy=False)
    return reduce_elementwise(loss, (input, target), reduction)


def hinge_embedding_loss_backward(grad_output, input, target, margin=1.0, size_average=None, reduce=None,
                                  reduction="mean"):
    """d/dx = g ([y != -1] - [y != 1] [margin - x >= 0]), the gradient passing at the kink
    margin - x = 0 (torch 2.13's clamp_min); the other side there under "input@other_side"."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, y = np.broadcast_arrays(np.asarray(input), np.asarray(target))
    upstream = upstream_per_element(grad_output, reduction, x.shape)
    def gradient_at(active):
        through = (y != -1).astype(np.float64) - ((y != 1) & active)
        return {"input": unbroadcast(upstream * through, np.shape(input))}
    return _both_sides(gradient_at, np.where(y != 1, margin - x, 1.0))


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """l_n = max(0, -y_n (x1_n - x2_n) + margin), the three arguments broadcast together
    (they must have the same number of dimensions, as torch requires).

    Examples:
        By hand: (max(0, 0.5 - 0.2) + max(0, 0.1 - 0.9)) / 2.

        >>> import numpy as np
        >>> x1, x2 = np.array([0.2, 0.9]), np.array([0.5, 0.1])
        >>> round(float(margin_ranking_loss(x1, x2, np.array([1.0, 1.0]))), 6)
        0.15

    References:
        torch.nn.functional.margin_ranking_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.margin_ranking_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input1, input2, target = np.asarray(input1), np.asarray(input2), np.asarray(target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"target: expected as many dimensions as input1 ({input1.ndim}) and input2 "
                         f"({input2.ndim}), got {target.ndim}")
    return reduce_elementwise(lambda x1, x2,
                              y: np.maximum(margin - y * (x1 - x2), 0).astype(x1.dtype, copy=False),
                              np.broadcast_arrays(input1, input2, target), reduction)


def margin_ranking_loss_backward(grad_output, input1, input2, target, margin=0,
                                 size_average=None, reduce=None,
                                 reduction="mean"):
    """With z = margin - y (x1 - x2) and a = g [z >= 0] (the gradient passing at the kink, torch
    2.13's clamp_min; the other side under "<argument>@other_side"): d/dx1 = -a y, d/dx2 = a y,
    d/dy = -a (x1 - x2)."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x1, x2, y = (np.asarray(a) for a in (input1, input2, target))
    b1, b2, by = np.broadcast_arrays(x1, x2, y)
    upstream = upstream_per_element(grad_output, reduction, b1.shape)

    def gradient_at(active):
        a = upstream * active
        return {"input1": unbroadcast(-a * by, x1.shape), "input2": unbroadcast(a * by, x2.shape),
                "target": unbroadcast(-a * (b1 - b2), y.shape)}
    return _both_sides(gradient_at, margin - by * (b1 - b2))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """l_n = log(1 + exp(-y_n x_n)), computed as max(z, 0) + log1p(exp(-|z|)) with z = -y x,
    so it stays finite where exp(z) overflows; 'mean' averages over every element.

    Examples:
        By hand: log(1 + e^0).

        >>> import numpy as np
        >>> round(float(soft_margin_loss(np.array([0.0]), np.array([1.0]))), 6)
        0.693147

    References:
        torch.nn.functional.soft_margin_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.soft_margin_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    def loss(x, y):
        margin = -y * x
        return (np.maximum(margin, 0) + np.log1p(np.exp(-np.abs(margin)))).astype(x.dtype, copy=False)
    check_floating(input=np.asarray(input))
    return reduce_elementwise(loss, np.broadcast_arrays(np.asarray(input), np.asarray(target)), reduction)


def soft_margin_loss_backward(grad_output, input, target, size_average=None, reduce=None, reduction="mean"):
    """d/dx = -g y sigmoid(-y x)."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, y = np.broadcast_arrays(np.asarray(input), np.asarray(target))
    slope = -y * sigmoid(-y * x)
    return {"input": unbroadcast(upstream_per_element(grad_output, reduction, x.shape) * slope,
                                 np.shape(input))}


def _class_frames(input):
    """input as (N, C) frames, as torch's multi-class margin losses take it: (N, C) or (C,) with
    C > 0, or 0-d (one class)."""
    if not (input.ndim == 0 or (input.ndim in (1, 2) and input.shape[-1] > 0)):
        raise ValueError("input: expected a (N, C) or (C,) array with C > 0, or a 0-d one, got shape "
                         f"{input.shape}")
    return input.reshape(-1, input.shape[-1] if input.ndim else 1)


def _multi_margin_frames(input, target):
    """(input as (N, C), target as (N,), the output shape of 'none'): target holds one class index
    per sample, 0-d or 1-D (a (C,) or 0-d input is one sample, a (1, C) one may take a 0-d target)."""
    frames = _class_frames(input)
    if target.ndim > 1 or target.size != frames.shape[0]:
        raise ValueError(f"target: expected {frames.shape[0]} class indices, 0-d or 1-D, for input of shape "
                         f"{input.shape}, got shape {target.shape}")
    flat, _ = _check_class_indices(frames, target.reshape(-1), ignore_index=None)
    return frames, flat, target.shape


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge: l_n = 1/C sum_{i != y_n} w[y_n] max(0, margin - x[n, y_n] + x[n, i])^p,
    p in {1, 2}; x is (N, C), (C,) or 0-d (C = 1); 'none' has the target's shape; 'mean' is the
    plain mean over samples.

    Examples:
        By hand: (0.3 + 0.4 + 0.6) / 4, torch's documented example.

        >>> import numpy as np
        >>> round(float(multi_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3]))), 6)
        0.325

    References:
        torch.nn.functional.multi_margin_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.multi_margin_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"p: only p == 1 and p == 2 are supported, got {p}")
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input)
    check_same_dtype(input, weight=weight)
    frames, target, shape = _multi_margin_frames(input, target)
    num_classes = frames.shape[-1]
    if weight is not None:
        weight = np.asarray(weight)
        if weight.shape != (num_classes,):
            raise ValueError(f"weight: expected a 1-D array of length C={num_classes}, got shape "
                             f"{weight.shape}")
    target_logit = np.expand_dims(_take_class(frames, target), -1)
    violation = np.maximum(margin - target_logit + frames, 0) ** p
    others = np.arange(num_classes) != np.expand_dims(target, -1)
    loss = np.where(others, violation, 0).sum(axis=-1) / num_classes
    if weight is not None:
        loss = weight[target] * loss
    return reduce_loss(np.asarray(loss.reshape(shape), dtype=input.dtype), reduction)


def multi_margin_loss_backward(grad_output, input, target, p=1, margin=1.0, weight=None, size_average=None,
                               reduce=None, reduction="mean"):
    """With h_i = margin - x_y + x_i and a_i = g w_y p h_i^(p-1) [h_i > 0] / C for i != y (torch
    counts a violation only when h > 0): d/dx_i = a_i, d/dx_y = -sum_i a_i."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x = np.asarray(input, dtype=np.float64)
    frames, target, shape = _multi_margin_frames(x, np.asarray(target))
    num_classes = frames.shape[-1]
    violation = margin - np.expand_dims(_take_class(frames, target), -1) + frames
    others = np.arange(num_classes) != np.expand_dims(target, -1)
    g = upstream_per_element(grad_output, reduction, shape).reshape(-1)
    if weight is not None:
        g = g * np.asarray(weight, dtype=np.float64)[target]
    slope = np.where(others & (violation > 0), p * violation ** (p - 1), 0) \
        * np.expand_dims(g, -1) / num_classes
    is_target = np.arange(num_classes) == np.expand_dims(target, -1)
    gradient = slope - is_target * slope.sum(axis=-1, keepdims=True)
    return {"input": gradient.reshape(x.shape)}


def _multilabel_pairs(input, target):
    """(how often each class is listed, whether it is listed, the (N, C, C) margins
    1 - (x[n, j] - x[n, i])) for multilabel_margin_loss on the input's (N, C) frames, after
    checking the target: the input's shape, or for a (C,) or 0-d input C entries, 0-d or 1-D."""
    frames = _class_frames(input)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target: expected integer class indices, got dtype {target.dtype}")
    num_classes = frames.shape[-1]
    fits = target.shape == input.shape if input.ndim == 2 else target.ndim <= 1 and target.size == num_classes
    if not fits:
        raise ValueError(f"target: expected the input's shape {input.shape} (or C={num_classes} entries for "
                         f"a (C,) or 0-d input), got {target.shape}")
    target = target.reshape(frames.shape)
    if ((target < -1) | (target >= num_classes)).any():
        raise ValueError(f"target: expected class indices in [0, {num_classes}) ended by -1, "
                         f"found {target[(target < -1) | (target >= num_classes)].flat[0]}")
    listed = np.cumprod(target != -1, axis=-1).astype(bool)  # entries before the first -1
    one_hot = (np.expand_dims(target, -1) == np.arange(num_classes)) & np.expand_dims(listed, -1)
    counts = one_hot.sum(axis=-2)  # how often each class is listed
    return counts, counts > 0, 1 - np.expand_dims(frames, -1) + np.expand_dims(frames, -2)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge: with T_n the target indices before the first -1 (repeats counted as
    often as they appear, as torch does) and the others i not in T_n,
    l_n = 1/C sum_{j in T_n} sum_{i not in T_n} max(0, 1 - (x[n, j] - x[n, i])).
    Evaluated on a (N, C, C) array of pairwise margins; a (C,) or 0-d input (C = 1) is one sample,
    whose 'none' is 0-d.

    Examples:
        By hand: torch's documented example.

        >>> import numpy as np
        >>> x, y = np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]])
        >>> round(float(multilabel_margin_loss(x, y)), 6)
        0.85

    References:
        torch.nn.functional.multilabel_margin_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.multilabel_margin_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = np.asarray(input), np.asarray(target)
    check_floating(input=input)
    counts, is_target, pair_margins = _multilabel_pairs(input, target)
    against_others = np.where(np.expand_dims(is_target, -2), 0, np.maximum(pair_margins, 0)).sum(axis=-1)
    loss = (counts * against_others).sum(axis=-1) / counts.shape[-1]
    return reduce_loss(np.asarray(loss.reshape(input.shape[:-1] if input.ndim == 2 else ()),
                                  dtype=input.dtype),
                       reduction)


def multilabel_margin_loss_backward(grad_output, input, target, size_average=None, reduce=None,
                                    reduction="mean"):
    """With a[j, i] = g count_j [j listed, i not] [1 - x_j + x_i > 0] / C (torch counts a pair only
    when its margin is positive): d/dx_j = -sum_i a[j, i] and d/dx_i = sum_j a[j, i]."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x, target = np.asarray(input, dtype=np.float64), np.asarray(target)
    counts, is_target, pair_margins = _multilabel_pairs(x, target)
    g = upstream_per_element(grad_output, reduction, x.shape[:-1] if x.ndim == 2 else ()).reshape(-1, 1, 1)
    active = (pair_margins > 0) & np.expand_dims(is_target, -1) & ~np.expand_dims(is_target, -2)
    pairs = g * np.expand_dims(counts, -1) * active / counts.shape[-1]
    return {"input": (pairs.sum(axis=-2) - pairs.sum(axis=-1)).reshape(x.shape)}


def _check_cosine_dims(input1, input2, target):
    """torch's rule: a 1-D target for 2-D inputs, a 0-D target for 1-D inputs (their shapes may broadcast)."""
    if target.ndim not in (0, 1) or input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise ValueError(f"target: expected a 1-D target for 2-D inputs or a 0-D target for 1-D inputs, got "
                         f"target {target.shape}, input1 {input1.shape} and input2 {input2.shape}")


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """With cos_n = x1_n . x2_n / sqrt((|x1_n|^2 + 1e-12)(|x2_n|^2 + 1e-12)) (torch's epsilon):
    l_n = 1 - cos_n if y_n = 1, max(0, cos_n - margin) if y_n = -1, and 0 for any other y_n.

    Examples:
        By hand: ((1 - 1/sqrt 2) + max(0, 1 - 0)) / 2.

        >>> import numpy as np
        >>> x1, x2 = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 1.0]])
        >>> round(float(cosine_embedding_loss(x1, x2, np.array([1.0, -1.0]))), 6)
        0.646447

    References:
        torch.nn.functional.cosine_embedding_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.cosine_embedding_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    input1, input2, target = np.asarray(input1), np.asarray(input2), np.asarray(target)
    _check_cosine_dims(input1, input2, target)
    dot = np.einsum("...d,...d->...", input1, input2)
    squared_norms = (np.einsum("...d,...d->...", input1, input1) + SQUARED_NORM_EPSILON) * \
        (np.einsum("...d,...d->...", input2, input2) + SQUARED_NORM_EPSILON)
    cosine = dot / np.sqrt(squared_norms)
    loss = np.where(target == 1, 1 - cosine, 0) + np.where(target == -1, np.maximum(cosine - margin, 0), 0)
    return reduce_loss(np.asarray(loss, dtype=input1.dtype), reduction)


def cosine_embedding_loss_backward(grad_output, input1, input2, target, margin=0,
                                   size_average=None, reduce=None,
                                   reduction="mean"):
    """With n_k = sqrt(|x_k|^2 + 1e-12) and cos = x1 . x2 / (n1 n2): d cos / d x1 = x2 / (n1 n2)
    - cos x1 / n1^2 (and symmetrically); the loss's slope in cos is -1 for y = 1 and
    [cos - margin >= 0] for y = -1 (the gradient passing at the kink, torch 2.13's clamp_min; the
    other side under "<argument>@other_side")."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    x1, x2, y = (np.asarray(a, dtype=np.float64) for a in (input1, input2, target))
    _check_cosine_dims(x1, x2, y)
    n1 = np.sqrt(np.einsum("...d,...d->...", x1, x1) + SQUARED_NORM_EPSILON)[..., None]
    n2 = np.sqrt(np.einsum("...d,...d->...", x2, x2) + SQUARED_NORM_EPSILON)[..., None]
    cosine = np.einsum("...d,...d->...", x1, x2)[..., None] / (n1 * n2)
    upstream = upstream_per_element(grad_output, reduction, np.broadcast_shapes(y.shape, cosine.shape[:-1]))

    def gradient_at(active):
        scale = (upstream * (np.where(y == 1, -1.0, 0.0) + np.where((y == -1) & active, 1.0, 0.0)))[..., None]
        # the dot product sums over the broadcast inputs, each norm over its own argument
        to = lambda term, x: unbroadcast(scale * term, x.shape)
        return {"input1": to(x2 / (n1 * n2), x1) - to(cosine * x1 / n1 ** 2, x1),
                "input2": to(x1 / (n1 * n2), x2) - to(cosine * x2 / n2 ** 2, x2)}
    return _both_sides(gradient_at, np.where(y == -1, cosine[..., 0] - margin, 1.0))


def _pairwise_distance(x1, x2, p=2.0, eps=1e-6):
    """torch.pairwise_distance: the p-norm of x1 - x2 + eps over the last dimension."""
    difference = x1 - x2 + eps
    if p == 2:  # sqrt(w . w) as a row dot product: one pass over w where norm takes two
        return np.sqrt(np.einsum("...d,...d->...", difference, difference))
    return np.linalg.norm(difference, ord=p, axis=-1)


def _check_triplet(anchor, positive, negative, margin):
    """The three arguments as arrays of at least one dimension (torch takes 0-d ones as vectors of
    one element: their distance is 0-d), after checking the margin and their dimensions."""
    if not margin > 0:
        raise ValueError(f"margin: expected a value greater than 0, got {margin}")
    anchor, positive, negative = map(np.asarray, (anchor, positive, negative))
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"negative: expected as many dimensions as anchor ({anchor.ndim}) and "
                         f"positive ({positive.ndim}), got {negative.ndim}")
    try:
        np.broadcast_shapes(anchor.shape, positive.shape, negative.shape)
    except ValueError:
        raise ValueError(f"negative: shapes anchor {anchor.shape}, positive {positive.shape} and negative "
                         f"{negative.shape} do not broadcast together") from None
    return tuple(np.atleast_1d(x) for x in (anchor, positive, negative))


def _triplet_loss(distance, anchor, positive, negative, margin, swap, reduction):
    """max(0, margin + d(a, p) - d(a, n)), with d(a, n) replaced by min(d(a, n), d(p, n)) if swap."""
    to_negative = distance(anchor, negative)
    if swap:
        to_negative = np.minimum(to_negative, distance(positive, negative))
    loss = np.maximum(margin + distance(anchor, positive) - to_negative, 0)
    return reduce_loss(np.asarray(loss, dtype=anchor.dtype), reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """l_n = max(0, margin + d(a_n, p_n) - d(a_n, n_n)), d(u, v) = ||u - v + eps||_p (torch adds
    eps to the difference); with swap, d(a, n) becomes min(d(a, n), d(p, n)).

    Examples:
        By hand: |a - p| - |a - n| + 1 = 5 - 1 + 1, eps = 1e-6 aside.

        >>> import numpy as np
        >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[0.0, 1.0]])
        >>> round(float(triplet_margin_loss(a, p, n)), 4)
        5.0

    References:
        torch.nn.functional.triplet_margin_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.triplet_margin_loss.html
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    anchor, positive, negative = _check_triplet(anchor, positive, negative, margin)
    distance = lambda u, v: _pairwise_distance(u, v, p, eps)
    return _triplet_loss(distance, anchor, positive, negative, margin, swap, reduction)


def pairwise_distance_slopes(u, v, p=2, eps=1e-6):
    """(d/du, d/dv) of ||u - v + eps||_p along the last axis: d/du = sign(w) |w|^(p-1) /
    ||w||_p^(p-1) with w = u - v + eps (0 where the distance is 0, as torch's norm gives), and
    d/dv its negative."""
    w = u - v + eps
    norm = np.linalg.norm(w, ord=p, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(norm > 0, np.sign(w) * np.abs(w) ** (p - 1) / norm ** (p - 1), 0)
    return slope, -slope


def _triplet_backward(distance, slope, grad_output, anchor, positive, negative, margin, swap, reduction):
    """With J(u, v) = d d(u, v) / du (and K(u, v) = d d(u, v) / dv, both from slope), G = g
    [margin + d(a, p) - d_neg >= 0] (the gradient passing at the kink, torch 2.13's clamp_min;
    the other side under "<argument>@other_side") and d_neg = d(a, n), or
    d(p, n) where swap picks it (d(p, n) < d(a, n)): d/da = G (J(a, p) - [d(a, n)] J(a, n)),
    d/dp = G (K(a, p) - [d(p, n)] J(p, n)), d/dn = -G ([d(a, n)] K(a, n) + [d(p, n)] K(p, n)),
    each term summed over the dimensions broadcasting added to its argument."""
    shapes = {"anchor": np.shape(anchor), "positive": np.shape(positive), "negative": np.shape(negative)}
    a, p_, n = (np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (anchor, positive, negative))
    to_positive, to_negative, between = distance(a, p_), distance(a, n), distance(p_, n)
    swapped = (between < to_negative) if swap else np.zeros(np.shape(to_negative), dtype=bool)
    upstream = upstream_per_element(grad_output, reduction, np.shape(to_negative))
    from_anchor, from_positive = ~swapped[..., None], swapped[..., None]
    (j_ap, k_ap), (j_an, k_an), (j_pn, k_pn) = slope(a, p_), slope(a, n), slope(p_, n)

    def gradient_at(active):
        g = (upstream * active)[..., None]
        # each distance's slope summed back to its own argument's shape, as broadcasting added
        to = lambda slope, x, name: unbroadcast(g * slope, x.shape).reshape(shapes[name])
        return {"anchor": to(j_ap, a, "anchor") - to(from_anchor * j_an, a, "anchor"),
                "positive": to(k_ap, p_, "positive") - to(from_positive * j_pn, p_, "positive"),
                "negative": -to(from_anchor * k_an, n, "negative") - to(from_positive * k_pn, n, "negative")}
    return _both_sides(gradient_at, margin + to_positive - np.where(swapped, between, to_negative))


def triplet_margin_loss_backward(grad_output, anchor, positive, negative, margin=1.0, p=2,
                                 eps=1e-6, swap=False,
                                 size_average=None, reduce=None, reduction="mean"):
    """_triplet_backward with d(u, v) = ||u - v + eps||_p (pairwise_distance_slopes)."""
    reduction = resolve_reduction(size_average, reduce, reduction, warn=False)
    return _triplet_backward(lambda u, v: _pairwise_distance(u, v, p, eps),
                             lambda u, v: pairwise_distance_slopes(u, v, p, eps), grad_output,
                             anchor, positive, negative, margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """triplet_margin_loss with any distance: l_n = max(0, margin + d(a_n, p_n) - d(a_n, n_n)),
    d = distance_function (NumPy arrays in and out), by default ||u - v + 1e-6||_2.

    Examples:
        By hand: the pairwise distance: 5 - 1 + 1.

        >>> import numpy as np
        >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[0.0, 1.0]])
        >>> round(float(triplet_margin_with_distance_loss(a, p, n)), 4)
        5.0

    References:
        torch.nn.functional.triplet_margin_with_distance_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.triplet_margin_with_distance_loss.html
    """
    check_reduction(reduction)
    anchor, positive, negative = _check_triplet(anchor, positive, negative, margin)
    return _triplet_loss(distance_function or _pairwise_distance, anchor, positive, negative, margin,
                         swap, reduction)


def triplet_margin_with_distance_loss_backward(grad_output, anchor, positive, negative, *,
                                               distance_function=None,
                                               margin=1.0, swap=False, reduction="mean"):
    """_triplet_backward with the distance's own gradient, distance_function.gradient(u, v) ->
    (d/du, d/dv); the default distance ||u - v + 1e-6||_2 has pairwise_distance_slopes."""
    check_reduction(reduction)
    if distance_function is None:
        distance_function, slope = _pairwise_distance, pairwise_distance_slopes
    else:
        slope = getattr(distance_function, "gradient", None)
        if slope is None:
            raise ValueError("distance_function: give it a gradient attribute, (u, v) -> (d/du, d/dv)")
    return _triplet_backward(distance_function, slope, grad_output, anchor, positive, negative, margin, swap,
                             reduction)
