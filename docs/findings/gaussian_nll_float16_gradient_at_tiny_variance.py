"""gaussian_nll_float16_gradient_at_tiny_variance: nan: with var clamped to eps = 1e-6, 1 / var overflows float16 (max 65504) and 0 * inf is nan, in the gradients of input, target and var

Upstream: none found
Found by torch-loss-parity on torch 2.13.0+cpu (case 'var_below_eps-eps=1e-06-none', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float16)
target = torch.tensor([[0.5, 1.0], [0.0, 0.0]], dtype=torch.float16)
var = torch.tensor([[0.0, 0.0], [0.300048828125, 2.0]], dtype=torch.float16)

right = [[-500000.0, 0.0], [6.665581773799837, -0.5]]  # the reference's gradient, float64, upstream of ones
print("right gradient:", right)
input = input.detach().requires_grad_()
loss = F.gaussian_nll_loss(input, target, var, eps=1e-06, reduction='none')
(gradient,) = torch.autograd.grad(loss, input, torch.ones_like(loss))
print("torch gradient:", gradient.tolist())
