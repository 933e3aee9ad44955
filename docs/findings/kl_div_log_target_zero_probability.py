"""kl_div_log_target_zero_probability: nan: it computes exp(t) * (t - x), and 0 * -inf is nan, so one impossible class in a log-space target makes the whole reduced loss nan

Upstream: no pytorch/pytorch issue found; hit downstream by p-e-w/heretic#348 (F.kl_div(..., log_target=True) nan on suppressed tokens), the same bug fixed in optax by google-deepmind/optax#1786
Found by torch-loss-parity on torch 2.13.0+cpu (case 'log_target_minus_inf-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[-1.6094379124341003, -1.2039728043259361, -0.6931471805599453]], dtype=torch.float64)
target = torch.tensor([[-inf, -0.6931471805599453, -0.6931471805599453]], dtype=torch.float64)

loss = F.kl_div(input, target, reduction='none', log_target=True)
print("torch:", loss.tolist())
right = [[0.0, 0.2554128118829954, 0.0]]  # the reference, float64
print("right:", right)
