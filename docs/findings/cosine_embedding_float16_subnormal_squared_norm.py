"""cosine_embedding_float16_subnormal_squared_norm: float16 squares and sums the norms in float16: |x1|^2 = 9.5e-6 is a subnormal with 8 significant bits, so the loss comes out 0.0078 (12x the true value) and both inputs' gradients +-inf; found by a randomized (1,) draw with |x| = 0.0025 (0.0151 for a true 8e-8)

Upstream: same mechanism as pytorch/pytorch#69512 (cosine_similarity in fp16: its squared norms out of float16's range)
Found by torch-loss-parity on torch 2.13.0+cpu (case 'subnormal_squared_norm-none', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input1 = torch.tensor([[0.0025005340576171875, -0.0017995834350585938], [1.0, 2.0]], dtype=torch.float16)
input2 = torch.tensor([[0.300048828125, -0.199951171875], [1.5, -0.5]], dtype=torch.float16)
target = torch.tensor([1.0, 1.0], dtype=torch.float16)

loss = F.cosine_embedding_loss(input1, input2, target, reduction='none')
print("torch:", loss.tolist())
right = [0.0006478826692394302, 0.858578643762733]  # the reference, float64
print("right:", right)
