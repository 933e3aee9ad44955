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

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "log_softmax",
    "logsigmoid",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "sigmoid",
    "softmax",
]
