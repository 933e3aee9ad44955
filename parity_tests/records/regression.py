"""Records of the regression and divergence family: l1, mse, smooth_l1, huber, kl_div,
poisson_nll and gaussian_nll."""
import numpy as np
import torch.nn.functional as F
from torch import nn

import reference
from reference import gradients

from ..registry import BadCall, LossRecord, Shape
from . import inputs
from .inputs import ELEMENTWISE_SHAPES, LEGACY_FLAGS, REDUCTION, fixed_case, legacy_cases


def _target(rng, dims, variant):
    """A target of the input's shape, or with variant 'broadcast' of its last dim only."""
    return rng.normal(0.0, 2.0, dims[-1:] if variant == "broadcast" else dims)


def build_distance(rng, dims, variant, kwargs):
    """Input and target for l1, mse, smooth_l1 and huber; weight 'random' has the input's shape."""
    if variant == "broadcast" and len(dims) < 2:
        return None
    if kwargs.get("weight") == "random":
        kwargs["weight"] = inputs.positive_weight(rng, dims)
    return (rng.normal(0.0, 2.0, dims), _target(rng, dims, variant)), kwargs


def build_kl_div(rng, dims, variant, kwargs):
    if not dims:
        return None
    log_probs = np.log(inputs.probabilities(rng, dims, -1))
    target = inputs.probabilities(rng, dims, -1)
    if kwargs.get("log_target"):
        return (log_probs, np.log(target)), kwargs
    target.reshape(-1)[::4] = 0.0  # zero probabilities contribute 0 (log_target: see the edge cases)
    return (log_probs, target), kwargs


def build_poisson(rng, dims, variant, kwargs):
    """variant 'broadcast': counts of one row, which torch broadcasts over the batch."""
    if not inputs.broadcast_form(variant, dims, kwargs):
        return None
    rate = rng.normal(0.0, 1.0, dims) if kwargs.get("log_input", True) else rng.uniform(0.05, 4.0, dims)
    counts = rng.poisson(2.0, (1, *dims[1:]) if variant == "broadcast" else dims).astype(np.float64)
    counts.reshape(-1)[:2] = (0.0, 1.0)[:counts.size]  # 0, 1 and (mostly) > 1: every branch of full
    return (rate, counts), kwargs


def build_gaussian(rng, dims, variant, kwargs):
    """var of the input's shape ('same'), without the last dim, with a singleton dim, or a float;
    'broadcast': var of the input's shape and a target of one row, which torch broadcasts."""
    var_dims = {"same": dims, "broadcast": dims, "one_fewer_dim": dims[:-1],
                "singleton_dim": dims[:-1] + (1,) if dims else None}[variant] if variant != "float" else ()
    if var_dims is None or (variant != "same" and len(dims) < 2) \
            or not inputs.broadcast_form(variant, dims, kwargs):
        return None
    var = float(rng.uniform(0.05, 2.0)) if variant == "float" else rng.uniform(0.05, 2.0, var_dims)
    target = rng.normal(0.0, 1.0, (1, *dims[1:]) if variant == "broadcast" else dims)
    return (rng.normal(0.0, 1.0, dims), target, var), kwargs


def distance_edge_cases(parameter):
    """Differences exactly at, just below and above the kink, and at zero."""
    input = np.array([0.0, 0.5, -0.5, 0.25, 1.0, -2.0, 0.5, 3.0])
    target = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -1.5, 0.49, 0.0])
    return [fixed_case(f"at_kink-{parameter}={value}-{reduction}", (input, target),
                       {parameter: value, "reduction": reduction})
            for value in (0.5, 1.0) for reduction in ("none", "sum")]


