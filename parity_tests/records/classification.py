"""Records of the classification family: nll_loss (and nll_loss_4d, nn.NLLLoss2d), cross_entropy,
linear_cross_entropy, the BCE losses and multilabel_soft_margin_loss."""
import numpy as np
import torch.nn.functional as F
from hypothesis import strategies as st
from torch import nn

import reference
from reference import gradients

from ..harness import floating
from ..registry import BadCall, LossRecord, Shape
from . import inputs
from .inputs import ELEMENTWISE_SHAPES, LEGACY_FLAGS, REDUCTION, fixed_case, legacy_cases

# (N, C, d1, ..., dk) inputs of torch's class-index losses; the first gets the full grid
CLASS_SHAPES = (
    Shape("2d", (6, 5)),
    Shape("unbatched", (5,)),
    Shape("k1", (3, 4, 5)),
    Shape("k2", (2, 3, 4, 2)),
    Shape("k3", (2, 3, 2, 3, 2)),
    Shape("n1", (1, 5)),
    Shape("c1", (4, 1)),
    Shape("empty", (0, 5)),
    Shape("2d_strided", (6, 5), "strided"),
    Shape("k2_permuted", (2, 3, 4, 2), "permuted"),
)


def _class_axis(dims):
    return 0 if len(dims) == 1 else 1


def _target_dims(dims):
    return dims[:1] + dims[2:] if len(dims) > 1 else ()


def _class_weight(rng, dims, kwargs):
    if kwargs.get("weight") == "random":
        kwargs["weight"] = inputs.positive_weight(rng, dims[_class_axis(dims)])
    return kwargs


def _index_target(rng, dims, kwargs):
    return inputs.class_indices(rng, _target_dims(dims), dims[_class_axis(dims)], kwargs.get("ignore_index"))


def build_nll(rng, dims, variant, kwargs):
    log_probs = rng.uniform(-4.0, 0.0, dims)
    target = _index_target(rng, dims, kwargs)
    return (log_probs, target), _class_weight(rng, dims, kwargs)


def build_nll_4d(rng, dims, variant, kwargs):
    """nll_loss of a (N, C, H, W) input (nn.NLLLoss2d's), other ranks refused."""
    return build_nll(rng, dims, variant, kwargs) if len(dims) == 4 else None


def build_cross_entropy(rng, dims, variant, kwargs):
    if variant == "probs":
        if kwargs.get("ignore_index", -100) >= 0:
            return None  # torch: ignore_index is not supported for probability targets
        target = inputs.probabilities(rng, dims, _class_axis(dims))
    else:
        target = _index_target(rng, dims, kwargs)
    return (inputs.logits(rng, dims), target), _class_weight(rng, dims, kwargs)


def class_mistakes(call):
    """inputs.index_mistakes of a class-index call, C read from the input's class axis."""
    if call["target"].dtype.kind != "i":
        return []
    return inputs.index_mistakes(call, call["input"].shape[_class_axis(call["input"].shape)])


def probability_target(call):
    """Whether a call's target holds class probabilities (floating), not class indices."""
    return floating(call["target"])


EDGE_LOGITS = np.random.default_rng(7).normal(0, 2, (4, 3))  # the first draw of the edge cases' generator
EDGE_WEIGHT = np.array([0.5, 2.0, 1.5])
ALL_IGNORED = np.full(4, -100)


def nll_edge_cases():
    """All targets ignored (nan for the mean), and a (C,) input with a target of one element:
    torch's forward takes it as the 0-d target of the one sample (its backward does not: see the
    ledger)."""
    return [fixed_case(f"all_ignored-weight-{reduction}", (-np.abs(EDGE_LOGITS), ALL_IGNORED),
                       {"reduction": reduction, "weight": EDGE_WEIGHT}) for reduction in REDUCTION] + [
        fixed_case("unbatched-one_element_target-none", (-np.abs(EDGE_LOGITS[0]), np.array([1])),
                   {"reduction": "none"})]


