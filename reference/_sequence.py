"""Sequence losses: ctc_loss."""
import numpy as np

from ._reduction import check_reduction, reduce_loss


def _logsumexp_stack(terms):
    """log(sum(exp)) over the first axis of a stack, shifted by its finite maximum."""
    peak = np.max(terms, axis=0)
    peak = np.where(np.isfinite(peak), peak, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(terms - peak).sum(axis=0)) + peak


def _padded_targets(targets, target_lengths, batch):
    """Targets as an (N, S) array, from padded (N, S) or concatenated 1-D targets."""
    if targets.ndim == 2 or batch == 0:
        return targets.reshape(batch, -1)
    if targets.ndim != 1 or targets.size < target_lengths.sum():
        raise ValueError(f"targets: expected (N, S) padded or {target_lengths.sum()} concatenated "
                         f"indices, got shape {targets.shape}")
    starts = np.concatenate([[0], np.cumsum(target_lengths)[:-1]])
    width = max(int(target_lengths.max()), 1)
    index = np.minimum(starts[:, None] + np.arange(width), max(targets.size - 1, 0))
    return targets[index] if targets.size else np.zeros((batch, width), dtype=targets.dtype)


def _check_ctc(log_probs, targets, input_lengths, target_lengths, blank):
    if log_probs.ndim not in (2, 3):
        raise ValueError(f"log_probs: expected (T, N, C) or unbatched (T, C), got shape {log_probs.shape}")
    steps, num_classes = log_probs.shape[0], log_probs.shape[-1]
    if not 0 <= blank < num_classes:
        raise ValueError(f"blank: expected a class index in [0, {num_classes}), got {blank}")
    if (input_lengths < 0).any() or (input_lengths > steps).any():
        raise ValueError(f"input_lengths: expected values in [0, T={steps}], got {input_lengths.tolist()}")
    if (target_lengths < 0).any():
        raise ValueError(f"target_lengths: expected non-negative values, got {target_lengths.tolist()}")
    if targets.ndim == 2 and (target_lengths > targets.shape[1]).any():
        raise ValueError(f"target_lengths: expected values at most S={targets.shape[1]}, "
                         f"got {target_lengths.tolist()}")


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification: -log sum over alignments pi of prod_t p_t(pi_t).

    With the extended target l' = (blank, l_1, blank, ..., l_L, blank) the forward variables are
    alpha_t(s) = log_p_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1),
    alpha_{t-1}(s-2) if s is a label position and l'_s != l'_{s-2}), and the loss is
    -logsumexp(alpha_{T-1}(2L), alpha_{T-1}(2L-1)): inf where no alignment exists (0 with
    zero_infinity). 'mean' divides each loss by its target length (at least 1), then averages.
    Vectorized over the batch and the extended positions; the loop is over time only.
    """
    check_reduction(reduction)
    log_probs = np.asarray(log_probs)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs[:, None, :]
    targets = np.atleast_1d(np.asarray(targets))
    input_lengths = np.atleast_1d(np.asarray(input_lengths, dtype=np.int64))
    target_lengths = np.atleast_1d(np.asarray(target_lengths, dtype=np.int64))
    if unbatched:
        targets = targets[None, :]
    _check_ctc(log_probs, targets, input_lengths, target_lengths, blank)
    steps, batch, num_classes = log_probs.shape
    labels = _padded_targets(targets, target_lengths, batch)
    positions = np.arange(labels.shape[1])
    listed = positions < target_lengths[:, None]
    if ((labels < 0) | (labels >= num_classes))[listed].any():
        raise ValueError(f"targets: expected class indices in [0, {num_classes}) within target_lengths")
    labels = np.where(listed, labels, blank)
    width = 2 * labels.shape[1] + 1
    extended = np.full((batch, width), blank, dtype=np.int64)
    extended[:, 1::2] = labels
    # a skip over a blank lands on a label position (odd s) whose label differs from the one two
    # places back; as in torch, the position decides, even for a target that lists the blank
    can_skip = np.zeros((batch, width), dtype=bool)
    can_skip[:, 3::2] = extended[:, 3::2] != extended[:, 1:-2:2]
    emit = np.take_along_axis(log_probs, np.broadcast_to(extended, (steps, batch, width)), axis=2)
    # t = 0: an alignment starts on the first blank or on the first label
    alpha = np.full((batch, width), -np.inf, dtype=np.float64)
    if steps:
        alpha[:, :2] = emit[0, :, :2]
        alpha[target_lengths == 0, 1:] = -np.inf
    alpha = np.where(input_lengths[:, None] > 0, alpha, -np.inf)
    # alpha_{t-1} behind two -inf positions: its views [1:-1] and [:-2] are alpha_{t-1}(s-1)
    # and alpha_{t-1}(s-2); adding skip_mask (0 or -inf) keeps the second where s can skip
    padded = np.full((batch, width + 2), -np.inf)
    skip_mask = np.where(can_skip, 0.0, -np.inf)
    running = (np.arange(steps)[:, None] < input_lengths)[:, :, None]
    for t in range(1, steps):
        padded[:, 2:] = alpha
        terms = np.stack([alpha, padded[:, 1:-1], padded[:, :-2] + skip_mask])
        alpha = np.where(running[t], _logsumexp_stack(terms) + emit[t], alpha)
    rows = np.arange(batch)
    last = 2 * target_lengths
    ends = np.stack([alpha[rows, last], np.where(last > 0, alpha[rows, np.maximum(last - 1, 0)], -np.inf)])
    loss = -_logsumexp_stack(ends)
    if zero_infinity:
        loss = np.where(np.isinf(loss), 0, loss)
    loss = loss.astype(log_probs.dtype)
    if reduction == "mean":
        return reduce_loss(loss / np.maximum(target_lengths, 1).astype(loss.dtype), "mean")
    return reduce_loss(loss[0] if unbatched else loss, reduction)
