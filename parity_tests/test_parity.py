"""Parity of every record's cases: the implementation under test (torch eager unless --impl)
on each device and dtype against the float64 reference.

One test item per loss x device x dtype runs all of its cases (runner.py): pytest's own cost of
an item (about 1.5 ms) would otherwise be several times the cost of a case. A failing item lists
every failing case, the first ones in full, each with the command that reruns it alone (--case)."""
import pytest
import torch

from .harness import ABSENT_DEVICE_REASONS, present_devices
from .runner import ItemRunner


def test_parity(record, device, dtype, value_cases, request):
    """Each case's value against the reference, with a verdict (runner.py); under --compile its
    gradients too, from the same compiled call (test_backward's items then skip)."""
    runner = ItemRunner(request, record, device, dtype)
    runner.run(value_cases, "values_and_gradients" if runner.under_test.backend else "values")


def test_requested_device_is_present(requested_device):
    if requested_device not in present_devices():
        pytest.skip(f"device {requested_device} requested but absent from torch {torch.__version__}: "
                    f"{ABSENT_DEVICE_REASONS.get(requested_device, 'torch does not know this device')}")
