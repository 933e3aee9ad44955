"""AdaptiveLogSoftmaxWithLoss (Grave et al., efficient softmax approximation), from its weights."""
import numpy as np

from ._activations import log_softmax


class AdaptiveLogSoftmaxWithLoss:
    """torch.nn.AdaptiveLogSoftmaxWithLoss evaluated from the module's parameters.

    Classes [0, cutoffs[0]) are the shortlist; cluster i holds [cutoffs[i], cutoffs[i + 1]), the
    last ending at n_classes. The head scores the shortlist and one entry per cluster; cluster i's
    tail is x @ projection_i.T @ output_i.T. So log p(c) = head[c] for a shortlist class, and
    log p(c) = head[shortlist + i] + log_softmax(tail_i)[c - cutoffs[i]] for a class of cluster i.
    Built from arrays, not from sizes: head_weight (shortlist + n_clusters, in_features),
    head_bias or None, tail = [(projection_i, output_i), ...], cutoffs as given to torch plus
    n_classes. The loop is over clusters (a few), never over samples or classes.
    """

    def __init__(self, head_weight, tail, cutoffs, n_classes, head_bias=None):
        self.head_weight, self.head_bias = np.asarray(head_weight), head_bias
        self.tail = [(np.asarray(projection), np.asarray(output)) for projection, output in tail]
        self.cutoffs = list(cutoffs) + [n_classes]
        self.shortlist_size = self.cutoffs[0]

    def log_prob(self, input):
        """log p(c | x) for every class: (N, n_classes), or (n_classes,) for a 1-D input."""
        input = np.asarray(input)
        head = input @ self.head_weight.T + (0 if self.head_bias is None else np.asarray(self.head_bias))
        head = log_softmax(head, -1)
        clusters = [head[..., self.shortlist_size + i, None]
                    + log_softmax(input @ projection.T @ output.T, -1)
                    for i, (projection, output) in enumerate(self.tail)]
        return np.concatenate([head[..., :self.shortlist_size], *clusters], axis=-1)

    def __call__(self, input, target):
        """(output, loss): output[n] = log p(target[n] | x_n), loss = -mean(output)."""
        log_probs, target = self.log_prob(input), np.asarray(target)
        n_classes = self.cutoffs[-1]
        if ((target < 0) | (target >= n_classes)).any():
            raise ValueError(f"target: expected values in [0, {n_classes - 1}], got "
                             f"[{target.min()}, {target.max()}]")
        if target.ndim != log_probs.ndim - 1 or target.shape != log_probs.shape[:-1]:
            raise ValueError(f"target: expected shape {log_probs.shape[:-1]}, got {target.shape}")
        output = np.take_along_axis(log_probs, target[..., None], axis=-1)[..., 0]
        return output, np.asarray(-output.mean())

    def predict(self, input):
        """The most likely class: argmax_c log p(c | x)."""
        return np.argmax(self.log_prob(input), axis=-1)
