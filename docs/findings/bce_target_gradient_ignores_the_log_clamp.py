"""bce_target_gradient_ignores_the_log_clamp: +-inf at x = 0 or 1: the target's gradient takes the logs unclamped while the value clamps them at -100

Upstream: none found
Found by torch-loss-parity on torch 2.13.0+cpu (case 'certain_probabilities-mean', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30], dtype=torch.float64)
target = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 1.0], dtype=torch.float64)

right = [16.666666666666664, -16.666666666666664, 16.666666666666664, -16.666666666666664, 0.0, 11.512925464970227]  # the reference's gradient, float64, upstream of ones
print("right gradient:", right)
target = target.detach().requires_grad_()
loss = F.binary_cross_entropy(input, target, reduction='mean')
(gradient,) = torch.autograd.grad(loss, target, torch.ones_like(loss))
print("torch gradient:", gradient.tolist())
