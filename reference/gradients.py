"""The reference's analytic gradients, one function per loss: `<loss>_backward(grad_output,
*the loss's arguments)` returns {argument: gradient} for each argument torch differentiates,
given the upstream gradient grad_output of the loss's output shape. Each is defined next to its
forward function, with the formula and torch's convention at non-differentiable points; at a
hinge's kink the other one-sided derivative comes too, under "<argument>" + OTHER_SIDE."""
from ._activations import log_softmax_backward, logsigmoid_backward, sigmoid_backward, softmax_backward
from ._classification import (
    binary_cross_entropy_backward,
    binary_cross_entropy_with_logits_backward,
    cross_entropy_backward,
    linear_cross_entropy_backward,
    multilabel_soft_margin_loss_backward,
    nll_loss_backward,
)
from ._margin import (
    OTHER_SIDE,
    cosine_embedding_loss_backward,
    hinge_embedding_loss_backward,
    margin_ranking_loss_backward,
    multi_margin_loss_backward,
    multilabel_margin_loss_backward,
    pairwise_distance_slopes,
    soft_margin_loss_backward,
    triplet_margin_loss_backward,
    triplet_margin_with_distance_loss_backward,
)
from ._regression import (
    gaussian_nll_loss_backward,
    huber_loss_backward,
    kl_div_backward,
    l1_loss_backward,
    mse_loss_backward,
    poisson_nll_loss_backward,
    smooth_l1_loss_backward,
)
from ._sequence import ctc_loss_backward

__all__ = [
    "OTHER_SIDE", "binary_cross_entropy_backward", "binary_cross_entropy_with_logits_backward",
    "cosine_embedding_loss_backward",
    "cross_entropy_backward", "ctc_loss_backward", "gaussian_nll_loss_backward",
    "hinge_embedding_loss_backward", "huber_loss_backward",
    "kl_div_backward", "l1_loss_backward", "linear_cross_entropy_backward", "log_softmax_backward",
    "logsigmoid_backward", "margin_ranking_loss_backward", "mse_loss_backward", "multi_margin_loss_backward",
    "multilabel_margin_loss_backward",
    "multilabel_soft_margin_loss_backward", "nll_loss_backward", "poisson_nll_loss_backward",
    "sigmoid_backward",
    "smooth_l1_loss_backward", "soft_margin_loss_backward", "softmax_backward",
    "triplet_margin_loss_backward",
    "triplet_margin_with_distance_loss_backward",
    "pairwise_distance_slopes",  # (d/du, d/dv) of ||u - v + eps||_p, for distance functions of one's own
]