def kl_div_edge_cases():
    log_probs = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]]))
    cases = [fixed_case(f"negative_target-{reduction}",
                        (log_probs, np.array([[0.5, -0.25, 0.75], [0.2, 0.2, 0.6]])),
                        {"reduction": reduction}) for reduction in ("none", "sum")]
    impossible = np.array([[-np.inf, np.log(0.5), np.log(0.5)]])
    cases += [fixed_case(f"zero_target_at_minus_inf_input-{reduction}",
                         (impossible, np.array([[0.0, 0.5, 0.5]])),
                         {"reduction": reduction}) for reduction in ("none", "sum")]
    cases += [fixed_case(f"log_target_minus_inf-{reduction}",
                         (np.log(np.array([[0.2, 0.3, 0.5]])),
                          np.array([[-np.inf, np.log(0.5), np.log(0.5)]])),
                         {"reduction": reduction, "log_target": True}) for reduction in ("none", "sum")]
    return cases


def poisson_edge_cases():
    """Counts 0, 1, 2 and large with full (Stirling only above 1), and a rate of 0 with eps."""
    counts = np.array([0.0, 1.0, 2.0, 1.5, 50.0])
    return [fixed_case(f"stirling_mask-log_input={log_input}-none",
                       (np.array([0.5, 0.0, 1.0, 2.0, 3.0 if log_input else 40.0]), counts),
                       {"full": True, "log_input": log_input, "reduction": "none"})
            for log_input in (True, False)]


def gaussian_edge_cases():
    input, target = np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[0.5, 1.0], [0.0, 0.0]])
    return [fixed_case(f"var_below_eps-eps={eps}-none", (input, target, np.array([[1e-8, 0.0], [0.3, 2.0]])),
                       {"eps": eps, "reduction": "none"}) for eps in (1e-6, 0.5)]


def _bad_weight():
    return BadCall("weight_wrong_shape", lambda rng: ((rng.normal(size=(2, 3)), rng.normal(size=(2, 3))),
                                                      {"weight": np.ones(3)}), ValueError, "weight")


DISTANCE_VARIANTS = ("same", "broadcast")
WEIGHT_SINCE = {"weight": "2.6"}  # l1, mse and huber gained weight= in torch 2.6 (not in 2.5.1)


def weighted_distance_record(name, module):
    """l1_loss and mse_loss: the same keywords, cases and checks."""
    return LossRecord(
        name=name, reference=getattr(reference, name), torch_fn=getattr(F, name), build=build_distance,
        gradient=getattr(gradients, f"{name}_backward"), differentiable=("input", "target", "weight"),
        sizes=inputs.ELEMENTWISE_SIZES,
        shapes=ELEMENTWISE_SHAPES, variants=DISTANCE_VARIANTS,
        keyword_grid={"weight": [None, "random"], "reduction": REDUCTION},
        edge_cases=lambda: legacy_cases(build_distance, (4, 5), "same"),
        bad_calls=(_bad_weight(),), keyword_since=WEIGHT_SINCE,
        module=module, random_dims=inputs.any_dims(), untested_keywords=LEGACY_FLAGS,
    )


