"""The parity suite. Its public API registers a loss of your own (see README, "Your own losses"):

    from parity_tests import LossRecord, Shape, register_loss
"""
from .registry import BadCall, Case, LossRecord, Shape, Twin, register_loss

__all__ = ["BadCall", "Case", "LossRecord", "Shape", "Twin", "register_loss"]
