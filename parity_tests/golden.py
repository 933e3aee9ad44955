"""The torch-upgrade oracle: torch's outputs on every case recorded into a golden file, and,
loss by loss, how the running torch differs from a recorded one.

    python -m parity_tests.golden                 # writes fixtures/golden/torch-<version>-<device>.npz
    pytest parity_tests/test_golden.py --golden fixtures/golden/torch-2.13.0-cpu.npz

Each case is classified: unchanged (bit-identical), drifted (changed, no further out of
tolerance than before), fixed (was outside the tolerance and moved toward the reference),
regressed (outside the tolerance now and further from the reference than before, or raising
where it did not), new (a case the golden file lacks), removed (a case the registry lacks).
"""
import argparse
import hashlib
import io
import json
import platform
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .case_ids import parse, value_id
from .harness import (ParityMismatch, compare, first_call_error, run_reference, selected_cases, torch_arguments,
                      unavailable)
from .records import BUILT_IN, BY_NAME
from .registry import FLOAT_DTYPES
from .runner import not_implemented
from .tables import FIXTURES, arbitrary, tolerance_for, write_atomically

GOLDEN_DIR = FIXTURES / "golden"
CLASSES = ("regressed", "fixed", "drifted", "new", "removed", "unchanged")  # the worst first


def golden_path(device, version=None):
    """fixtures/golden/torch-<version without its local build tag>-<device>.npz"""
    return GOLDEN_DIR / f"torch-{(version or torch.__version__).split('+')[0]}-{device}.npz"


@contextmanager
def deterministic_torch():
    """One intra-op thread, so that reductions add in the same order on any machine; warnings
    silenced (their text is no output)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class Output:
    """One recorded output: its dtype and values (float64 holds every lower dtype exactly), or
    the error torch raised."""

    dtype: str = ""
    values: np.ndarray = None
    error: str = ""

    def same_as(self, other):
        return (self.error, self.dtype) == (other.error, other.dtype) and (
            self.error or (self.values.shape == other.values.shape
                           and np.array_equal(self.values, other.values, equal_nan=True)))


def golden_cases(records, device, dtypes=FLOAT_DTYPES):
    """(id, record, case, dtype) for every case this torch runs whose value is defined (the
    ledger's arbitrary values are left out, and the dtypes torch has no kernel for: the run's
    support table tells those)."""
    for record, case, _, dtype in selected_cases(records, [device], dtypes):
        test_id = value_id(record.name, device, dtype, case.name)
        if not unavailable(record, case.arguments()[1], case.variant) and not arbitrary(test_id) \
                and not lacks_kernel(record, dtype, device):
            yield test_id, record, case, dtype


def lacks_kernel(record, dtype, device):
    """Whether torch says it has no kernel for the record's first case in this dtype on this device."""
    error = first_call_error(record, None, dtype, device)
    return error is not None and bool(not_implemented(error))


def torch_output(record, torch_call):
    """torch's output as an Output, or the error it raised (a later torch that stops raising,
    or starts, is a change too)."""
    try:
        output = record.torch_fn(*torch_call[0], **torch_call[1]).detach().cpu()
    except Exception as error:
        return Output(error=f"{type(error).__name__}: {str(error).splitlines()[0]}")
    return Output(str(output.dtype).removeprefix("torch."), output.double().numpy())


def record_outputs(records, device, dtypes=FLOAT_DTYPES):
    """{case id: Output} for every golden case, and each case's input seed."""
    outputs, seeds = {}, {}
    with deterministic_torch():
        for test_id, record, case, dtype in golden_cases(records, device, dtypes):
            torch_call, _ = torch_arguments(case, dtype, device)
            outputs[test_id], seeds[test_id] = torch_output(record, torch_call), case.seed
    return outputs, seeds


def cpu_flags():
    """The CPU's vector instruction sets (avx*, amx*, fma, f16c, from /proc/cpuinfo), which
    MKL and oneDNN choose their kernels by: two machines with the same torch CPU capability but
    other flags (e.g. avx512_fp16) may round a matrix product differently. Empty where unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    return sorted(flag for flag in (flags.group(1).split() if flags else [])
                  if flag.startswith(("avx", "amx", "fma", "f16c")))


def device_name(device):
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.machine()} {platform.processor() or ''}".strip() + \
        f", {torch.backends.cpu.get_cpu_capability()}"


def save_golden(path, outputs, seeds, device):
    """The values as one flat float64 array in an .npz, and a JSON manifest beside it: versions,
    device, and per case its id, input seed, output dtype and shape (or error). Each file is
    written atomically; the manifest holds the values' sha256, so a mismatched pair is caught."""
    values = np.concatenate([o.values.ravel() for o in outputs.values() if not o.error] or [np.zeros(0)])
    manifest = {
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "device": device, "device_name": device_name(device),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_flags": cpu_flags(), "torch_threads": 1,
        "values_sha256": hashlib.sha256(values.tobytes()).hexdigest(),
        "columns": "id, input seed, output dtype, output shape (or the error torch raised)",
        "cases": [[test_id, seeds[test_id], o.dtype, o.error or list(o.values.shape)]
                  for test_id, o in outputs.items()],
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, values=values)
    write_atomically(path, buffer.getvalue())
    rows = ",\n".join("  " + json.dumps(row) for row in manifest.pop("cases"))
    write_atomically(path.with_suffix(".json"),
                     json.dumps(manifest, indent=1)[:-2] + ',\n "cases": [\n' + rows + "\n ]\n}\n")


