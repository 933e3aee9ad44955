"""soft_margin_loss_overflow: inf once exp(-y x) overflows: from -y x > 11.1 in float16, 88.7 in float32 and bfloat16, 709.8 in float64; it computes log(1 + exp(-y x)) literally

Upstream: none found in the stored issue threads; docs/torch-error-measurements.md records the float32 threshold
Found by torch-loss-parity on torch 2.13.0+cpu (case 'large_margin_violation-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([20.0, 100.0, 1000.0, -1000.0], dtype=torch.float64)
target = torch.tensor([-1.0, -1.0, -1.0, -1.0], dtype=torch.float64)

loss = F.soft_margin_loss(input, target, reduction='none')
print("torch:", loss.tolist())
right = [20.000000002061153, 100.0, 1000.0, 0.0]  # the reference, float64
print("right:", right)
