"""kl_div_zero_target_at_minus_inf_input: nan: xlogy(0, 0) - 0 * (-inf) is nan

Upstream: no pytorch/pytorch issue found; the same case is described in google-deepmind/optax#1786 (a masked logit of -inf against a zero target)
Found by torch-loss-parity on torch 2.13.0+cpu (case 'zero_target_at_minus_inf_input-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[-inf, -0.6931471805599453, -0.6931471805599453]], dtype=torch.float64)
target = torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64)

loss = F.kl_div(input, target, reduction='none')
print("torch:", loss.tolist())
right = [[0.0, 0.0, 0.0]]  # the reference, float64
print("right:", right)
