"""ctc_loss_cpu_strided_concatenated_targets: silently wrong values on CPU (8.2602 and 7.0634 there; inf where the misread targets cannot align): with 1-D concatenated targets that are a non-contiguous view, every sample after the first reads its labels as if the tensor were contiguous. Padded (N, S) targets with the same layout are right.; so are its gradients

Upstream: none found in the stored issue threads: worth filing
Found by torch-loss-parity on torch 2.13.0+cpu (case 'strided_concatenated_targets-none', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

log_probs = torch.tensor([[[-1.9062449282492113, nan, -2.428672498623909, nan, -1.3526751250910123, nan, -0.6838682649302424, nan], [-0.5244695771910567, nan, -1.5508097103588914, nan, -2.2131634302169316, nan, -2.4452964650249776, nan], [-1.4314015330662935, nan, -0.5453642608423072, nan, -1.9073785279561628, nan, -3.413475967831656, nan]], [[-2.8661054436052815, nan, -0.30782114917008147, nan, -1.7049577976605845, nan, -3.6399750806087776, nan], [-0.9503795894461049, nan, -2.0299093700738275, nan, -1.4959714906906336, nan, -1.3546892199059366, nan], [-2.0277469910530357, nan, -0.7610551490675027, nan, -1.3775195913460814, nan, -1.903864877453397, nan]], [[-1.151917914284491, nan, -0.731700433780284, nan, -3.204579112247285, nan, -1.818285867207102, nan], [-1.901975689039979, nan, -1.0943835578579988, nan, -2.210647079749825, nan, -0.9005379389583755, nan], [-1.0399788148812572, nan, -1.306430824795678, nan, -2.050019578957435, nan, -1.3982834043102816, nan]], [[-1.8685833447375648, nan, -2.1324631892465953, nan, -0.5524687105819626, nan, -1.8866043809332218, nan], [-0.7346088207470918, nan, -1.1883172660515489, nan, -3.9027216143751065, nan, -1.6327760525128971, nan], [-2.0367969005101774, nan, -0.9020230527708635, nan, -0.891448280359711, nan, -2.9235100611602536, nan]]], dtype=torch.float64)[..., ::2]  # every other element
targets = torch.tensor([1, 3, 2, 2, 3, 1, 3, 3, 1, 3, 2, 2, 3, 1], dtype=torch.int64)[..., ::2]  # every other element
input_lengths = torch.tensor([4, 4, 4, 4, 4, 4], dtype=torch.int64)[..., ::2]  # every other element
target_lengths = torch.tensor([3, 2, 2, 2, 2, 3], dtype=torch.int64)[..., ::2]  # every other element

loss = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction='none')
print("torch:", loss.tolist())
right = [5.891322695545515, 2.136336235535778, 4.558029903666946]  # the reference, float64
print("right:", right)
