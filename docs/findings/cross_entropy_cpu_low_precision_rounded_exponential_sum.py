"""cross_entropy_cpu_low_precision_rounded_exponential_sum: CPU log_softmax in float16/bfloat16 rounds the sum of exponentials s (near 1 for a confident prediction) to the low-precision dtype before taking its log: an absolute error up to 2^-11 (float16) or 2^-8 (bfloat16) in log s, a large relative error of a small loss (0.028870 for 0.028960; bfloat16 0.030762); CUDA accumulates in float32. Unreduced losses of random (6, 5) logits (normal, sd 2) exceed the tolerance in 13.9% of draws in float16 (worst 32x) and 11.6% in bfloat16 (worst 9x); reduced ones average it away (0 of 2,000). Randomized draws where the mechanism alone moves a sample's loss by half its tolerance are named -rounded_exponential_sum (random_cases.rounded_exponential_sum); docs/audit.md counts them as known

Upstream: pytorch/pytorch#140222 (CPU log_softmax keeps its reduction in reduced precision, where CUDA uses float32)
Found by torch-loss-parity on torch 2.13.0+cpu (case 'legacy-reduce=False', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input = torch.tensor([[-0.61279296875, 0.10430908203125, -0.65625, -2.04296875, -0.73291015625], [-0.4765625, -0.55615234375, -5.453125, 0.76171875, -1.04296875], [-1.78515625, 2.44921875, 2.017578125, -3.16796875, 2.037109375], [-0.90478515625, 0.07635498046875, 2.609375, -2.775390625, 1.380859375], [-0.50537109375, -2.59375, -2.26171875, 3.958984375, -0.277587890625], [-3.28125, 1.369140625, 0.9970703125, 0.446533203125, 0.54736328125]], dtype=torch.float16)
target = torch.tensor([2, 4, 2, 4, 3, 1], dtype=torch.int64)

loss = F.cross_entropy(input, target, reduce=False)
print("torch:", loss.tolist())
right = [1.6789612946576344, 2.3493996528119703, 1.277430897775477, 1.5696230276318999, 0.02895981973403794, 0.930585860035479]  # the reference, float64
print("right:", right)
