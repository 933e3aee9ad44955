"""Records of the margin and embedding family. Hinge kinks: the losses are continuous there, so
values need no special tolerance; cases sit both on the kinks and away from them."""
import numpy as np
import torch.nn.functional as F
from torch import nn

import reference
from reference import gradients

from ..registry import LossRecord, Shape, Twin
from . import inputs
from .inputs import ELEMENTWISE_SHAPES, LEGACY_FLAGS, REDUCTION, bad_call, fixed_case, legacy_cases

PAIR_SHAPES = (Shape("2d", (5, 4)), Shape("unbatched", (4,)), Shape("scalar", ()), Shape("n1", (1, 4)),
               Shape("empty", (0, 4)),
               Shape("2d_strided", (5, 4), "strided"), Shape("2d_permuted", (5, 4), "permuted"))
TRIPLET_SHAPES = PAIR_SHAPES + (Shape("k1", (2, 3, 4)),)  # the distances reduce the last dim of any rank


def signs(rng, dims, variant):
    """Targets +-1, or with variant 'other_targets' also 0 and 0.5, which torch also accepts."""
    values = [1.0, -1.0, 0.0, 0.5] if variant == "other_targets" else [1.0, -1.0]
    return rng.choice(values, dims)


def build_hinge(rng, dims, variant, kwargs):
    return (rng.normal(0.0, 1.5, dims), signs(rng, dims, variant)), kwargs


def build_ranking(rng, dims, variant, kwargs):
    return (rng.normal(0.0, 1.5, dims), rng.normal(0.0, 1.5, dims), signs(rng, dims, "")), kwargs


def build_soft_margin(rng, dims, variant, kwargs):
    return (rng.normal(0.0, 2.0, dims), signs(rng, dims, variant)), kwargs


def build_multi_margin(rng, dims, variant, kwargs):
    """(N, C), (C,) or 0-d (one class) inputs; variant 'flat_target': the target torch also takes
    for one sample, (1,) for a (C,) input and 0-d for a (1, C) one."""
    classes = dims[-1] if dims else 1
    if variant == "flat_target" and dims not in ((classes,), (1, classes)):
        return None
    if kwargs.get("weight") == "random":
        kwargs["weight"] = inputs.positive_weight(rng, classes)
    target = rng.integers(0, classes, dims[:-1])
    if variant:  # flat_target: a (1,) target for a (C,) input, a 0-d one for a (1, C) input
        target = target.reshape((1,) if len(dims) == 1 else ())
    return (rng.normal(0.0, 1.0, dims), target), kwargs


def build_multilabel_margin(rng, dims, variant, kwargs):
    """Each row lists some classes then -1 (after which entries are ignored), with repeats; a 0-d
    input is one sample of one class."""
    frame = dims or (1,)
    target = rng.integers(0, frame[-1], frame)
    ends = rng.integers(0, frame[-1] + 1, frame[:-1])
    position = np.arange(frame[-1])
    target = np.where(position == np.expand_dims(ends, -1), -1, target)
    return (rng.normal(0.0, 1.0, dims), target.reshape(dims)), kwargs


def build_cosine(rng, dims, variant, kwargs):
    """variant 'broadcast': input2 of one row, which torch broadcasts over the batch."""
    if not dims or not inputs.broadcast_form(variant, dims, kwargs):
        return None
    input2 = rng.normal(0.0, 1.0, (1, *dims[1:]) if variant == "broadcast" else dims)
    return (rng.normal(0.0, 1.0, dims), input2, signs(rng, dims[:-1], variant)), kwargs


def build_triplet(rng, dims, variant, kwargs):
    """variant 'broadcast': an anchor and a negative of one column and a positive of one row, which
    torch broadcasts (the anchor's two distances then have different shapes)."""
    if not inputs.broadcast_form(variant, dims, kwargs):
        return None
    anchor = rng.normal(0.0, 1.0, dims)
    positive = np.asarray(anchor + rng.normal(0.0, 0.5, dims))  # an array, also for 0-d dims
    negative = rng.normal(0.0, 1.0, dims)
    if variant == "broadcast":
        anchor, positive, negative = anchor[:, :1], positive[:1], negative[:, :1]
    return (anchor, positive, negative), kwargs


