"""Records of sequence losses (ctc_loss) and of nn.NLLLoss2d, the deprecated 4-D alias."""
import numpy as np
import torch.nn.functional as F
from hypothesis import strategies as st
from torch import nn

import reference
from reference import gradients

from ..registry import Case, LossRecord, Shape
from .inputs import REDUCTION, bad_call, fixed_case


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def build_ctc(rng, dims, variant, kwargs):
    """dims = (T, N, C, S); variant: padded (N, S) targets, concatenated 1-D, or unbatched."""
    steps, batch, num_classes, width = dims
    blank = num_classes - 1 if kwargs.get("blank") == "last" else 0
    if "blank" in kwargs:
        kwargs["blank"] = blank
    labels = rng.integers(0, num_classes - 1, (batch, width))
    labels = labels + (labels >= blank)  # never the blank
    target_lengths = rng.integers(0, width + 1, batch)
    input_lengths = rng.integers(1, steps + 1, batch)
    input_lengths[0], target_lengths[0] = steps, width  # the longest sample fills the arrays
    log_probs = _log_softmax(rng.normal(0.0, 1.5, (steps, batch, num_classes)))
    if variant == "unbatched":
        return (log_probs[:, 0], labels[0], np.array(steps), np.array(width)), kwargs
    if variant == "concatenated":
        labels = np.concatenate([labels[n, :length] for n, length in enumerate(target_lengths)])
    return (log_probs, labels, input_lengths, target_lengths), kwargs


CTC_LABEL_CHECKED = ("pytorch/pytorch#174602: the CPU kernel reads log_probs at a label >= C without a check "
                     "(a crash or an arbitrary value; a check proposed in #174988)")


def ctc_mistakes(call):
    """Lengths past what they measure (an input length past T, a padded target length past S)
    and a label past the last class, which torch's CPU kernel does not check: it crashes the
    process (pytorch/pytorch#174602), so torch's side runs in a process of its own."""
    targets, input_lengths, target_lengths = (np.array(call[name]) for name in
                                              ("targets", "input_lengths", "target_lengths"))
    input_lengths.reshape(-1)[0] = call["log_probs"].shape[0] + 1
    mistakes = [("input_length_past_T", "input_lengths", input_lengths, {})]
    if targets.ndim == 2:
        target_lengths.reshape(-1)[0] = targets.shape[1] + 1
        mistakes.append(("target_length_past_S", "target_lengths", target_lengths, {}))
    if targets.size:
        targets.reshape(-1)[0] = call["log_probs"].shape[-1]
        mistakes.append(("label_C", "targets", targets, {"torch_crashes": CTC_LABEL_CHECKED}))
    return mistakes


def ctc_edge_cases():
    """No alignment fits (inf, or 0 with zero_infinity), repeated labels that need a blank
    between them, empty targets, and one time step."""
    log_probs = _log_softmax(np.random.default_rng(5).normal(size=(4, 3, 4)))
    cases = []
    for zero_infinity in (False, True):
        for reduction in REDUCTION:
            cases.append(fixed_case(f"impossible-zero_infinity={zero_infinity}-{reduction}",
                                    (log_probs, np.array([[1, 1, 1], [1, 2, 3], [2, 2, 0]]),
                                     np.array([4, 2, 4]),
                                     np.array([3, 3, 2])),
                                    {"zero_infinity": zero_infinity, "reduction": reduction}))
    cases.append(fixed_case("empty_targets-none", (log_probs, np.zeros((3, 0), dtype=np.int64),
                                                              np.array([4, 1, 3]), np.array([0, 0, 0])),
                            {"reduction": "none"}))
    # concatenated targets stored non-contiguously: torch's CPU kernel misreads samples 2 and 3
    concatenated = Case("", "strided_concatenated_targets-none",
                        lambda rng: ((log_probs[:, :3], np.array([1, 2, 3, 3, 1, 2, 3]), np.array([4, 4, 4]),
                                      np.array([3, 2, 2])), {"reduction": "none"}), layout="strided")
    cases.append(concatenated)
    cases.append(fixed_case("one_step-none", (log_probs[:1], np.array([[2], [1], [3]]), np.array([1, 1, 1]),
                                                         np.array([1, 0, 1])), {"reduction": "none"}))
    return cases


BAD_LOG_PROBS = _log_softmax(np.zeros((4, 2, 3)))  # the bad calls' log_probs: T=4, N=2, C=3


def bad_ctc_call(name, argument, log_probs=BAD_LOG_PROBS, input_lengths=(4, 4), target_lengths=(1, 1),
                 blank=None, **options):
    """A bad call of ctc_loss naming `argument`: targets [[1], [2]] of BAD_LOG_PROBS, one thing changed."""
    arguments = (log_probs, np.array([[1], [2]]), np.array(input_lengths), np.array(target_lengths))
    return bad_call(name, arguments, {} if blank is None else {"blank": blank}, ValueError, argument,
                    **options)


RECORDS = [
    LossRecord(
        name="ctc_loss", reference=reference.ctc_loss, torch_fn=F.ctc_loss,
        gradient=gradients.ctc_loss_backward, differentiable=("log_probs",),
        no_finite_differences={"log_probs": "torch's gradient is with respect to the logits of a log_softmax "
                                            "that made log_probs; test_ctc_gradient_is_that_of_the_logits "
                                            "checks it"},
        sizes={"small": (50, 4, 10, 10), "medium": (100, 8, 20, 25), "large": (200, 16, 30, 50)},
        build=build_ctc,
        shapes=(Shape("T12-N4-C6-S4", (12, 4, 6, 4)), Shape("T5-N2-C3-S2", (5, 2, 3, 2)),
                Shape("T20-N1-C30-S8", (20, 1, 30, 8)),
                Shape("T6-N3-C5-S3_permuted", (6, 3, 5, 3), "permuted"),
                Shape("T6-N3-C5-S3_strided", (6, 3, 5, 3), "strided")),
        variants=("padded", "concatenated", "unbatched"),
        keyword_grid={"blank": [0, "last"], "zero_infinity": [False, True], "reduction": REDUCTION},
        edge_cases=ctc_edge_cases, mistakes=ctc_mistakes,
        bad_calls=(
            bad_ctc_call("input_lengths_above_T", "input_lengths", input_lengths=(5, 4)),
            bad_ctc_call("target_lengths_above_S", "target_lengths", target_lengths=(2, 1)),
            # pytorch/pytorch#123193 (2024-04; torch 2.2.2 accepts it, 2.6.0 rejects it)
            bad_ctc_call("negative_target_length", "target_lengths", target_lengths=(-1, 1),
                         torch_rejects_since="2.4"),
            bad_ctc_call("blank_out_of_range", "blank", blank=3),
            bad_ctc_call("log_probs_4d", "log_probs", log_probs=BAD_LOG_PROBS[None]),
        ),
        module=nn.CTCLoss,
        random_dims=st.tuples(st.integers(1, 8), st.integers(1, 3), st.integers(2, 6), st.integers(0, 4)),
    ),
]
