"""Closed forms in 50-digit mpmath, for the worked examples' expectations: independent of
torch and of the reference (plain loops over the few numbers of each example)."""
import itertools

import mpmath as mp

mp.mp.dps = 50


def _rows(logits):
    return [logits] if not isinstance(logits[0], list) else logits


def log_softmax(row):
    log_normalizer = mp.log(mp.fsum(mp.exp(mp.mpf(x)) for x in row))
    return [mp.mpf(x) - log_normalizer for x in row]


def softmax(row):
    return [mp.exp(value) for value in log_softmax(row)]


def sigmoid(row):
    return [1 / (1 + mp.exp(-mp.mpf(x))) for x in row]


def _reduce(losses, reduction, denominator=None):
    if reduction == "none":
        return losses
    total = mp.fsum(losses)
    return total if reduction == "sum" else total / (len(losses) if denominator is None else denominator)


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    """Class indices or (when target rows are lists) class probabilities; no weights."""
    losses = []
    for row, label in zip(_rows(logits), target):
        log_probs = log_softmax(row)
        probs = [1 if c == label else 0 for c in range(len(row))] if not isinstance(label, list) else label
        smoothing = mp.mpf(label_smoothing)
        smoothed = [mp.mpf(p) * (1 - smoothing) + smoothing / len(row) for p in probs]
        losses.append(-mp.fsum(q * lp for q, lp in zip(smoothed, log_probs)))
    return _reduce(losses, reduction)


def nll_loss(log_probs, target, reduction="mean"):
    return _reduce([-mp.mpf(row[label]) for row, label in zip(log_probs, target)], reduction)


def binary_cross_entropy(probs, target, reduction="mean", log_floor=-100, log_offset=0):
    """-(y log x + (1 - y) log(1 - x)), logs clamped at log_floor; log_offset=1e-12 is the
    formula of torch before 1.0, log(x + 1e-12)."""
    def log(value):
        return max(mp.log(value + log_offset), log_floor) if value + log_offset > 0 else log_floor
    losses = [-(mp.mpf(y) * log(mp.mpf(x)) + (1 - mp.mpf(y)) * log(1 - mp.mpf(x)))
              for row_x, row_y in zip(_rows(probs), _rows(target)) for x, y in zip(row_x, row_y)]
    return _reduce(losses, reduction)


def _sigmoid_losses(logits, target):
    return [[-(mp.mpf(y) * mp.log(s) + (1 - mp.mpf(y)) * mp.log(1 - s))
             for s, y in zip(sigmoid(row_x), row_y)] for row_x, row_y in zip(_rows(logits), _rows(target))]


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    losses = _sigmoid_losses(logits, target)
    return losses if reduction == "none" else _reduce([v for row in losses for v in row], reduction)


def multilabel_soft_margin_loss(logits, target, reduction="mean"):
    return _reduce([mp.fsum(row) / len(row) for row in _sigmoid_losses(logits, target)], reduction)


def _pairs(input, target):
    return [(mp.mpf(x), mp.mpf(y)) for row_x, row_y in zip(_rows(input), _rows(target)) for x,
            y in zip(row_x, row_y)]


def l1_loss(input, target, reduction="mean"):
    return _reduce([abs(x - y) for x, y in _pairs(input, target)], reduction)


def mse_loss(input, target, reduction="mean"):
    return _reduce([(x - y) ** 2 for x, y in _pairs(input, target)], reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    delta = mp.mpf(delta)
    return _reduce([0.5 * (x - y) ** 2 if abs(x - y) <= delta else delta * (abs(x - y) - delta / 2)
                    for x, y in _pairs(input, target)], reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    return _reduce([value / mp.mpf(beta) for value in huber_loss(input, target, "none", beta)], reduction)


def kl_div_of_probabilities(probs, target, reduction="batchmean"):
    """KL divergence with the input given as probabilities q: sum y (log y - log q) / batch."""
    terms = [y * (mp.log(y) - mp.log(q)) if y else mp.mpf(0) for q, y in _pairs(probs, target)]
    return mp.fsum(terms) / len(_rows(probs)) if reduction == "batchmean" else _reduce(terms, reduction)


def poisson_nll_loss(input, target, log_input=True, eps=1e-8, reduction="mean"):
    return _reduce([mp.exp(x) - y * x if log_input else x - y * mp.log(x + mp.mpf(eps))
                    for x, y in _pairs(input, target)], reduction)


def ctc_by_enumeration(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="none"):
    """CTC by brute force: every path of positions s_0..s_{T-1} through the extended target
    (blank, l_1, blank, ..., l_L, blank) that starts at 0 or 1, steps by 0, 1 or 2 (2 only onto
    a label position whose label differs from the one two back), and ends at 2L or 2L - 1;
    log_probs is (T, N, C)."""
    losses = []
    for n, (steps, length) in enumerate(zip(input_lengths, target_lengths)):
        extended = [blank]
        for label in targets[n][:length]:
            extended += [label, blank]
        total = mp.mpf(0)
        for path in itertools.product(range(len(extended)), repeat=steps):
            moves = zip(path, path[1:])
            if path[0] > 1 or path[-1] < len(extended) - 2 or any(
                    not (0 <= b - a <= 1 or (b - a == 2 and b % 2 == 1 and extended[b] != extended[b - 2]))
                    for a, b in moves):
                continue
            total += mp.exp(mp.fsum(mp.mpf(log_probs[t][n][extended[s]]) for t, s in enumerate(path)))
        losses.append(-mp.log(total) if total > 0 else mp.inf)
    return _reduce(losses, reduction)


def minus_log_sigmoid(logits):
    """-log(sigmoid(x)) elementwise: the mistaken reading of a multi-label loss in document 002."""
    return [-mp.log(s) for s in sigmoid(logits)]


FUNCTIONS = {function.__name__: function for function in (
    log_softmax, softmax, sigmoid, cross_entropy, nll_loss, binary_cross_entropy,
    binary_cross_entropy_with_logits, multilabel_soft_margin_loss, minus_log_sigmoid, l1_loss,
    mse_loss, huber_loss, smooth_l1_loss, kl_div_of_probabilities, poisson_nll_loss, ctc_by_enumeration)}


def evaluate(name, args, kwargs):
    """The example's value as nested lists of floats (a float for a scalar)."""
    value = FUNCTIONS[name](*args, **kwargs)
    as_float = lambda v: [as_float(x) for x in v] if isinstance(v, list) else float(v)
    return as_float(value)
