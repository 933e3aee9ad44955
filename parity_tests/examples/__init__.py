"""Example losses registered through the public API only, as a user would register their own:
`--losses parity_tests.examples` (the default) imports this module."""
import numpy as np
from hypothesis import strategies as st

from parity_tests import LossRecord, Shape, register_loss

from . import reference_losses, torch_losses

REDUCTIONS = ["mean", "sum", "none"]
BATCH_BY_CLASSES = st.tuples(st.integers(1, 9), st.integers(1, 7))  # random shapes for Hypothesis
LEGACY = {"size_average": "passed on to nll_loss, whose record checks them",
          "reduce": "passed on to nll_loss, whose record checks them"}


def build_reg_cross_entropy(rng, dims, variant, kwargs):
    """Logits (N, C, *d), class indices (about a fifth set to ignore_index where one is given: the
    default call stays plain), a class weight."""
    logits = rng.normal(0.0, 2.0, dims)
    target = rng.integers(0, dims[1], (dims[0], *dims[2:]))
    if "ignore_index" in kwargs:
        target[rng.random(target.shape) < 0.2] = kwargs["ignore_index"]
    if kwargs.get("weight") == "random":
        kwargs["weight"] = rng.uniform(0.2, 2.0, dims[1])
    return (logits, target), kwargs


def build_cutmix(rng, dims, variant, kwargs):
    """Logits (N, C); y_b is y_a permuted over the batch, as the document pairs images; lam
    from a box cut into a 32 x 32 image ('box'), or exactly 0 or 1."""
    logits = rng.normal(0.0, 2.0, dims)
    target_a = rng.integers(0, dims[1], dims[:1])
    lam = {"box": lambda: reference_losses.cutmix_lambda(rng, 32, 32), "lam=0": lambda: 0.0,
           "lam=1": lambda: 1.0}[variant]()
    return (logits, target_a, target_a[rng.permutation(dims[0])], float(lam)), kwargs


def build_focal(rng, dims, variant, kwargs):
    """Logits and binary targets (soft targets with variant 'soft')."""
    targets = np.asarray(rng.random(dims) if variant == "soft" else rng.random(dims) < 0.3, dtype=np.float64)
    return (np.asarray(rng.normal(0.0, 3.0, dims)), targets), kwargs


focal_loss, focal_missing = torch_losses.torchvision_focal_loss()

EXAMPLES = [
    register_loss(LossRecord(
        name="reg_cross_entropy_loss", reference=reference_losses.reg_cross_entropy_loss,
        torch_fn=torch_losses.reg_cross_entropy_loss, build=build_reg_cross_entropy,
        gradient=reference_losses.reg_cross_entropy_loss_backward, differentiable=("input",),
        shapes=(Shape("N6-C5", (6, 5)), Shape("N3-C4-d5", (3, 4, 5)),
                Shape("N6-C5_strided", (6, 5), "strided")),
        keyword_grid={"weight": [None, "random"], "ignore_index": [-100, 1], "reg_lambda": [0.1, 0.0, 2.0],
                      "reduction": REDUCTIONS},
        untested_keywords=LEGACY, random_dims=BATCH_BY_CLASSES,
        tolerances=(
            {"id": "reg_cross_entropy-float16", "dtype": "float16", "rtol": 2e-3, "atol": 1e-3,
             "reason": "the document's code takes log_softmax in float16, whose top class rounds to 0 (the "
                       "log_softmax-float16 override), then squares and sums the probabilities in float16"},
            {"id": "reg_cross_entropy-bfloat16", "dtype": "bfloat16", "rtol": 1.6e-2, "atol": 5e-3,
             "reason": "as in float16, with bfloat16's eps 7.8e-3 (the log_softmax-bfloat16 override)"}),
    )),
    register_loss(LossRecord(
        name="cutmix_cross_entropy", reference=reference_losses.cutmix_cross_entropy,
        torch_fn=torch_losses.cutmix_cross_entropy, build=build_cutmix, variants=("box", "lam=0", "lam=1"),
        gradient=reference_losses.cutmix_cross_entropy_backward, differentiable=("input",),
        shapes=(Shape("N8-C10", (8, 10)), Shape("N8-C10_permuted", (8, 10), "permuted")),
        keyword_grid={"reduction": REDUCTIONS}, random_dims=BATCH_BY_CLASSES,
        tolerances=(
            {"id": "cutmix-float16", "dtype": "float16", "rtol": 3e-3, "atol": 5e-4,
             "reason": "two float16 cross_entropy calls plus the float16 mix: measured 1.55e-3 relative on "
                       "the grid and 2.2e-3 on a randomized (1, 2) case on torch 2.13 CPU, so rtol 3 "
                       "eps(float16); atol 5e-4 because torch rounds the log-sum-exp (about 1-2 here) to "
                       "float16 before subtracting the target logit: a loss of 0.01716 came out 2.7e-4 off "
                       "(randomized (3, 2), lam=0, none), as log_softmax's top class does (the "
                       "log_softmax-float16 override)"},
            {"id": "cutmix-bfloat16", "dtype": "bfloat16", "rtol": 1.6e-2, "atol": 3e-4,
             "reason": "two bfloat16 cross_entropy calls: cross_entropy's bfloat16 tolerance (93% of the "
                       "default measured on torch 2.13 CPU: too close to its edge)"}),
    )),
    register_loss(LossRecord(
        name="sigmoid_focal_loss", reference=reference_losses.sigmoid_focal_loss, torch_fn=focal_loss,
        requires=focal_missing, build=build_focal, variants=("hard", "soft"),
        gradient=reference_losses.sigmoid_focal_loss_backward, differentiable=("inputs",),
        random_dims=st.lists(st.integers(0, 5), max_size=4).map(tuple),
        shapes=(Shape("N8-C3", (8, 3)), Shape("N2-C3-4x4", (2, 3, 4, 4)),
                Shape("N8-C3_strided", (8, 3), "strided")),
        keyword_grid={"alpha": [0.25, -1.0, 0.9], "gamma": [2, 0, 0.5, 5],
                      "reduction": ["none", "mean", "sum"]},
        tolerances=(
            {"id": "focal-float16", "dtype": "float16", "rtol": 2e-3, "atol": 5e-3,
             "reason": "its first factor is BCE-with-logits in float16 (the bce_with_logits-float16 "
                       "override: cancellation of terms of size |logit|), times (1 - p_t)^gamma with p "
                       "rounded to float16"},
            {"id": "focal-bfloat16", "dtype": "bfloat16", "rtol": 1.6e-2, "atol": 3e-2,
             "reason": "as in float16, with bfloat16's eps (the bce_with_logits-bfloat16 override)"},
            {"id": "focal-gradient-float16", "kind": "gradient", "dtype": "float16",
             "rtol": 1e-2, "atol": 2e-3,
             "normwise": True,
             "reason": "(1 - p_t)^gamma multiplies the relative error of 1 - p_t (rounded in float16) by "
                       "gamma: with gamma = 5 torchvision 0.29.1 on torch 2.14.1 CPU was 9.2e-3 off -1.874 "
                       "and 2.5e-3 off 0.535, above the normwise default; rtol 1e-2 = 5 x 2 eps(float16)"}),
    )),
]
