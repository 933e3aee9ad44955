"""Sequence losses: ctc_loss."""
import numpy as np

from ._activations import logsumexp
from ._reduction import check_floating, check_reduction, reduce_loss, upstream_per_element


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


def _ctc_prepare(log_probs, targets, input_lengths, target_lengths, blank):
    """The checked arguments as (T, N, C) log-probabilities, (N,) lengths, the extended targets
    l' (N, 2S + 1), where a skip may land (can_skip) and the log-probabilities of l' (T, N, 2S + 1)."""
    log_probs = np.asarray(log_probs)
    check_floating(log_probs=log_probs)
    for name, lengths in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if np.size(lengths) and not np.issubdtype(np.asarray(lengths).dtype, np.integer):
            raise TypeError(f"{name}: expected integer lengths, got dtype {np.asarray(lengths).dtype}")
    if log_probs.ndim == 2:
        log_probs, targets = log_probs[:, None, :], np.atleast_1d(np.asarray(targets))[None, :]
    targets = np.atleast_1d(np.asarray(targets))
    input_lengths = np.atleast_1d(np.asarray(input_lengths, dtype=np.int64))
    target_lengths = np.atleast_1d(np.asarray(target_lengths, dtype=np.int64))
    _check_ctc(log_probs, targets, input_lengths, target_lengths, blank)
    steps, batch, num_classes = log_probs.shape
    labels = _padded_targets(targets, target_lengths, batch)
    listed = np.arange(labels.shape[1]) < target_lengths[:, None]
    if ((labels < 0) | (labels >= num_classes))[listed].any():
        raise ValueError(f"targets: expected class indices in [0, {num_classes}) within target_lengths")
    width = 2 * labels.shape[1] + 1
    extended = np.full((batch, width), blank, dtype=np.int64)
    extended[:, 1::2] = np.where(listed, labels, blank)
    # a skip over a blank lands on a label position (odd s) whose label differs from the one two
    # places back; as in torch, the position decides, even for a target that lists the blank
    can_skip = np.zeros((batch, width), dtype=bool)
    can_skip[:, 3::2] = extended[:, 3::2] != extended[:, 1:-2:2]
    emit = np.take_along_axis(log_probs, np.broadcast_to(extended, (steps, batch, width)), axis=2)
    return log_probs, input_lengths, target_lengths, extended, can_skip, emit


def _ctc_alphas(emit, can_skip, input_lengths, target_lengths):
    """alpha_t for every t (T, N, 2S + 1), each sample's kept from its last step on."""
    steps, batch, width = emit.shape
    alpha = np.full((batch, width), -np.inf, dtype=np.float64)
    if steps:  # t = 0: an alignment starts on the first blank or on the first label
        alpha[:, :2] = emit[0, :, :2]
        alpha[target_lengths == 0, 1:] = -np.inf
    alpha = np.where(input_lengths[:, None] > 0, alpha, -np.inf)
    alphas = np.empty((steps, batch, width))
    # alpha_{t-1} behind two -inf positions: its views [1:-1] and [:-2] are alpha_{t-1}(s-1)
    # and alpha_{t-1}(s-2); adding skip_mask (0 or -inf) keeps the second where s can skip
    padded = np.full((batch, width + 2), -np.inf)
    skip_mask = np.where(can_skip, 0.0, -np.inf)
    running = (np.arange(steps)[:, None] < input_lengths)[:, :, None]
    for t in range(steps):
        if t:
            padded[:, 2:] = alpha
            terms = np.stack([alpha, padded[:, 1:-1], padded[:, :-2] + skip_mask])
            alpha = np.where(running[t], logsumexp(terms, 0) + emit[t], alpha)
        alphas[t] = alpha
    return alphas


