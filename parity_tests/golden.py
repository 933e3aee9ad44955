"""The torch-upgrade oracle: torch's outputs on every case recorded into a golden file, and,
loss by loss, how the running torch differs from a recorded one.

    python -m parity_tests.golden                 # writes reports/golden/torch-<version>-<device>.npz
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

from .case_ids import gradient_id, parse, value_id
from .harness import (
    differentiable_call,
    first_call_error,
    fraction_of_tolerance,
    kernels_spied,
    run_backward,
    run_reference,
    selected_cases,
    torch_arguments,
    unavailable,
)
from .records import BUILT_IN, BY_NAME
from .registry import FLOAT_DTYPES
from .runner import not_implemented
from .tolerances_and_ledgers import FIXTURES, arbitrary, tolerance_for, write_atomically

GOLDEN_DIR = FIXTURES / "golden"
CLASSES = ("regressed", "fixed", "drifted", "hardware", "new", "removed", "unchanged")  # the worst first


def golden_path(device, version=None):
    """fixtures/golden/torch-<version without its local build tag>-<device>.npz"""
    return GOLDEN_DIR / f"torch-{(version or torch.__version__).split('+')[0]}-{device}.npz"


@contextmanager
def deterministic_torch():
    """One intra-op thread, so that reductions add in the same order on any machine; warnings
    silenced (torch_output records the ones a call gives)."""
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
    notes: tuple = ()  # the first line of each warning torch gave (e.g. that it ignored options=), and
    # 'ran <kernel>' for each of the record's spied kernels the call reached (harness.kernels_spied)

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


def as_output(tensor, caught=(), ran=()):
    tensor = tensor.detach().cpu()
    warned = dict.fromkeys(str(w.message).splitlines()[0] for w in caught)
    notes = (*warned, *(f"ran {kernel}" for kernel in sorted(ran)))
    return Output(str(tensor.dtype).removeprefix("torch."), tensor.double().numpy(), notes=notes)


def raised(error):
    """An Output for an error torch raised (a later torch that stops raising, or starts, is a change too)."""
    return Output(error=f"{type(error).__name__}: {str(error).splitlines()[0]}")


def torch_output(record, torch_call):
    """torch's output as an Output (with the warnings it gave and the spied kernels it ran), or
    the error it raised."""
    try:
        with warnings.catch_warnings(record=True) as caught, kernels_spied(record) as ran:
            warnings.simplefilter("always")
            output = record.torch_fn(*torch_call[0], **torch_call[1])
    except Exception as error:
        return raised(error)
    return as_output(output, caught, ran)


def gradient_checks(record, case, dtype, device, reference=False):
    """{gradient check id: (torch autograd's Output, the reference's gradient, its other one-sided
    derivative)} of a case (harness.run_backward's forward and upstream gradient; the reference's
    parts only where asked, else None); where the backward raises, one check of the first
    argument holds the error."""
    try:
        if reference:
            found = run_backward(record, case, dtype, device)
        else:
            names, tensors, output, upstream, _, _ = differentiable_call(record, case, dtype, device)
            gradients = torch.autograd.grad(output, tensors, upstream, allow_unused=True)
            found = {name: (gradient, None, None) for name, gradient in zip(names, gradients)}
    except Exception as error:
        first = gradient_id(record.name, record.differentiable[0], device, dtype, case.name)
        return {first: (raised(error), None, None)}
    return {gradient_id(record.name, name, device, dtype, case.name):
            (raised(RuntimeError("no gradient")) if gradient is None else as_output(gradient),
             expected, alternative)
            for name, (gradient, expected, alternative) in found.items()}


def record_outputs(records, device, dtypes=FLOAT_DTYPES, gradients=False):
    """{check id: Output} for every golden case (and, with gradients, each of its gradients), and
    each check's input seed."""
    outputs, seeds = {}, {}
    with deterministic_torch():
        for test_id, record, case, dtype in golden_cases(records, device, dtypes):
            torch_call, _ = torch_arguments(case, dtype, device)
            outputs[test_id], seeds[test_id] = torch_output(record, torch_call), case.seed
            if gradients and record.gradient and record.differentiable:
                for check_id, (output, _, _) in gradient_checks(record, case, dtype, device).items():
                    outputs[check_id], seeds[check_id] = output, case.seed
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
        "torch": torch.__version__, "python": platform.python_version(),
        "device": device, "device_name": device_name(device), **machine(), "torch_threads": 1,
        "values_sha256": hashlib.sha256(values.tobytes()).hexdigest(),
        "columns": "id, input seed, output dtype, output shape (or the error torch raised), and where there "
                   "are some, notes: the warnings torch gave and the spied kernels that ran",
        "cases": [[test_id, seeds[test_id], o.dtype, o.error or list(o.values.shape), *([list(o.notes)]
                                                                                          if o.notes else [])]
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
    for test_id, _, dtype, shape_or_error, *given in manifest["cases"]:
        if isinstance(shape_or_error, str):
            outputs[test_id] = Output(error=shape_or_error)
            continue
        size = int(np.prod(shape_or_error))
        outputs[test_id] = Output(dtype, values[offset:offset + size].reshape(shape_or_error),
                                  notes=tuple(given[0]) if given else ())
        offset += size
    return manifest, outputs


def machine():
    """What, besides torch, decides an output's last bits: the CPU's kernels, the device and the
    NumPy that makes the inputs."""
    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_flags": cpu_flags(),
            "numpy": np.__version__}