def cross_entropy_edge_cases():
    """All targets ignored, extreme logits, pure smoothing, unnormalised probability targets,
    a one-element target, and sums that overflow float16."""
    cases = []
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 2, (4, 3))
    for reduction in REDUCTION:
        cases.append(fixed_case(f"all_ignored-{reduction}", (logits, ALL_IGNORED), {"reduction": reduction}))
        cases.append(fixed_case(f"all_ignored-weight-label_smoothing-{reduction}", (logits, ALL_IGNORED),
                                {"reduction": reduction, "weight": EDGE_WEIGHT, "label_smoothing": 0.2}))
    for magnitude, dtypes in ((1e4, None), (1e30, ("float64", "float32"))):
        extreme = np.array([[magnitude, -magnitude, 0.0], [-magnitude, -magnitude, magnitude],
                            [magnitude, magnitude, -magnitude]])
        for reduction in ("none", "mean"):
            cases.append(fixed_case(f"logits_{magnitude:g}-{reduction}",
                                    (extreme, np.array([1, 2, 0])),
                                    {"reduction": reduction, "label_smoothing": 0.1}, dtypes))
            cases.append(fixed_case(f"probs-logits_{magnitude:g}-{reduction}",
                                    (extreme, np.eye(3)), {"reduction": reduction}, dtypes))
    for reduction in REDUCTION:
        cases.append(fixed_case(f"label_smoothing=1.0-weight-{reduction}",
                                (logits, np.array([0, 1, 2, -100])),
                                {"reduction": reduction, "label_smoothing": 1.0, "weight": EDGE_WEIGHT}))
        cases.append(fixed_case(f"probs-k2-weight-label_smoothing=0.1-{reduction}",
                                (rng.normal(0, 2, (2, 3, 4, 2)),
                                 inputs.probabilities(rng, (2, 3, 4, 2), 1)),
                                {"reduction": reduction, "weight": EDGE_WEIGHT, "label_smoothing": 0.1}))
    # as nll_loss's: the forward takes a one-element target of a (C,) input, the backward does not
    cases.append(fixed_case("unbatched-one_element_target-none", (logits[0], np.array([1])),
                            {"reduction": "none"}))
    # confident predictions (p = 0.97 and 0.93): CPU float16/bfloat16 round the sum of exponentials
    # before its log (see the ledger), named with the tag random draws of this mechanism get
    cases.append(fixed_case("confident_prediction-none-rounded_exponential_sum",
                            (np.array([[-0.5054, -2.5938, -2.2617, 3.959, -0.2776],
                                       [0.3, 4.1, -1.2, 0.8, -0.4]]),
                             np.array([3, 1])), {"reduction": "none"}, dtypes=("float16", "bfloat16")))
    # the soft-label example of document 001: multi-hot rows that do not sum to 1
    multi_hot = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 0]])
    cases.append(fixed_case("probs-unnormalised-none",
                            (rng.normal(0, 3, (5, 3)), multi_hot), {"reduction": "none"}))
    # N=30000 losses of log(10): the mean's sum is 69078, past float16's 65504
    cases.append(fixed_case("large_batch-mean",
                            (np.zeros((30000, 10)), np.arange(30000) % 10), {},
                            dtypes=("float16", "bfloat16")))
    # smoothing sums -sum_c log p over 1000 classes: about 7400 a row, past 65504 at 16 rows
    cases.append(fixed_case("label_smoothing_1000_classes-sum",
                            (rng.normal(0, 1, (16, 1000)), rng.integers(0, 1000, 16)),
                            {"label_smoothing": 0.1, "reduction": "sum"}))
    return cases


def _class_bad_calls(extra=()):
    logits = lambda rng: rng.normal(size=(3, 4))
    return (
        BadCall("target_out_of_range", lambda rng: ((logits(rng), np.array([0, 1, 4])), {}),
                ValueError, "target"),
        BadCall("target_negative", lambda rng: ((logits(rng), np.array([0, -3, 1])), {}),
                ValueError, "target"),
        BadCall("target_float_indices", lambda rng: ((logits(rng), np.array([0.0, 1.0, 2.0])), {}),
                TypeError, "target"),
        BadCall("target_batch_mismatch", lambda rng: ((logits(rng), np.array([0, 1])), {}),
                ValueError, "target"),
        BadCall("weight_wrong_length", lambda rng: ((logits(rng), np.array([0, 1, 2])),
                                                    {"weight": np.ones(3)}), ValueError, "weight"),
    ) + tuple(extra)


def _elementwise_bad_calls(make_input, make_target, extra=()):
    return (
        BadCall("target_shape", lambda rng: ((make_input(rng, (3, 4)), make_target(rng, (3,))), {}),
                ValueError, "target"),
        BadCall("weight_not_broadcastable",
                lambda rng: ((make_input(rng, (3, 4)), make_target(rng, (3, 4))), {"weight": np.ones(3)}),
                ValueError, "weight"),
    ) + tuple(extra)


