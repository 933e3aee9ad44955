"""The ids of checks, built and read in one place.

A value check is `loss-device-dtype-case`, a gradient check `loss.dargument-device-dtype-case`,
a check under a transform `loss.dargument@transform-device-dtype-case` (e.g. @double_backward)
(loss names, devices and dtypes hold no '-'; case names may). The ledger of known divergences,
the tolerance overrides, the golden files and the rerun lines all use these ids.
"""
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CheckId:
    loss: str
    device: str
    dtype: str
    case: str
    argument: str = ""  # the differentiated argument of a gradient check; '' for a value
    transform: str = ""  # e.g. double_backward; '' for plain values and gradients

    def __str__(self):
        gradient = f".d{self.argument}" if self.argument else ""
        transform = f"@{self.transform}" if self.transform else ""
        return f"{self.loss}{gradient}{transform}-{self.device}-{self.dtype}-{self.case}"

    @property
    def label(self):
        """The measured table's row label: `mse_loss`, `mse_loss d/dtarget` for a gradient,
        `mse_loss d/dtarget (double_backward)` under a transform."""
        label = f"{self.loss} d/d{self.argument}" if self.argument else self.loss
        return f"{label} ({self.transform})" if self.transform else label


def value_id(loss, device, dtype, case_name):
    return str(CheckId(loss, device, dtype, case_name))


def gradient_id(loss, argument, device, dtype, case_name):
    return str(CheckId(loss, device, dtype, case_name, argument))


def parse(check_id):
    """The CheckId of an id string: the inverse of str(CheckId)."""
    head, device, dtype, case = check_id.split("-", 3)
    head, _, transform = head.partition("@")
    loss, _, argument = head.partition(".d")
    return CheckId(loss, device, dtype, case, argument, transform)


def rerun_line(node, case_name):
    """The command that reruns one case of a batched item (a pytest node) alone: by its node id
    in a checkout, by its file's full path where the suite runs from an installed package."""
    target = node.nodeid if Path(node.nodeid.split("::")[0]).is_file() else f"{node.path}::{node.name}"
    return f"rerun: pytest '{target}' --case '{case_name}'"