def _one_minus_cosine_slope(u, v):
    """d/du of 1 - u.v / (|u| |v|) = -(v / (|u| |v|) - cos u / |u|^2), and symmetrically."""
    nu, nv = np.linalg.norm(u, axis=-1, keepdims=True), np.linalg.norm(v, axis=-1, keepdims=True)
    cosine = np.einsum("...d,...d->...", u, v)[..., None] / (nu * nv)
    return -(v / (nu * nv) - cosine * u / nu ** 2), -(u / (nu * nv) - cosine * v / nv ** 2)


PAIRWISE = Twin("pairwise", lambda u, v: F.pairwise_distance(u, v),
                lambda u, v: np.linalg.norm(u - v + 1e-6, axis=-1), gradients.pairwise_distance_slopes)
COSINE = Twin("one_minus_cosine", lambda u, v: 1 - F.cosine_similarity(u, v, dim=-1),
              lambda u, v: 1 - np.einsum("...d,...d->...", u, v)
              / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-8),
              _one_minus_cosine_slope)
L1_LAMBDA = Twin("l1_lambda", lambda u, v: (u - v).abs().sum(-1), lambda u, v: np.abs(u - v).sum(-1),
                 lambda u, v: (np.sign(u - v), -np.sign(u - v)))


ON_KINK = np.array([1.0, 0.5, -1.0, 2.0])  # values exactly on the hinge kinks: margin - x == 0
ANCHOR = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])


def identical_anchor_positive():
    """The triplet losses' kink: an anchor identical to its positive (a distance of 0)."""
    return [fixed_case("identical_anchor_positive-none", (ANCHOR, ANCHOR.copy(), ANCHOR + 3.0),
                       {"reduction": "none"})]


def soft_margin_edge_cases():
    """-y x far beyond where exp(-y x) overflows in each dtype: the loss is about -y x."""
    margins = np.array([20.0, 100.0, 1000.0, -1000.0])
    return [fixed_case(f"large_margin_violation-{reduction}", (margins, -np.ones(4)),
                       {"reduction": reduction}) for reduction in ("none", "mean")]


MARGIN_CHECKED_SINCE = "2.4"  # torch rejects a margin <= 0 of the triplet losses from pytorch/pytorch#121978
# (merged 2024-03-19, after 2.3's branch cut; torch 2.2.2 accepts it, 2.6.0 rejects it)


