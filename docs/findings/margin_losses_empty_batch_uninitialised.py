"""margin_losses_empty_batch_uninitialised: whatever the output's uninitialised memory holds on CPU: seen 6.9e-310, 2.3e19, 1.85e37 and -9.6e34, and sometimes 0 by chance (so this entry is not strict)

Upstream: none found in the stored issue threads
Found by torch-loss-parity on torch 2.13.0+cpu (case 'empty-mean', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.empty((0, 4), dtype=torch.float64)
target = torch.empty((0,), dtype=torch.int64)

loss = F.multi_margin_loss(input, target)
print("torch:", loss.tolist())
right = nan  # the reference, float64
print("right:", right)