def _bce_input(rng, dims):
    return rng.uniform(0.02, 0.98, dims)


def _soft_target(rng, dims):
    return rng.uniform(0.0, 1.0, dims)


def _elementwise_weight(rng, dims, kwargs, key="weight"):
    """"random": one weight per element; "per_class": one per last-dim entry, broadcast."""
    if kwargs.get(key) == "random":
        kwargs[key] = inputs.positive_weight(rng, dims)
    elif kwargs.get(key) == "per_class":
        kwargs[key] = inputs.positive_weight(rng, dims[-1:])
    return kwargs


def build_bce(rng, dims, variant, kwargs):
    return (_bce_input(rng, dims), _soft_target(rng, dims)), _elementwise_weight(rng, dims, kwargs)


def build_bce_with_logits(rng, dims, variant, kwargs):
    kwargs = _elementwise_weight(rng, dims, kwargs)
    kwargs = _elementwise_weight(rng, dims, kwargs, key="pos_weight")
    return (inputs.logits(rng, dims, scale=3.0), _soft_target(rng, dims)), kwargs


def build_multilabel_soft_margin(rng, dims, variant, kwargs):
    """variant 'broadcast': a target of one row, which torch broadcasts over the batch."""
    if not dims or not inputs.broadcast_form(variant, dims, kwargs):
        return None
    kwargs = _elementwise_weight(rng, dims, kwargs)
    target = rng.integers(0, 2, (1, *dims[1:]) if variant == "broadcast" else dims).astype(np.float64)
    return (inputs.logits(rng, dims, scale=3.0), target), kwargs


def sigmoid_loss_edge_cases(extra_kwargs=()):
    """Infinite and huge logits against hard targets: the loss is 0 or infinite, or |x|."""
    logits = np.array([[np.inf, -np.inf, np.inf, -np.inf], [1e4, -1e4, 1e4, -1e4]])
    target = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]])
    cases = []
    for reduction in ("none", "sum"):
        for extra in ({},) + tuple(extra_kwargs):
            label = "".join(f"-{key}" for key in extra)
            cases.append(fixed_case(f"infinite_logits{label}-{reduction}", (logits[:1], target[:1]),
                                    {"reduction": reduction, **extra}))
            cases.append(fixed_case(f"logits_1e4{label}-{reduction}", (logits[1:], target[1:]),
                                    {"reduction": reduction, **extra}))
    return cases


def bce_edge_cases():
    """Probabilities exactly 0 and 1: log is clamped at -100, so a wrong certain answer costs 100."""
    probabilities = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30])
    target = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    return [fixed_case(f"certain_probabilities-{reduction}",
                       (probabilities, target), {"reduction": reduction}) for reduction in REDUCTION]


def chunked_options():
    """torch's options forcing its chunked linear_cross_entropy kernel past 3 rows; on a torch
    without them (before 2.13, where the record's cases skip for their version) the string
    "chunked": nothing version-specific is imported when the suite collects."""
    try:
        from torch.nn.modules.linear_cross_entropy_options import LinearCrossEntropyOptions
    except ImportError:
        return "chunked"
    return LinearCrossEntropyOptions(batch_chunk_size=3)


def build_linear_cross_entropy(rng, dims, variant, kwargs):
    """dims = (N, in_features, C, *out_features), or (in_features, C) unbatched."""
    unbatched = len(dims) == 2
    batch = () if unbatched else dims[:1]
    in_features, num_classes, *out_features = dims if unbatched else dims[1:]
    ignore_index = kwargs.get("ignore_index")
    if variant == "probs" and ignore_index is not None:
        return None  # torch: ignore_index must be None for probability targets
    linear_weight = rng.normal(0.0, 0.5, (num_classes, *out_features, in_features))
    logits_dims = (*batch, num_classes, *out_features)
    if variant == "probs":
        target = inputs.probabilities(rng, logits_dims, _class_axis(logits_dims))
    else:
        target = inputs.class_indices(rng, _target_dims(logits_dims), num_classes,
                                      -100 if ignore_index is None else ignore_index)
    if kwargs.get("linear_bias") == "random":
        kwargs["linear_bias"] = rng.normal(0.0, 0.5, (num_classes, *out_features))
    if kwargs.get("options") == "chunked":
        kwargs["options"] = chunked_options()
    input = rng.normal(0.0, 1.0, (*batch, in_features))
    return (input, linear_weight, target), _class_weight(rng, logits_dims, kwargs)


