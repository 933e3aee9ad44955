"""soft_margin_loss_gradient_overflow: nan, where its value overflows to inf (see soft_margin_loss_overflow)

Upstream: none found; the same mechanism as soft_margin_loss_overflow
Found by torch-loss-parity on torch 2.13.0+cpu (case 'large_margin_violation-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([20.0, 100.0, 1000.0, -1000.0], dtype=torch.float64)
target = torch.tensor([-1.0, -1.0, -1.0, -1.0], dtype=torch.float64)

right = [0.9999999979388463, 1.0, 1.0, 0.0]  # the reference's gradient, float64, upstream of ones
print("right gradient:", right)
input = input.detach().requires_grad_()
loss = F.soft_margin_loss(input, target, reduction='none')
(gradient,) = torch.autograd.grad(loss, input, torch.ones_like(loss))
print("torch gradient:", gradient.tolist())
