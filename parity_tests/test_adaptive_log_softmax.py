"""nn.AdaptiveLogSoftmaxWithLoss against the reference built from the module's own weights: the
module has parameters, so it is checked here rather than through a function record. Its errors
go into the measured table like every parity case."""
import numpy as np
import pytest
import torch
from torch import nn

import reference

from .harness import TORCH_DTYPES, compare
from .runner import parity_row
from .tolerances_and_ledgers import tolerance_for

CONFIGS = {  # in_features, n_classes, cutoffs, div_value, head_bias
    "two_clusters": (8, 12, [3, 7], 4.0, False),
    "head_bias-div2": (8, 12, [3, 7], 2.0, True),
    "one_cluster": (6, 9, [5], 4.0, True),
}


def module_and_reference(config, dtype):
    in_features, n_classes, cutoffs, div_value, head_bias = CONFIGS[config]
    torch.manual_seed(zlib_seed(config))
    module = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=div_value,
                                           head_bias=head_bias).to(TORCH_DTYPES[dtype])
    as_numpy = lambda tensor: tensor.detach().double().numpy()
    oracle = reference.AdaptiveLogSoftmaxWithLoss(
        as_numpy(module.head.weight), [(as_numpy(t[0].weight), as_numpy(t[1].weight)) for t in module.tail],
        cutoffs, n_classes, head_bias=as_numpy(module.head.bias) if head_bias else None)
    return module, oracle


def zlib_seed(name):
    import zlib
    return zlib.crc32(name.encode())


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS)
def test_adaptive_log_softmax_matches_the_reference(config, dtype, batched, request):
    module, oracle = module_and_reference(config, dtype)
    in_features, n_classes = CONFIGS[config][:2]
    generator = torch.Generator().manual_seed(zlib_seed(config + dtype))
    input = torch.randn(10, in_features, generator=generator).to(TORCH_DTYPES[dtype])
    target = torch.arange(10) % n_classes  # every cluster, and the shortlist
    if not batched:
        input, target = input[3], target[3]
    x = input.double().numpy()
    with torch.no_grad():
        result = module(input, target)
        pairs = {"output": (result.output, oracle(x, target.numpy())[0]),
                 "loss": (result.loss, oracle(x, target.numpy())[1])}
        if batched:
            pairs["log_prob"] = (module.log_prob(input), oracle.log_prob(x))
    name = "AdaptiveLogSoftmaxWithLoss"
    tolerance = tolerance_for(name, "cpu", dtype, config)
    for part, (actual, expected) in pairs.items():
        measured = compare(actual, np.asarray(expected), TORCH_DTYPES[dtype], tolerance,
                           f"case: {name}.{part} {config} {'batched' if batched else 'unbatched'} in {dtype}")
        row = parity_row(f"{name}.{part}", "cpu", dtype, tolerance)
        request.node.user_properties.append(("parity", {
            **row, **measured, "cases": 1, "ids": [f"{name}-cpu-{dtype}-{config}-{part}"]}))
    if batched:
        assert torch.equal(module.predict(input), torch.from_numpy(oracle.predict(x)))


def test_adaptive_log_softmax_rejects_a_target_out_of_range():
    module, oracle = module_and_reference("two_clusters", "float64")
    input, target = torch.randn(3, 8, dtype=torch.float64), torch.tensor([0, 5, 12])
    with pytest.raises(ValueError, match="^target: "):
        oracle(input.numpy(), target.numpy())
    with pytest.raises(RuntimeError, match="Target values should be in"):
        module(input, target)
