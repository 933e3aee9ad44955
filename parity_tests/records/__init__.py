"""Every built-in record, by family, registered as a user's loss is (registry.register_loss).
Adding a loss: a reference function and one record in its family."""
from ..registry import BY_NAME, REGISTRY, register_loss
from . import activations, classification, margin, regression, sequence

BUILT_IN = [*activations.RECORDS, *classification.RECORDS, *regression.RECORDS, *margin.RECORDS,
            *sequence.RECORDS]
for _record in BUILT_IN:
    register_loss(_record)
RECORDS = REGISTRY  # the same list: losses registered later are in it too

__all__ = ["BUILT_IN", "BY_NAME", "RECORDS"]
