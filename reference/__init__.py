"""NumPy reference implementations of torch.nn.functional's losses: the independent oracle.

NumPy only (importing this package never imports torch). Each function has torch's name,
parameters and defaults, takes and returns NumPy arrays, and keeps the input's dtype.
"""
from ._activations import log_softmax, logsigmoid, sigmoid, softmax
from ._classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    multilabel_soft_margin_loss,
    nll_loss,
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

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gaussian_nll_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "log_softmax",
    "logsigmoid",
    "mse_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "sigmoid",
    "smooth_l1_loss",
    "softmax",
]
