"""nll_loss_unbatched_one_element_target_backward_raises: the forward accepts the call (a 0-d loss, as for a 0-d target) and the backward raises RuntimeError: size mismatch (got input: [C], target: [1]); under vmap (--transform vmap) the forward raises the same; maintainers keep the forward's behaviour on purpose (pytorch/pytorch#161412, review of 2025-08-25)

Upstream: pytorch/pytorch#157420 (the forward's acceptance, closed), pytorch/pytorch#161412 (a check proposed, not merged); the backward's rejection: none found
Found by torch-loss-parity on torch 2.13.0+cpu (case 'unbatched-one_element_target-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([-0.0024603067149651485, -0.5974910750169398, -0.5482757107244352], dtype=torch.float64)
target = torch.tensor([1], dtype=torch.int64)

right = [0.0, -1.0, 0.0]  # the reference's gradient, float64, upstream of ones
print("right gradient:", right)
input = input.detach().requires_grad_()
loss = F.nll_loss(input, target, reduction='none')
(gradient,) = torch.autograd.grad(loss, input, torch.ones_like(loss))
print("torch gradient:", gradient.tolist())
