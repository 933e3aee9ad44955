"""poisson_nll_loss_float16_eps_underflow: inf in float16: x + eps is computed in float16, where 1e-8 is below the smallest subnormal (6e-8) and rounds to 0, so log(0) = -inf; eps stops protecting the log exactly where it is needed

Upstream: not found in the stored issue threads
Found by torch-loss-parity on torch 2.13.0+cpu (case 'stirling_mask-log_input=False-none', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([0.5, 0.0, 1.0, 2.0, 40.0], dtype=torch.float16)
target = torch.tensor([0.0, 1.0, 2.0, 1.5, 50.0], dtype=torch.float16)

loss = F.poisson_nll_loss(input, target, full=True, log_input=False, reduction='none')
print("torch:", loss.tolist())
right = [0.5, 18.420680743952367, 1.6518064646045363, 1.1901479710810836, 4.032127589129232]  # the reference, float64
print("right:", right)
