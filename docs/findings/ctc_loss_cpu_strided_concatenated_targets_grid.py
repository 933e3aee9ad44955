"""ctc_loss_cpu_strided_concatenated_targets_grid: the same misread on the grid's random targets; whether the misread labels happen to equal the right ones depends on the data, so this entry is not strict (the fixed case strided_concatenated_targets is); its gradients follow the same wrong targets

Upstream: none found in the stored issue threads: worth filing
Found by torch-loss-parity on torch 2.13.0+cpu (case 'concatenated-T6-N3-C5-S3_strided-mean', float64, CPU).
"""
from math import inf, nan

import torch
import torch.nn.functional as F

log_probs = torch.tensor([[[-1.8698405903415982, nan, -3.4841592031782054, nan, -0.6239503830593259, nan, -2.2597136959887023, nan, -1.7431503691699923, nan], [-1.6723114920226436, nan, -2.794674978499066, nan, -2.412833260902755, nan, -0.710858583811031, nan, -1.770373526646201, nan], [-2.0073383240837153, nan, -1.9014411656145862, nan, -1.203414229423551, nan, -1.254083537271329, nan, -2.0341153060765866, nan]], [[-0.4791918748318424, nan, -3.6014763748455025, nan, -1.6753289991626203, nan, -1.896459254426286, nan, -4.129729377738473, nan], [-1.1254126354248901, nan, -3.3402532149954056, nan, -2.147189705458868, nan, -2.49018728040288, nan, -0.820192070206606, nan], [-1.2009539424730558, nan, -2.7447296528921283, nan, -3.181741938712374, nan, -1.15637939774616, nan, -1.2776524449938458, nan]], [[-1.5104726444978924, nan, -2.1351029942969917, nan, -5.456143708759653, nan, -0.6631534395197303, nan, -1.9556819888933021, nan], [-1.138060976053376, nan, -3.3594736313100935, nan, -3.7322526992056906, nan, -0.4990194597255789, nan, -4.287286409148674, nan], [-2.768570320667626, nan, -1.3919593361062186, nan, -2.8927782529943893, nan, -2.4853573202159676, nan, -0.597941049104885, nan]], [[-2.5642598303867636, nan, -0.2136801818560628, nan, -3.026432620629436, nan, -2.756007210266575, nan, -5.688713723083465, nan], [-3.522245660918238, nan, -0.16920753923487264, nan, -3.0318835618395292, nan, -2.847665116975376, nan, -3.915576761294421, nan], [-4.152777876032546, nan, -1.411197649833201, nan, -1.2297534506632957, nan, -1.1910167571719723, nan, -1.936890441446581, nan]], [[-2.730161819828077, nan, -0.38989058065855503, nan, -1.9606702279714607, nan, -3.468080491761232, nan, -2.4566756545240964, nan], [-1.4923452774659003, nan, -2.220662325924041, nan, -3.5106707424885215, nan, -1.9769802532581278, nan, -0.6966444510713412, nan], [-2.216334612052707, nan, -1.1193883718311732, nan, -3.8391321761125274, nan, -3.7709346334978164, nan, -0.6539844337451599, nan]], [[-3.355665399242066, nan, -2.6989705079236748, nan, -2.4667666357481637, nan, -1.8776959982025523, nan, -0.4154575052830433, nan], [-4.432423924694594, nan, -3.3130115154512505, nan, -0.34846449254292733, nan, -3.248665874129271, nan, -1.5745002126882088, nan], [-1.2448669169125943, nan, -1.1479050738688192, nan, -3.239696897723952, nan, -1.670157996073977, nan, -1.7878060103857558, nan]]], dtype=torch.float64)[..., ::2]  # every other element
targets = torch.tensor([1, 3, 2, 2, 2, 4, 4, 4, 4, 2, 2, 2, 3, 1], dtype=torch.int64)[..., ::2]  # every other element
input_lengths = torch.tensor([6, 3, 4, 4, 3, 6], dtype=torch.int64)[..., ::2]  # every other element
target_lengths = torch.tensor([3, 3, 1, 1, 3, 3], dtype=torch.int64)[..., ::2]  # every other element

loss = F.ctc_loss(log_probs, targets, input_lengths, target_lengths)
print("torch:", loss.tolist())
right = 4.146733380735146  # the reference, float64
print("right:", right)