def other_machine(manifest, device):
    """How the recording's machine differs from this one ('' where it does not): CPU kernels,
    device or NumPy."""
    here = {**machine(), "device_name": device_name(device)}
    differing = []
    for key, value in here.items():
        there = manifest.get(key)
        if isinstance(value, list) and isinstance(there, list) and there != value:
            only = lambda a, b: ", ".join(sorted(set(a) - set(b))) or "none"
            differing.append(f"{key}: {only(there, value)} there only, {only(value, there)} here only")
        elif there != value:
            differing.append(f"{key} {there} there, {value} here")
    return "; ".join(differing)


def distance(output, expected, tolerance, alternative=None):
    """How far an output is from the reference (or, at a kink, from either one-sided derivative),
    as a fraction of the tolerance: above 1 is outside it; inf for an error or a dtype, shape or
    nan/inf placement mismatch."""
    if output.error:
        return float("inf")
    dtype = getattr(torch, output.dtype)
    return fraction_of_tolerance(torch.from_numpy(output.values).to(dtype), expected, dtype,
                                 tolerance, alternative)


def within_band(check_id, before, after):
    """Whether two outputs of a check are within its parity tolerance of each other (the same
    dtype, shape, error and nan/inf places): the band a change of CPU kernels or NumPy may move
    an output by."""
    if (before.error, before.dtype) != (after.error, after.dtype) or before.error:
        return before.error == after.error and before.dtype == after.dtype
    if before.values.shape != after.values.shape:
        return False
    finite = np.isfinite(before.values)
    check = parse(check_id)
    tolerance = tolerance_for(check.loss, check.device, check.dtype, check.case,
                              kind="gradient" if check.argument else "value", argument=check.argument)
    return bool(np.array_equal(np.where(finite, 0, before.values),
                               np.where(finite, 0, after.values), equal_nan=True)
                and np.all(np.abs(after.values - before.values)[finite]
                           <= tolerance.allowed(before.values[finite])))


@dataclass
class Change:
    """One check of the comparison: its class, the two distances to the reference (fractions of
    the tolerance), the largest change between the two torch versions and its cause where one
    can be told."""

    id: str
    loss: str
    dtype: str
    kind: str
    before: float = 0.0
    after: float = 0.0
    change: float = 0.0  # max |after - before|
    change_of_tolerance: float = 0.0  # the same, as a fraction of the tolerance
    cause: str = ""


def classify(check_id, golden, current, expected, tolerance, other_machine=False, alternative=None):
    """(kind, distance before, distance after, |change|, |change| / allowed) for one check.
    Judged against the reference, so that it survives a change of machine: a change within the
    check's band, recorded on another machine (CPU kernels, device or NumPy), is "hardware"
    (expected from it, not torch's); else drifted, fixed or regressed by the distances."""
    before = distance(golden, expected, tolerance, alternative)
    after = distance(current, expected, tolerance, alternative)
    if golden.same_as(current):
        return "unchanged", before, after, 0.0, 0.0
    change = change_of_tolerance = float("inf")
    if not (golden.error or current.error) and golden.values.shape == current.values.shape:
        both = np.isfinite(golden.values) & np.isfinite(current.values)
        diff = np.abs(np.where(both, current.values - golden.values, 0.0))
        change = float(diff.max(initial=0.0))
        allowed = tolerance.allowed(np.where(both, expected, 1.0))
        change_of_tolerance = float((diff / allowed).max(initial=0.0))
    if after > 1 and after > before:
        kind = "regressed"
    elif before > 1 and after < before:
        kind = "fixed"
    elif other_machine and within_band(check_id, golden, current):
        kind = "hardware"
    else:
        kind = "drifted"
    return kind, before, after, change, change_of_tolerance


