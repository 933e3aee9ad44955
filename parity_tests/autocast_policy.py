"""torch's autocast policy for each loss (fixtures/autocast.json): under torch.autocast, which
dtype its output should have, which inputs autocast rounds, and the precision it computes in."""
from dataclasses import dataclass

from .tolerances_and_ledgers import load

POLICY = load("autocast.json")
PRECISION = ("float64", "float32", "float16",
             "bfloat16")  # most precise first (eps 2^-52, 2^-23, 2^-10, 2^-7)


@dataclass(frozen=True)
class AutocastPolicy:
    loss: str
    device: str
    dtype: str  # the autocast dtype of the device
    ops: tuple  # the ops the loss runs, in order

    def kind(self, op):
        lists = POLICY["devices"][self.device]
        if op in lists["float32_ops"]:
            return "float32"
        return "lower" if op in lists["lower_precision_ops"] else "unlisted"

    @property
    def lower_precision_first(self):
        """Whether autocast casts the inputs to its dtype (a linear layer first)."""
        return bool(self.ops) and self.kind(self.ops[0]) == "lower"

    def output_dtype(self, input_dtype):
        kinds = {self.kind(op) for op in self.ops}
        return "float32" if "float32" in kinds else self.dtype if "lower" in kinds else input_dtype

    def computed_in(self, input_dtype):
        """The lowest precision any op ran in: float32 for a listed op, the autocast dtype for a
        lower-precision one, the inputs' dtype for an unlisted one."""
        ran_in = {"float32": "float32", "lower": self.dtype, "unlisted": input_dtype}
        return max((ran_in[self.kind(op)] for op in self.ops), key=PRECISION.index, default=input_dtype)

    def describe(self, input_dtype):
        return (f"{', '.join(f'{op} ({self.kind(op)})' for op in self.ops)}: returns "
                f"{self.output_dtype(input_dtype)}, computed in {self.computed_in(input_dtype)}")


def autocast_policy(loss, device):
    """The loss's policy on this device, or None where fixtures/autocast.json has none."""
    if device not in POLICY["devices"] or loss not in POLICY["losses"]:
        return None
    return AutocastPolicy(loss, device, POLICY["devices"][device]["dtype"], tuple(POLICY["losses"][loss]))