def load_golden(path):
    """(manifest, {case id: Output}) from a golden .npz and its manifest."""
    manifest = json.loads(path.with_suffix(".json").read_text())
    with np.load(path) as stored:
        values = stored["values"]
    if hashlib.sha256(values.tobytes()).hexdigest() != manifest["values_sha256"]:
        raise ValueError(f"{path}: values and manifest are from different recordings: record again")
    outputs, offset = {}, 0
    for test_id, _, dtype, shape_or_error in manifest["cases"]:
        if isinstance(shape_or_error, str):
            outputs[test_id] = Output(error=shape_or_error)
            continue
        size = int(np.prod(shape_or_error))
        outputs[test_id] = Output(dtype, values[offset:offset + size].reshape(shape_or_error))
        offset += size
    return manifest, outputs


def distance(output, expected, tolerance):
    """How far an output is from the reference, as a fraction of the tolerance: above 1 is
    outside it; inf for an error or a dtype, shape or nan/inf placement mismatch."""
    if output.error:
        return float("inf")
    dtype = getattr(torch, output.dtype)
    try:
        return compare(torch.from_numpy(output.values).to(dtype), expected, dtype, tolerance, "")["fraction"]
    except ParityMismatch as mismatch:
        return mismatch.measurement["fraction"] if mismatch.measurement else float("inf")


@dataclass
class Change:
    """One case of the comparison: its class, the two distances to the reference (fractions of
    the tolerance) and the largest change between the two torch versions."""

    id: str
    loss: str
    dtype: str
    kind: str
    before: float = 0.0
    after: float = 0.0
    change: float = 0.0  # max |after - before|
    change_of_tolerance: float = 0.0  # the same, as a fraction of the tolerance


def classify(golden, current, expected, tolerance):
    """(kind, distance before, distance after, |change|, |change| / allowed) for one case."""
    before, after = distance(golden, expected, tolerance), distance(current, expected, tolerance)
    if golden.same_as(current):
        return "unchanged", before, after, 0.0, 0.0
    change = change_of_tolerance = float("inf")
    if not (golden.error or current.error) and golden.values.shape == current.values.shape:
        both = np.isfinite(golden.values) & np.isfinite(current.values)
        diff = np.abs(np.where(both, current.values - golden.values, 0.0))
        change = float(diff.max(initial=0.0))
        change_of_tolerance = float((diff / tolerance.allowed(np.where(both, expected, 1.0))).max(initial=0.0))
    if after > 1 and after > before:
        kind = "regressed"
    elif before > 1 and after < before:
        kind = "fixed"
    else:
        kind = "drifted"
    return kind, before, after, change, change_of_tolerance


def compare_with_golden(golden_outputs, losses, device, dtypes=FLOAT_DTYPES):
    """A Change for every case of these losses (names) in the golden file or in this torch."""
    records = [BY_NAME[loss] for loss in losses if loss in BY_NAME]
    changes, seen = [], set()
    with deterministic_torch():
        for test_id, record, case, dtype in golden_cases(records, device, dtypes):
            seen.add(test_id)
            if test_id not in golden_outputs:
                changes.append(Change(test_id, record.name, dtype, "new"))
                continue
            torch_call, numpy_call = torch_arguments(case, dtype, device)
            current, expected = torch_output(record, torch_call), run_reference(record, torch_call, numpy_call)
            kind, *measured = classify(golden_outputs[test_id], current, expected,
                                       tolerance_for(record.name, device, dtype, case.name))
            changes.append(Change(test_id, record.name, dtype, kind, *measured))
    for test_id in golden_outputs:
        check = parse(test_id)
        if test_id not in seen and check.loss in losses and check.dtype in dtypes:
            changes.append(Change(test_id, check.loss, check.dtype, "removed"))
    return changes


def summarize(changes):
    """One row per loss x dtype: its worst class, the count of each class, the largest change."""
    rows = {}
    for change in changes:
        row = rows.setdefault((change.loss, change.dtype), {
            "loss": change.loss, "dtype": change.dtype, "class": "unchanged", **dict.fromkeys(CLASSES, 0),
            "max change": 0.0, "max change % of tol": 0.0})
        row[change.kind] += 1
        row["class"] = min(row["class"], change.kind, key=CLASSES.index)
        if change.kind in ("drifted", "fixed", "regressed"):
            row["max change"] = max(row["max change"], change.change)
            row["max change % of tol"] = max(row["max change % of tol"], 100 * change.change_of_tolerance)
    return [rows[key] for key in sorted(rows)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity_tests.golden",
                                     description="Record torch's outputs on every case into a golden file.")
    parser.add_argument("--device", default="cpu", help="the device to record (default: cpu)")
    parser.add_argument("--out", default=None, help="the .npz to write (default: fixtures/golden/"
                                                    "torch-<version>-<device>.npz, with a .json manifest)")
    options = parser.parse_args(argv)
    path = golden_path(options.device) if options.out is None else Path(options.out)
    outputs, seeds = record_outputs(BUILT_IN, options.device)
    save_golden(path, outputs, seeds, options.device)
    print(f"recorded {len(outputs)} cases of torch {torch.__version__} on {options.device} into {path} "
          f"and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
