"""Records of the activations the losses are built on: softmax, log_softmax, sigmoid and
logsigmoid."""
import numpy as np
import torch.nn.functional as F
from torch import nn

import reference
from reference import gradients

from ..registry import BadCall, LossRecord
from . import inputs
from .inputs import fixed_case


def build_activation(rng, dims, variant, kwargs):
    dim = kwargs.get("dim")
    if dim is not None and not -max(len(dims), 1) <= dim < max(len(dims), 1):
        return None
    return (inputs.logits(rng, dims, scale=3.0),), kwargs


def build_elementwise(rng, dims, variant, kwargs):
    return (inputs.logits(rng, dims, scale=3.0),), kwargs


def activation_edge_cases(dims_kwargs):
    values = np.array([0.0, -0.0, 1e4, -1e4, np.inf, -np.inf, 100.0, -100.0, 1e-30, -30.0])
    cases = [fixed_case("special_values", (values,), dims_kwargs)]
    if "dim" in dims_kwargs:
        masked = np.array([[0.5, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf], [1e4, -1e4, 0.0]])
        cases.append(fixed_case("masked_rows-dim=1", (masked,), {"dim": 1}))
    return cases


def activation_record(name, module, dim_out_of_range=None):
    """softmax and log_softmax (with `dim` and `dtype`, and a bad call of a `dim` out of range),
    sigmoid and logsigmoid (elementwise, no keywords)."""
    normalizing = dim_out_of_range is not None
    return LossRecord(
        name=name, reference=getattr(reference, name), torch_fn=getattr(F, name),
        gradient=getattr(gradients, f"{name}_backward"), differentiable=("input",),
        sizes=inputs.ELEMENTWISE_SIZES, shapes=inputs.ELEMENTWISE_SHAPES, module=module,
        build=build_activation if normalizing else build_elementwise,
        keyword_grid={"dim": [None, 0, 1, -1], "dtype": [None, np.float64]} if normalizing else {},
        edge_cases=lambda: activation_edge_cases({"dim": 0} if normalizing else {}),
        random_dims=inputs.any_dims(min_dims=1 if normalizing else 0),
        **({"bench_keywords": {"dim": 1},
            "untested_keywords": {"_stacklevel": "private: where torch's warning points"},
            "bad_calls": (BadCall("dim_out_of_range",
                                  lambda rng: ((rng.normal(size=(2, 3)),), {"dim": dim_out_of_range}),
                                  ValueError, "dim"),)} if normalizing else {}),
    )


RECORDS = [activation_record("softmax", nn.Softmax, dim_out_of_range=2),
           activation_record("log_softmax", nn.LogSoftmax, dim_out_of_range=-3),
           activation_record("sigmoid", nn.Sigmoid), activation_record("logsigmoid", nn.LogSigmoid)]
