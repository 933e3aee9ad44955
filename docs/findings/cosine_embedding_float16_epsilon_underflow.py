"""cosine_embedding_float16_epsilon_underflow: nan in float16: the epsilon 1e-12 that torch adds to each squared norm is below float16's smallest subnormal and adds nothing, so a zero vector gives 0 / 0; its gradients are nan there too

Upstream: none found in the stored issue threads
Found by torch-loss-parity on torch 2.13.0+cpu (case 'zero_vectors-none', float16, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

input1 = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float16)
input2 = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float16)
target = torch.tensor([1.0, -1.0], dtype=torch.float16)

loss = F.cosine_embedding_loss(input1, input2, target, reduction='none')
print("torch:", loss.tolist())
right = [1.0, 0.0]  # the reference, float64
print("right:", right)
