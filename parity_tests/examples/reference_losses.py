"""NumPy references of the example losses: the regularized cross entropy and CutMix's mixed
target of shared/seeds/003_b9ec96481e6f403f.txt, and torchvision's sigmoid focal loss. NumPy
only, built on `reference`, with the names and signatures of their torch sides."""
import numpy as np

import reference
from reference._reduction import check_reduction, reduce_loss


def reg_cross_entropy_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                           reduction="mean", reg_lambda=0.1):
    """loss = nll_loss(log_softmax(x, dim=1), y, weight, ignore_index, reduction)
    + reg_lambda * mean over the batch (and any further dims) of sum_c softmax(x)_c^2."""
    log_probs = reference.log_softmax(input, dim=1)
    loss = reference.nll_loss(log_probs, target, weight, size_average, ignore_index, reduce, reduction)
    return np.asarray(loss + reg_lambda * np.mean(np.sum(np.exp(log_probs) ** 2, axis=1)))


def cutmix_cross_entropy(input, target_a, target_b, lam, reduction="mean"):
    """loss = lam * cross_entropy(x, y_a) + (1 - lam) * cross_entropy(x, y_b): the target of an
    image whose box (a 1 - lam share of its area) was pasted from another image."""
    return np.asarray(lam * reference.cross_entropy(input, target_a, reduction=reduction)
                      + (1 - lam) * reference.cross_entropy(input, target_b, reduction=reduction))


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
