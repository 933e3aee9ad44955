"""The torch sides of the example losses, as their users write them."""
import torch
import torch.nn.functional as F


def reg_cross_entropy_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                           reduction="mean", reg_lambda=0.1):
    """The document's code (shared/seeds/003_b9ec96481e6f403f.txt), as printed."""
    logp = F.log_softmax(input, dim=1)
    loss = F.nll_loss(logp, target, weight, size_average, ignore_index, reduce, reduction)
    reg_loss = torch.mean(torch.sum(torch.square(torch.exp(logp)), dim=1))
    return loss + reg_lambda * reg_loss


def cutmix_cross_entropy(input, target_a, target_b, lam, reduction="mean"):
    """The document's training step: lam * criterion(output, y_a) + (1 - lam) * criterion(output, y_b)."""
    return (lam * F.cross_entropy(input, target_a, reduction=reduction)
            + (1 - lam) * F.cross_entropy(input, target_b, reduction=reduction))


def torchvision_focal_loss():
    """torchvision.ops.sigmoid_focal_loss, or (None, why it cannot be used here)."""
    try:
        from torchvision.ops import sigmoid_focal_loss
    except Exception as error:  # absent, or built for another torch (its operators fail to load)
        return None, (f"torchvision is not usable with torch {torch.__version__} here "
                      f"({type(error).__name__}: {error}); pip install the torchvision built for this torch")
    return sigmoid_focal_loss, ""
