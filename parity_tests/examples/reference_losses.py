"""NumPy references of the example losses: the regularized cross entropy and CutMix's mixed
target of shared/seeds/003_b9ec96481e6f403f.txt, and torchvision's sigmoid focal loss. NumPy
only, built on `reference`, with the names and signatures of their torch sides."""
import numpy as np

import reference
from reference import gradients
from reference._reduction import check_reduction, reduce_loss, upstream_per_element


def reg_cross_entropy_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                           reduction="mean", reg_lambda=0.1):
    """loss = nll_loss(log_softmax(x, dim=1), y, weight, ignore_index, reduction)
    + reg_lambda * mean over the batch (and any further dims) of sum_c softmax(x)_c^2."""
    log_probs = reference.log_softmax(input, dim=1)
    loss = reference.nll_loss(log_probs, target, weight, size_average, ignore_index, reduce, reduction)
    return np.asarray(loss + reg_lambda * np.mean(np.sum(np.exp(log_probs) ** 2, axis=1)),
                      dtype=log_probs.dtype)


def cutmix_cross_entropy(input, target_a, target_b, lam, reduction="mean"):
    """loss = lam * cross_entropy(x, y_a) + (1 - lam) * cross_entropy(x, y_b): the target of an
    image whose box (a 1 - lam share of its area) was pasted from another image."""
    return np.asarray(lam * reference.cross_entropy(input, target_a, reduction=reduction)
                      + (1 - lam) * reference.cross_entropy(input, target_b, reduction=reduction),
                      dtype=np.asarray(input).dtype)  # lam, a Python float, promotes 0-d float32 in NumPy 1.x


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """p = sigmoid(x), ce = BCE-with-logits(x, t), p_t = p t + (1 - p)(1 - t),
    loss = ce * (1 - p_t)^gamma, times alpha_t = alpha t + (1 - alpha)(1 - t) when alpha >= 0."""
    check_reduction(reduction)
    p = reference.sigmoid(inputs)
    loss = reference.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = loss * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return reduce_loss(loss, reduction)


def cutmix_lambda(rng, width, height, alpha=1.0):
    """The document's CutMix: draw lam ~ Beta(alpha, alpha), cut a box of side sqrt(1 - lam)
    centred uniformly and clipped to the image, and return lam = 1 - box area / image area."""
    lam = rng.beta(alpha, alpha)
    cut_w, cut_h = int(width * np.sqrt(1.0 - lam)), int(height * np.sqrt(1.0 - lam))
    cx, cy = rng.integers(width), rng.integers(height)
    x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    return 1 - (x2 - x1) * (y2 - y1) / (width * height)


def reg_cross_entropy_loss_backward(grad_output, input, target, weight=None, size_average=None,
                                    ignore_index=-100,
                                    reduce=None, reduction="mean", reg_lambda=0.1):
    """nll_loss's gradient through log_softmax, plus the regularizer's: with p = softmax(x) and
    S = sum_c p_c^2, d S / d x_j = 2 p_j (p_j - S), times reg_lambda and the upstream gradient's
    sum (the regularizer is added to every output element) over the number of positions."""
    log_p = reference.log_softmax(input, dim=1)
    d_log_p = gradients.nll_loss_backward(grad_output, log_p, target, weight, size_average,
                                          ignore_index, reduce,
                                          reduction)["input"]
    d_input = gradients.log_softmax_backward(d_log_p, input, dim=1)["input"]
    p = np.exp(log_p)
    squares = np.sum(p * p, axis=1, keepdims=True)
    positions = p.size // max(p.shape[1], 1)
    return {"input": d_input + reg_lambda * np.sum(grad_output) / positions * 2 * p * (p - squares)}


def cutmix_cross_entropy_backward(grad_output, input, target_a, target_b, lam, reduction="mean"):
    """lam times cross_entropy's gradient for y_a plus (1 - lam) times it for y_b."""
    def of(target):
        return gradients.cross_entropy_backward(grad_output, input, target, reduction=reduction)["input"]
    return {"input": lam * of(target_a) + (1 - lam) * of(target_b)}


def sigmoid_focal_loss_backward(grad_output, inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """With ce, p and p_t as in the forward and a_t = alpha t + (1 - alpha)(1 - t) (1 when
    alpha < 0): d/dx = g a_t ((p - t) (1 - p_t)^gamma - gamma ce (1 - p_t)^(gamma - 1) p (1 - p) (2 t - 1)),
    the second term absent for gamma = 0."""
    x, t = np.asarray(inputs, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    g = upstream_per_element(grad_output, reduction, x.shape)
    p = reference.sigmoid(x)
    ce = reference.binary_cross_entropy_with_logits(x, t, reduction="none")
    remaining = 1 - (p * t + (1 - p) * (1 - t))
    slope = (p - t) * remaining ** gamma
    if gamma != 0:
        slope = slope - gamma * ce * remaining ** (gamma - 1) * p * (1 - p) * (2 * t - 1)
    weight = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else 1.0
    return {"inputs": g * weight * slope}