BAD_INPUT = np.arange(6.0).reshape(2, 3) / 6  # the bad calls' (2, 3) input: 2 samples of 3 classes
BAD_TARGET = np.array([1, 2])  # a valid class index for each of its samples
# (N, C) or (C,) with N >= 1: torch's empty-batch results for these two are arbitrary (see the ledger)
NONEMPTY_CLASS_DIMS = inputs.class_dims(max_extra_dims=0).filter(lambda dims: dims[0] > 0)
RECORDS = [
    LossRecord(
        name="hinge_embedding_loss", reference=reference.hinge_embedding_loss,
        torch_fn=F.hinge_embedding_loss,
        gradient=gradients.hinge_embedding_loss_backward, differentiable=("input",),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_hinge, shapes=ELEMENTWISE_SHAPES,
        variants=("", "other_targets"),
        keyword_grid={"margin": [1.0, 0.3, 2.0], "reduction": REDUCTION},
        edge_cases=lambda: [fixed_case("on_kink-none", (ON_KINK, np.array([-1.0, -1, -1, 1])),
                                       {"margin": 1.0, "reduction": "none"})]
        + legacy_cases(build_hinge, (4, 5)),
        module=nn.HingeEmbeddingLoss, random_dims=inputs.any_dims(), untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="margin_ranking_loss", reference=reference.margin_ranking_loss, torch_fn=F.margin_ranking_loss,
        gradient=gradients.margin_ranking_loss_backward, differentiable=("input1", "input2", "target"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_ranking, shapes=ELEMENTWISE_SHAPES,
        keyword_grid={"margin": [0, 0.5], "reduction": REDUCTION},
        edge_cases=lambda: [fixed_case("on_kink-none", (ON_KINK, ON_KINK - 0.5, np.ones(4)),
                                       {"margin": 0.5, "reduction": "none"})]
        + legacy_cases(build_ranking, (4, 5)),
        bad_calls=(bad_call("target_fewer_dims", (BAD_INPUT, BAD_INPUT, np.ones(3)), {},
                            ValueError, "target"),),
        module=nn.MarginRankingLoss, random_dims=inputs.any_dims(), untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="soft_margin_loss", reference=reference.soft_margin_loss, torch_fn=F.soft_margin_loss,
        gradient=gradients.soft_margin_loss_backward, differentiable=("input",),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_soft_margin, shapes=ELEMENTWISE_SHAPES,
        keyword_grid={"reduction": REDUCTION},
        edge_cases=lambda: soft_margin_edge_cases() + legacy_cases(build_soft_margin, (4, 5)),
        module=nn.SoftMarginLoss, random_dims=inputs.any_dims(), untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="multi_margin_loss", reference=reference.multi_margin_loss, torch_fn=F.multi_margin_loss,
        gradient=gradients.multi_margin_loss_backward, differentiable=("input",),
        sizes=inputs.MARGIN_CLASS_SIZES, build=build_multi_margin, shapes=PAIR_SHAPES,
        variants=("", "flat_target"),
        keyword_grid={"p": [1, 2], "margin": [1.0, 0.4], "weight": [None, "random"], "reduction": REDUCTION},
        edge_cases=lambda: [fixed_case("on_kink-none", (np.array([[1.0, 0.0, 0.5]]), np.array([0])),
                                       {"reduction": "none"})]
        + legacy_cases(build_multi_margin, (5, 4)),
        bad_calls=(bad_call("target_out_of_range", (BAD_INPUT, np.array([1, 3])), {}, ValueError, "target"),
                   bad_call("target_negative", (BAD_INPUT, np.array([1, -1])), {}, ValueError, "target"),
                   bad_call("p_not_1_or_2", (BAD_INPUT, BAD_TARGET), {"p": 3}, ValueError, "p"),
                   bad_call("weight_wrong_length", (BAD_INPUT, BAD_TARGET), {"weight": np.ones(4)},
                            ValueError, "weight")),
        mistakes=lambda call: inputs.index_mistakes(call,
                                                    call["input"].shape[-1] if call["input"].ndim else 1),
        module=nn.MultiMarginLoss, random_dims=NONEMPTY_CLASS_DIMS, untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="multilabel_margin_loss", reference=reference.multilabel_margin_loss,
        gradient=gradients.multilabel_margin_loss_backward, differentiable=("input",),
        torch_fn=F.multilabel_margin_loss,
        sizes={"small": (64, 100), "medium": (1024, 100), "large": (4096, 100)},
        build=build_multilabel_margin, shapes=PAIR_SHAPES,
        keyword_grid={"reduction": REDUCTION},
        edge_cases=lambda: legacy_cases(build_multilabel_margin, (5, 4)),
        bad_calls=(bad_call("target_other_negative", (BAD_INPUT, np.array([[0, -2, -1], [1, -1, 0]])), {},
                            ValueError, "target"),
                   bad_call("target_out_of_range", (BAD_INPUT, np.array([[0, 3, -1], [1, -1, 0]])), {},
                            ValueError, "target"),
                   bad_call("target_shape", (BAD_INPUT, np.array([0, 1, -1])), {}, ValueError, "target")),
        mistakes=lambda call: inputs.index_mistakes(call,
                                                    call["input"].shape[-1] if call["input"].ndim else 1),
        module=nn.MultiLabelMarginLoss, untested_keywords=LEGACY_FLAGS,
        random_dims=NONEMPTY_CLASS_DIMS,
    ),
    LossRecord(
        name="cosine_embedding_loss", reference=reference.cosine_embedding_loss,
        gradient=gradients.cosine_embedding_loss_backward, differentiable=("input1", "input2"),
        torch_fn=F.cosine_embedding_loss,
        sizes=inputs.EMBEDDING_SIZES, build=build_cosine, shapes=PAIR_SHAPES,
        variants=("", "other_targets", "broadcast"),
        keyword_grid={"margin": [0, 0.3, -0.5], "reduction": REDUCTION},
        edge_cases=lambda: [fixed_case("zero_vectors-none",
                                       (np.zeros((2, 3)), np.ones((2, 3)), np.array([1.0, -1.0])),
                                       {"reduction": "none"}),
                            # |input1|^2 = 9.5e-6 is a float16 subnormal (below 6.1e-5): found by a randomized
                            # draw;
                            # not in bfloat16, whose 1 - cos here is a cancellation within one ulp of 1
                            fixed_case("subnormal_squared_norm-none",
                                       (np.array([[0.0025, -0.0018], [1.0, 2.0]]),
                                        np.array([[0.3, -0.2], [1.5, -0.5]]), np.array([1.0, 1.0])),
                                       {"reduction": "none"}, dtypes=("float64", "float32", "float16"))]
        + legacy_cases(build_cosine, (5, 4)),
        bad_calls=(bad_call("target_2d", (BAD_INPUT, BAD_INPUT, np.ones((2, 1))), {}, ValueError, "target"),
                   bad_call("input2_fewer_dims", (BAD_INPUT, BAD_INPUT[0], np.ones(2)), {},
                            ValueError, "target")),
        module=nn.CosineEmbeddingLoss,
        random_dims=inputs.class_dims(max_extra_dims=0).filter(lambda d: len(d) <= 2),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="triplet_margin_loss", reference=reference.triplet_margin_loss, torch_fn=F.triplet_margin_loss,
        gradient=gradients.triplet_margin_loss_backward, differentiable=("anchor", "positive", "negative"),
        sizes=inputs.EMBEDDING_SIZES, build=build_triplet, shapes=TRIPLET_SHAPES, variants=("", "broadcast"),
        keyword_grid={"margin": [1.0, 0.2], "p": [2, 1, 3], "eps": [1e-6, 0.1], "swap": [False, True],
                      "reduction": REDUCTION},
        edge_cases=lambda: identical_anchor_positive()
        + legacy_cases(build_triplet, (5, 4)),
        bad_calls=(bad_call("margin_zero", (BAD_INPUT, BAD_INPUT, BAD_INPUT), {"margin": 0.0},
                            ValueError, "margin",
                            torch_rejects_since=MARGIN_CHECKED_SINCE),
                   bad_call("negative_fewer_dims", (BAD_INPUT, BAD_INPUT, np.ones(3)), {},
                            ValueError, "negative")),
        module=nn.TripletMarginLoss, random_dims=inputs.class_dims(max_extra_dims=1),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="triplet_margin_with_distance_loss", reference=reference.triplet_margin_with_distance_loss,
        gradient=gradients.triplet_margin_with_distance_loss_backward,
        differentiable=("anchor", "positive", "negative"),
        torch_fn=F.triplet_margin_with_distance_loss,
        sizes=inputs.EMBEDDING_SIZES, build=build_triplet, shapes=TRIPLET_SHAPES, variants=("", "broadcast"),
        keyword_grid={"distance_function": [None, PAIRWISE, COSINE, L1_LAMBDA], "margin": [1.0, 0.3],
                      "swap": [False, True], "reduction": REDUCTION},
        edge_cases=identical_anchor_positive,
        bad_calls=(bad_call("margin_negative", (BAD_INPUT, BAD_INPUT, BAD_INPUT), {"margin": -1.0},
                            ValueError, "margin",
                            torch_rejects_since=MARGIN_CHECKED_SINCE),
                   bad_call("negative_fewer_dims", (BAD_INPUT, BAD_INPUT, np.ones(3)), {},
                            ValueError, "negative")),
        module=nn.TripletMarginWithDistanceLoss, random_dims=inputs.class_dims(max_extra_dims=1),
    ),
]