RECORDS = [
    weighted_distance_record("l1_loss", nn.L1Loss),
    weighted_distance_record("mse_loss", nn.MSELoss),
    LossRecord(
        name="smooth_l1_loss", reference=reference.smooth_l1_loss, torch_fn=F.smooth_l1_loss,
        gradient=gradients.smooth_l1_loss_backward, differentiable=("input", "target"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_distance, shapes=ELEMENTWISE_SHAPES,
        variants=DISTANCE_VARIANTS,
        keyword_grid={"beta": [1.0, 0.0, 0.5, 2.5], "reduction": REDUCTION},
        edge_cases=lambda: distance_edge_cases("beta")
        + legacy_cases(build_distance, (4, 5), "same"),
        bad_calls=(BadCall("beta_negative", lambda rng: ((np.zeros(3), np.ones(3)), {"beta": -1.0}),
                           ValueError, "beta"),),
        module=nn.SmoothL1Loss, random_dims=inputs.any_dims(), untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="huber_loss", reference=reference.huber_loss, torch_fn=F.huber_loss,
        gradient=gradients.huber_loss_backward, differentiable=("input", "target", "weight"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_distance,
        shapes=ELEMENTWISE_SHAPES, variants=DISTANCE_VARIANTS,
        keyword_grid={"weight": [None, "random"], "delta": [1.0, 0.5, 2.5], "reduction": REDUCTION},
        edge_cases=lambda: distance_edge_cases("delta"),
        bad_calls=(_bad_weight(),
                   BadCall("delta_zero", lambda rng: ((np.zeros(3), np.ones(3)), {"delta": 0.0}),
                           ValueError, "delta"),
                   BadCall("delta_negative", lambda rng: ((np.zeros(3), np.ones(3)), {"delta": -1.0}),
                           ValueError, "delta")),
        module=nn.HuberLoss, random_dims=inputs.any_dims(), keyword_since=WEIGHT_SINCE,
    ),
    LossRecord(
        name="kl_div", reference=reference.kl_div, torch_fn=F.kl_div,
        gradient=gradients.kl_div_backward, differentiable=("input", "target"),
        sizes=inputs.ELEMENTWISE_SIZES, build=build_kl_div,
        shapes=(Shape("2d", (4, 5)), Shape("1d", (5,)), Shape("3d", (2, 3, 4)), Shape("n1", (1, 5)),
                Shape("empty", (0, 5)), Shape("2d_strided", (4, 5), "strided"),
                Shape("3d_permuted", (2, 3, 4), "permuted")),
        keyword_grid={"reduction": ["mean", "sum", "none", "batchmean"], "log_target": [False, True]},
        edge_cases=lambda: kl_div_edge_cases() + legacy_cases(build_kl_div, (4, 5)),
        module=nn.KLDivLoss, random_dims=inputs.any_dims(min_dims=1), untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="poisson_nll_loss", reference=reference.poisson_nll_loss, torch_fn=F.poisson_nll_loss,
        gradient=gradients.poisson_nll_loss_backward, differentiable=("input", "target"),
        no_finite_differences={"target": "with full, Stirling's term switches on past y = 1: a jump in the "
                                         "forward at the integer counts"},
        sizes=inputs.ELEMENTWISE_SIZES,
        build=build_poisson, shapes=ELEMENTWISE_SHAPES, variants=("", "broadcast"),
        keyword_grid={"log_input": [True, False], "full": [False, True], "eps": [1e-8, 0.1],
                      "reduction": REDUCTION},
        edge_cases=lambda: poisson_edge_cases() + legacy_cases(build_poisson, (4, 5)),
        
        module=nn.PoissonNLLLoss, random_dims=inputs.any_dims(), untested_keywords=LEGACY_FLAGS,
    ),
    LossRecord(
        name="gaussian_nll_loss", reference=reference.gaussian_nll_loss, torch_fn=F.gaussian_nll_loss,
        gradient=gradients.gaussian_nll_loss_backward, differentiable=("input", "target", "var"),
        no_finite_differences={"var": "torch clamps var at eps without stopping its gradient: below eps "
                                      "d/dvar is taken at eps, where the forward is flat"},
        sizes=inputs.ELEMENTWISE_SIZES,
        build=build_gaussian, shapes=ELEMENTWISE_SHAPES,
        variants=("same", "one_fewer_dim", "singleton_dim", "float", "broadcast"),
        # var as a Python float: pytorch/pytorch#138931 (2.2.2 raises AttributeError)
        variant_since={"float": "2.6"},
        keyword_grid={"full": [False, True], "eps": [1e-6, 0.5], "reduction": REDUCTION},
        edge_cases=gaussian_edge_cases,
        bad_calls=(
            BadCall("var_negative", lambda rng: ((np.zeros((2, 3)), np.ones((2, 3)), -np.ones((2, 3))), {}),
                    ValueError, "var"),
            BadCall("var_negative_float", lambda rng: ((np.zeros((2, 3)), np.ones((2, 3)), -1.0), {}),
                    ValueError, "var", variant="float"),
            BadCall("var_wrong_shape", lambda rng: ((np.zeros((2, 3)), np.ones((2, 3)), np.ones((3, 2))), {}),
                    ValueError, "var"),
            BadCall("var_two_singleton_dims",
                    lambda rng: ((np.zeros((2, 3)), np.ones((2, 3)), np.ones((1, 1))), {}),
                    ValueError, "var"),
        ),
        module=nn.GaussianNLLLoss, random_dims=inputs.any_dims(min_dims=1),
    ),
]