def _ctc_nll(alpha, target_lengths):
    """-logsumexp(alpha(2L), alpha(2L - 1)) per sample, from its last alpha."""
    rows, last = np.arange(alpha.shape[0]), 2 * target_lengths
    ends = np.stack([alpha[rows, last], np.where(last > 0, alpha[rows, np.maximum(last - 1, 0)], -np.inf)])
    return -logsumexp(ends, 0)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification: -log sum over alignments pi of prod_t p_t(pi_t).

    With the extended target l' = (blank, l_1, blank, ..., l_L, blank) the forward variables are
    alpha_t(s) = log_p_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1),
    alpha_{t-1}(s-2) if s is a label position and l'_s != l'_{s-2}), and the loss is
    -logsumexp(alpha_{T-1}(2L), alpha_{T-1}(2L-1)): inf where no alignment exists (0 with
    zero_infinity). 'mean' divides each loss by its target length (at least 1), then averages.
    Vectorized over the batch and the extended positions; the loop is over time only.

    Examples:
        By hand: one step, one label: -log 0.75.

        >>> import numpy as np
        >>> log_probs = np.log(np.array([[[0.25, 0.75]]]))  # T = 1, N = 1, C = 2
        >>> round(float(ctc_loss(log_probs, np.array([[1]]), np.array([1]), np.array([1]))), 6)
        0.287682

    References:
        torch.nn.functional.ctc_loss, documented at
        https://pytorch.org/docs/stable/generated/torch.nn.functional.ctc_loss.html
    """
    check_reduction(reduction)
    unbatched = np.ndim(log_probs) == 2
    log_probs, input_lengths, target_lengths, extended, can_skip, emit = _ctc_prepare(
        log_probs, targets, input_lengths, target_lengths, blank)
    steps, batch, width = emit.shape
    alpha = _ctc_alphas(emit, can_skip, input_lengths, target_lengths)[-1] if steps else \
        np.full((batch, width), -np.inf)
    loss = _ctc_nll(alpha, target_lengths)
    if zero_infinity:
        loss = np.where(np.isinf(loss), 0, loss)
    loss = loss.astype(log_probs.dtype)
    if reduction == "mean":
        return reduce_loss(loss / np.maximum(target_lengths, 1).astype(loss.dtype), "mean")
    return reduce_loss(loss[0] if unbatched else loss, reduction)


def ctc_loss_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank=0,
                      reduction="mean",
                      zero_infinity=False):
    """As torch takes it: d/dlp[t, n, c] = g_n (exp(lp) - exp(log sum_{s: l'_s = c} alpha_t(s)
    beta_t(s) + nll_n - lp)) for t < T_n, and 0 from T_n on; that is the gradient with respect to
    the logits of a log_softmax that made lp, not with respect to lp itself. beta_t(s) =
    log_p_t(l'_s) + logsumexp(beta_{t+1}(s), beta_{t+1}(s+1), beta_{t+1}(s+2) if a skip may land
    on s+2), started at each sample's last step on the two end positions. A sample whose loss is
    inf gets 0 with zero_infinity and nan without, as in torch. g_n is divided by N and the target
    length for 'mean'."""
    check_reduction(reduction)
    unbatched = np.ndim(log_probs) == 2
    lp, input_lengths, target_lengths, extended, can_skip, emit = _ctc_prepare(
        log_probs, targets, input_lengths, target_lengths, blank)
    lp = np.asarray(lp, dtype=np.float64)
    steps, batch, width = emit.shape
    alphas = _ctc_alphas(emit, can_skip, input_lengths, target_lengths)
    nll = _ctc_nll(alphas[-1], target_lengths) if steps else np.full(batch, np.inf)
    betas = np.empty_like(alphas)
    beta = np.full((batch, width), -np.inf)
    padded = np.full((batch, width + 2), -np.inf)
    skip_mask = np.full((batch, width), -np.inf)
    skip_mask[:, :-2] = np.where(can_skip[:, 2:], 0.0, -np.inf)  # from s to s + 2
    last = 2 * target_lengths
    positions = np.arange(width)
    ends = (positions == last[:, None]) | ((positions == last[:, None] - 1) & (last[:, None] > 0))
    for t in reversed(range(steps)):
        padded[:, :-2] = beta
        following = logsumexp(np.stack([beta, padded[:, 1:-1], padded[:, 2:] + skip_mask]), 0) + emit[t]
        start = np.where(ends, emit[t], -np.inf)
        beta = np.where((t == input_lengths - 1)[:, None], start,
                        np.where((t < input_lengths)[:, None], following, -np.inf))
        betas[t] = beta
    products = alphas + betas  # (T, N, W), -inf where a position is unreachable
    peak = np.max(products, axis=2, keepdims=True, initial=-np.inf)
    peak = np.where(np.isfinite(peak), peak, 0)
    by_class = np.zeros(lp.shape)
    np.add.at(by_class, (slice(None), np.arange(batch)[:, None], extended), np.exp(products - peak))
    g = upstream_per_element(grad_output, "none" if reduction == "none" else "sum", (batch,))
    if reduction == "mean":
        g = g / (batch * np.maximum(target_lengths, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        gradient = np.exp(lp) - np.exp(np.log(by_class) + peak + nll[None, :, None] - lp)
    within_input = (np.arange(steps)[:, None] < input_lengths)[:, :, None]
    gradient = np.where(within_input, gradient, 0) * g[None, :, None]
    if zero_infinity:
        gradient = np.where(np.isinf(nll)[None, :, None], 0, gradient)
    return {"log_probs": gradient[:, 0] if unbatched else gradient}
