"""bce_with_logits_infinite_logits: nan for every logit of +-inf, with or without pos_weight (its stable form evaluates (1 - y) * x + log_sigmoid terms as inf - inf)

Upstream: pytorch/pytorch#49844 (-inf), pytorch/pytorch#102894 (+inf), pytorch/pytorch#135359
Found by torch-loss-parity on torch 2.13.0+cpu (case 'infinite_logits-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[inf, -inf, inf, -inf]], dtype=torch.float64)
target = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)

loss = F.binary_cross_entropy_with_logits(input, target, reduction='none')
print("torch:", loss.tolist())
right = [[0.0, 0.0, inf, inf]]  # the reference, float64; 50-digit mpmath (parity_tests/high_precision.py) agrees to nan
print("right:", right)
