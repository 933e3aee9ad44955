"""The parity suite. Its public API registers a loss of your own (see docs/adding-a-loss.md):

    from parity_tests import LossRecord, Shape, register_loss
"""
from .registry import BadCall, Case, LossRecord, Shape, Twin, register_loss

__all__ = ["BadCall", "Case", "LossRecord", "Shape", "Twin", "register_loss"]