def current_checks(record, case, dtype, device, gradients):
    """{check id: (this torch's Output, the reference's, its other one-sided derivative or None,
    the tolerance)} of a case: its value and, with gradients, each gradient."""
    torch_call, numpy_call = torch_arguments(case, dtype, device)
    value_check = value_id(record.name, device, dtype, case.name)
    checks = {value_check: (torch_output(record, torch_call),
                            run_reference(record, torch_call, numpy_call), None,
                            tolerance_for(record.name, device, dtype, case.name))}
    if not (gradients and record.gradient and record.differentiable):
        return checks
    for check_id, found in gradient_checks(record, case, dtype, device, reference=True).items():
        tolerance = tolerance_for(record.name, device, dtype, case.name, kind="gradient",
                                  argument=parse(check_id).argument)
        checks[check_id] = (*found, tolerance)
    return checks


def compare_with_golden(golden_outputs, losses, device, dtypes=FLOAT_DTYPES, other_machine=False,
                        gradients=False,
                        kept=None):
    """A Change for every check of these losses (names) in the golden file or in this torch:
    values, and with gradients their gradients too. `kept` (a dict) receives each check's (this
    torch's Output, the reference's, its other one-sided derivative or None)."""
    records = [BY_NAME[loss] for loss in losses if loss in BY_NAME]
    changes, seen = [], set()
    with deterministic_torch():
        for _, record, case, dtype in golden_cases(records, device, dtypes):
            for check_id, (current, expected, alternative, tolerance) in \
                    current_checks(record, case, dtype, device, gradients).items():
                seen.add(check_id)
                if check_id not in golden_outputs:
                    changes.append(Change(check_id, record.name, dtype, "new"))
                    continue
                if expected is None:  # the backward raised before the reference was asked
                    kind = "unchanged" if golden_outputs[check_id].same_as(current) else "regressed"
                    changes.append(Change(check_id, record.name, dtype, kind))
                    continue
                kind, *measured = classify(check_id, golden_outputs[check_id], current, expected, tolerance,
                                           other_machine, alternative)
                changes.append(Change(check_id, record.name, dtype, kind, *measured))
                if kept is not None:
                    kept[check_id] = (current, expected, alternative)
    for check_id in golden_outputs:
        check = parse(check_id)
        if check_id not in seen and check.loss in losses and check.dtype in dtypes \
                and (gradients or not check.argument):
            changes.append(Change(check_id, check.loss, check.dtype, "removed"))
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
        if change.kind in ("drifted", "hardware", "fixed", "regressed"):
            row["max change"] = max(row["max change"], change.change)
            row["max change % of tol"] = max(row["max change % of tol"], 100 * change.change_of_tolerance)
    return [rows[key] for key in sorted(rows)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity_tests.golden",
                                     description="Record torch's outputs on every case into a golden file.")
    parser.add_argument("--device", default="cpu", help="the device to record (default: cpu)")
    parser.add_argument("--out", default=None, help="the .npz to write (default: reports/golden/"
                                                    "torch-<version>-<device>.npz, with a .json manifest)")
    parser.add_argument("--force", action="store_true", help="overwrite a golden file committed in fixtures/")
    options = parser.parse_args(argv)
    path = Path(options.out) if options.out is not None else \
        Path("reports") / "golden" / golden_path(options.device).name
    if path.resolve().is_relative_to(GOLDEN_DIR.resolve()) and path.exists() and not options.force:
        parser.error(f"{path} is a committed golden file: pass --force to record it again")
    path.parent.mkdir(parents=True, exist_ok=True)
    outputs, seeds = record_outputs(BUILT_IN, options.device)
    save_golden(path, outputs, seeds, options.device)
    print(f"recorded {len(outputs)} cases of torch {torch.__version__} on {options.device} into {path} "
          f"and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
