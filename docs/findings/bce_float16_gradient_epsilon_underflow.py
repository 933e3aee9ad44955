"""bce_float16_gradient_epsilon_underflow: nan: the 1e-12 floor of the backward is 0 in float16, so x = y = 0 gives 0 / 0

Upstream: none found
Found by torch-loss-parity on torch 2.13.0+cpu (case 'certain_probabilities-mean', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5, 0.0], dtype=torch.float16)
target = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 1.0], dtype=torch.float16)

right = [0.0, 0.0, -166666666666.66666, 166666666666.66666, -0.3333333333333333, -166666666666.66666]  # the reference's gradient, float64, upstream of ones
print("right gradient:", right)
input = input.detach().requires_grad_()
loss = F.binary_cross_entropy(input, target, reduction='mean')
(gradient,) = torch.autograd.grad(loss, input, torch.ones_like(loss))
print("torch gradient:", gradient.tolist())
