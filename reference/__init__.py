"""NumPy reference implementations of torch.nn.functional's losses: the independent oracle.

NumPy only (importing this package never imports torch). Each function has torch's name,
parameters and defaults, takes and returns NumPy arrays, and keeps the input's dtype.
"""
from ._activations import log_softmax, logsigmoid, sigmoid, softmax
from ._adaptive import AdaptiveLogSoftmaxWithLoss
from ._classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    linear_cross_entropy,
    multilabel_soft_margin_loss,
    nll_loss,
)
from ._margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from ._regression import (
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from ._sequence import ctc_loss

__all__ = [
    "AdaptiveLogSoftmaxWithLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "log_softmax",
    "logsigmoid",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "sigmoid",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