RECORDS = [
    LossRecord(
        name="nll_loss", reference=reference.nll_loss, torch_fn=F.nll_loss,
        gradient=gradients.nll_loss_backward, differentiable=("input",),
        sizes=inputs.CLASS_SIZES, build=build_nll, shapes=CLASS_SHAPES,
        keyword_grid={"weight": [None, "random"], "ignore_index": [-100, 1], "reduction": REDUCTION},
        edge_cases=lambda: nll_edge_cases()
        + legacy_cases(build_nll, (6, 5)),
        bad_calls=_class_bad_calls((
            BadCall("input_0d", lambda rng: ((np.array(-1.0), np.array(0)), {}), ValueError, "input"),
        )),
        mistakes=class_mistakes, module=nn.NLLLoss, random_dims=inputs.class_dims(),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="nll_loss_4d", reference=reference.nll_loss, torch_fn=F.nll_loss,
        gradient=gradients.nll_loss_backward, differentiable=("input",),
        sizes={"small": (2, 21, 16, 16), "large": (8, 21, 128, 128)},
        build=build_nll_4d,
        shapes=(Shape("N2-C3-H4-W5", (2, 3, 4, 5)), Shape("N2-C3-H4-W5_permuted", (2, 3, 4, 5), "permuted")),
        keyword_grid={"weight": [None, "random"], "ignore_index": [-100, 1], "reduction": REDUCTION},
        module=nn.NLLLoss2d, random_dims=st.tuples(*[st.integers(1, 3)] * 4),
        untested_keywords={"size_average": "the nll_loss record's legacy cases",
                                                "reduce": "the nll_loss record's legacy cases"},
    ),
    LossRecord(
        name="cross_entropy", reference=reference.cross_entropy, torch_fn=F.cross_entropy,
        gradient=gradients.cross_entropy_backward, differentiable=("input", "target", "weight"),
        differentiable_where={"weight": probability_target},
        sizes=inputs.SEGMENTATION_SIZES, build=build_cross_entropy, shapes=CLASS_SHAPES,
        variants=("index", "probs"),
        keyword_grid={"weight": [None, "random"], "ignore_index": [-100, 1],
                      "label_smoothing": [0.0, 0.1], "reduction": REDUCTION},
        edge_cases=lambda: cross_entropy_edge_cases()
        + legacy_cases(build_cross_entropy, (6, 5), "index"),
        bad_calls=_class_bad_calls((
            BadCall("label_smoothing_above_1",
                    lambda rng: ((rng.normal(size=(3, 4)), np.array([0, 1, 2])), {"label_smoothing": 1.5}),
                    ValueError, "label_smoothing"),
            BadCall("label_smoothing_negative",
                    lambda rng: ((rng.normal(size=(3, 4)), np.array([0, 1, 2])), {"label_smoothing": -0.1}),
                    ValueError, "label_smoothing",
                    torch_accepts="torch checks label_smoothing <= 1 only when it is > 0; "
                                  "a negative value is silently ignored"),
            BadCall("probs_with_ignore_index",
                    lambda rng: ((rng.normal(size=(3, 4)), inputs.probabilities(rng, (3, 4), 1)),
                                 {"ignore_index": 1}), ValueError, "ignore_index"),
            BadCall("probs_integer_dtype",
                    lambda rng: ((rng.normal(size=(3, 4)), np.ones((3, 4), dtype=np.int64)), {}),
                    TypeError, "target"),
        )),
        mistakes=class_mistakes, module=nn.CrossEntropyLoss, random_dims=inputs.class_dims(),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="binary_cross_entropy", reference=reference.binary_cross_entropy,
        torch_fn=F.binary_cross_entropy,
        gradient=gradients.binary_cross_entropy_backward, differentiable=("input", "target"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_bce, shapes=ELEMENTWISE_SHAPES,
        keyword_grid={"weight": [None, "per_class", "random"], "reduction": REDUCTION},
        edge_cases=lambda: bce_edge_cases()
        + legacy_cases(build_bce, (4, 5)),
        bad_calls=_elementwise_bad_calls(_bce_input, _soft_target, (
            BadCall("input_above_1", lambda rng: ((np.full((2, 2), 1.5), np.ones((2, 2))), {}),
                    ValueError, "input"),
            BadCall("input_nan", lambda rng: ((np.full((2, 2), np.nan), np.ones((2, 2))), {}),
                    ValueError, "input"),
            BadCall("target_negative", lambda rng: ((np.full((2, 2), 0.5), -np.ones((2, 2))), {}),
                    ValueError, "target"),
        )),
        module=nn.BCELoss, random_dims=inputs.any_dims(),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="binary_cross_entropy_with_logits", reference=reference.binary_cross_entropy_with_logits,
        torch_fn=F.binary_cross_entropy_with_logits,
        gradient=gradients.binary_cross_entropy_with_logits_backward,
        differentiable=("input", "target"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_bce_with_logits,
        shapes=ELEMENTWISE_SHAPES,
        keyword_grid={"weight": [None, "per_class", "random"], "pos_weight": [None, "per_class"],
                      "reduction": REDUCTION},
        edge_cases=lambda: sigmoid_loss_edge_cases(({"pos_weight": np.array([2.0])},))
        + legacy_cases(build_bce_with_logits, (4, 5)),
        bad_calls=_elementwise_bad_calls(inputs.logits, _soft_target, (
            BadCall("pos_weight_not_broadcastable",
                    lambda rng: ((rng.normal(size=(3, 4)), np.ones((3, 4))), {"pos_weight": np.ones(3)}),
                    ValueError, "pos_weight"),
        )),
        module=nn.BCEWithLogitsLoss, random_dims=inputs.any_dims(),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="multilabel_soft_margin_loss", reference=reference.multilabel_soft_margin_loss,
        torch_fn=F.multilabel_soft_margin_loss,
        gradient=gradients.multilabel_soft_margin_loss_backward, differentiable=("input", "target", "weight"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_multilabel_soft_margin,
        shapes=(Shape("2d", (4, 5)), Shape("unbatched", (5,)), Shape("3d", (2, 3, 4)),
                Shape("n1", (1, 5)), Shape("c1", (4, 1)), Shape("empty", (0, 5)),
                Shape("2d_strided", (4, 5), "strided"), Shape("3d_permuted", (2, 3, 4), "permuted")),
        keyword_grid={"weight": [None, "per_class", "random"], "reduction": REDUCTION},
        edge_cases=lambda: sigmoid_loss_edge_cases()
        + legacy_cases(build_multilabel_soft_margin, (4, 5)),
        variants=("", "broadcast"),
        bad_calls=(BadCall("target_not_broadcastable",
                           lambda rng: ((rng.normal(size=(3, 4)), np.ones((3, 2))), {}),
                           ValueError, "target"),),
        module=nn.MultiLabelSoftMarginLoss, random_dims=inputs.any_dims(min_dims=1),
        untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="linear_cross_entropy", reference=reference.linear_cross_entropy,
        torch_fn=getattr(F, "linear_cross_entropy", None), since="2.13",
        kernels={"chunked": ("torch.nn.modules.linear_cross_entropy", (
            "_linear_cross_entropy_batch_chunked", "_linear_cross_entropy_batch_chunked_no_reduction"))},
        gradient=gradients.linear_cross_entropy_backward,
        differentiable=("input", "linear_weight", "linear_bias"),
        sizes={"small": (32, 64, 1000), "medium": (256, 256, 8000), "large": (512, 512, 32000)},
        build=build_linear_cross_entropy, variants=("index", "probs"),
        shapes=(Shape("N7-in4-V6", (7, 4, 6)), Shape("unbatched-in4-V6", (4, 6)),
                Shape("N5-in3-V4-out2", (5, 3, 4, 2)), Shape("N0-in4-V6", (0, 4, 6)),
                Shape("N7-in4-V6_strided", (7, 4, 6), "strided")),
        keyword_grid={"linear_bias": [None, "random"], "weight": [None, "random"], "ignore_index": [None, 1],
                      "label_smoothing": [0.0, 0.1], "options": [None, "chunked"], "reduction": REDUCTION},
        bad_calls=(BadCall("linear_weight_wrong_in_features",
                           lambda rng: ((np.ones((2, 3)), np.ones((4, 5)), np.array([0, 1])), {}), ValueError,
                           "linear_weight"),
                   BadCall("linear_bias_wrong_shape",
                           lambda rng: ((np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1])),
                                        {"linear_bias": np.ones(5)}),
                           ValueError, "linear_bias")),
        mistakes=lambda call: inputs.index_mistakes(call, call["linear_weight"].shape[0])
        if call["target"].dtype.kind == "i" else [],
        random_dims=st.tuples(st.integers(1, 9), st.integers(1, 4), st.integers(1, 6)),
    ),
]
