"""multilabel_soft_margin_infinite_logits: nan: it computes y * logsigmoid(x) + (1 - y) * logsigmoid(-x), and 0 * -inf is nan

Upstream: no issue of its own found; the same mechanism as pytorch/pytorch#49844
Found by torch-loss-parity on torch 2.13.0+cpu (case 'infinite_logits-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[inf, -inf, inf, -inf]], dtype=torch.float64)
target = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)

loss = F.multilabel_soft_margin_loss(input, target, reduction='none')
print("torch:", loss.tolist())
right = [inf]  # the reference, float64; 50-digit mpmath (parity_tests/high_precision.py) agrees to nan
print("right:", right)
