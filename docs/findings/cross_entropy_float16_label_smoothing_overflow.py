"""cross_entropy_float16_label_smoothing_overflow: inf on CPU and CUDA: the smoothing term sums -log p over every row and class in float16 before scaling by e / C, and that sum (about 1.2e5 for both cases) passes 65504

Upstream: pytorch/pytorch#85791 (float16 cross entropy overflow); the same mechanism in huggingface/transformers#10674
Found by torch-loss-parity on torch 2.13.0+cpu (case 'logits_10000-mean', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[10000.0, -10000.0, 0.0], [-10000.0, -10000.0, 10000.0], [10000.0, 10000.0, -10000.0]], dtype=torch.float16)
target = torch.tensor([1, 2, 0], dtype=torch.int64)

loss = F.cross_entropy(input, target, reduction='mean', label_smoothing=0.1)
print("torch:", loss.tolist())
right = 7000.231049060186  # the reference, float64
print("right:", right)
