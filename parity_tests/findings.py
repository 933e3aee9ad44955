"""Findings, upstream-ready: for every entry of the ledger of known torch divergences, a
standalone reproducer (torch only, its arguments written out) with the right value beside
torch's, and a short report for a torch issue.

    python -m parity_tests.findings [--out docs/findings]

The right value is the reference's, in float64 on exactly the values torch received, written into
the script as numbers (and confirmed in 50-digit mpmath where parity_tests/high_precision.py has
the loss); the script itself needs nothing but torch. An entry seen only under a transform
(vmap, autocast, double backward) gets its report and the suite's rerun line instead of a script.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parent.parent / "docs"


def first_check(entry):
    """(record, case, dtype, argument, transform) of the first grid or edge case of this torch
    whose check id matches the entry (plain checks before those under a transform), or None."""
    from .case_ids import CheckId
    from .records import RECORDS
    pattern = entry.pattern
    cases = {record.name: record.cases() for record in RECORDS if record.torch_fn is not None}
    for transform in ("", "double_backward", "vmap", "autocast"):
        for record in RECORDS:
            for case in cases.get(record.name, ()):
                for dtype in record.dtypes:
                    for argument in ("", *record.differentiable):
                        if pattern.match(str(CheckId(record.name, "cpu", dtype, case.name,
                                                     argument, transform))):
                            return record, case, dtype, argument, transform
    return None


def literal(tensor):
    """Python source that makes `tensor` again: its values, dtype and memory layout."""
    dtype = f"torch.{str(tensor.dtype).removeprefix('torch.')}"
    values = lambda t: repr(t.detach().cpu().double().tolist() if t.is_floating_point() else t.tolist())
    if tensor.numel() == 0:
        return f"torch.empty({tuple(tensor.shape)}, dtype={dtype})"
    if tensor.is_contiguous():
        return f"torch.tensor({values(tensor)}, dtype={dtype})"
    base = tensor._base
    if base is not None and base.is_contiguous() and tensor.shape[:-1] == base.shape[:-1]:
        return f"torch.tensor({values(tensor._base)}, dtype={dtype})[..., ::2]  # every other element"
    axes = tuple(reversed(range(tensor.ndim)))
    return f"torch.tensor({values(tensor.permute(axes).contiguous())}, dtype={dtype}).permute{axes}"


def argument_source(value):
    import torch
    return literal(value) if isinstance(value, torch.Tensor) else repr(value)


def mpmath_check(record, numpy_call, expected):
    """How 50-digit mpmath agrees with the reference's value, where high_precision has the loss
    and the call has no keywords it lacks; '' otherwise."""
    from . import high_precision
    args, kwargs = numpy_call
    if record.name not in high_precision.FUNCTIONS or set(kwargs) - {"reduction"}:
        return ""
    try:
        exact = np.asarray(high_precision.evaluate(record.name,
                                                   [np.asarray(a).tolist() for a in args], kwargs))
    except Exception:  # a call the closed form does not take (another shape or argument kind)
        return ""
    if exact.shape != expected.shape:
        return ""
    difference = float(np.max(np.abs(exact - expected), initial=0.0))
    return f"50-digit mpmath (parity_tests/high_precision.py) agrees to {difference:.1e}"


def reproducer(entry, record, case, dtype, argument):
    """A standalone script, torch only: the call, torch's value (or gradient of `argument`, for
    an upstream gradient of ones) and the right one beside it."""
    import torch

    from .harness import parameter_names, reference_arguments, torch_arguments
    torch_call, numpy_call = torch_arguments(case, dtype, "cpu")
    args, kwargs = torch_call
    names = parameter_names(record.reference)[:len(args)]
    call = f"F.{record.torch_fn.__name__}({', '.join(names)}" + \
        "".join(f", {key}={argument_source(value)}" for key, value in kwargs.items()) + ")"
    reference_args, reference_kwargs = reference_arguments(torch_call, numpy_call)
    lines = [f'"""{entry["id"]}: {entry["torch_does"]}', "", f"Upstream: {entry['upstream']}",
             f"Found by torch-loss-parity on torch {torch.__version__} (case {case.name!r}, {dtype}, CPU).",
             '"""',
             "from math import inf, nan", "", "import torch", "import torch.nn.functional as F", "",
             *(f"{name} = {argument_source(value)}" for name, value in zip(names, args))]
    try:
        expected = np.asarray(record.reference(*reference_args, **reference_kwargs), dtype=np.float64)
    except Exception as error:  # the reference rejects the call: the script still shows torch's answer
        expected, confirmed = None, f"the reference raised {type(error).__name__}: {error}"
    else:
        confirmed = mpmath_check(record, (reference_args, reference_kwargs), expected)
    if not argument:
        lines += ["", f"loss = {call}", 'print("torch:", loss.tolist())',
                  f"right = {expected.tolist() if expected is not None else None!r}  # the reference, float64"
                  + (f"; {confirmed}" if confirmed else ""), 'print("right:", right)']
        return "\n".join(lines) + "\n"
    right = record.gradient(np.ones(np.shape(expected)), *reference_args, **reference_kwargs).get(argument)
    lines += ["",
              f"right = {np.asarray(right).tolist()!r}  # the reference's gradient, float64, "
              "upstream of ones",
              'print("right gradient:", right)', f"{argument} = {argument}.detach().requires_grad_()",
              f"loss = {call}", f"(gradient,) = torch.autograd.grad(loss, {argument}, torch.ones_like(loss))",
              'print("torch gradient:", gradient.tolist())']
    return "\n".join(lines) + "\n"


def report(entry, found):
    """A short report in the words of a torch issue."""
    where = "no grid or edge case of this torch matches it" if found is None else \
        f"first seen on `{found[0].name}` case `{found[1].name}` in {found[2]} on the CPU" + \
        (f" (under {found[4]})" if found[4] else "")
    return (f"# {entry['id']}\n\n**What torch does.** {entry['torch_does']}\n\n"
            f"**The right value.** {entry['right_value']}\n\n**Upstream.** {entry['upstream']}\n\n"
            f"**Where.** {where}; the suite's checks: {', '.join(f'`{t}`' for t in entry['tests'])}"
            f"{' (torch raises)' if entry.get('torch_raises') else ''}.\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity_tests.findings",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS / "findings")
    args = parser.parse_args(argv)
    import warnings
    warnings.simplefilter("ignore")
    from .tolerances_and_ledgers import LEDGER
    args.out.mkdir(parents=True, exist_ok=True)
    index = ["# Findings: torch's known divergences, ready for upstream", "",
             "`python -m parity_tests.findings` writes these from fixtures/known_divergences.json.", ""]
    for entry in LEDGER:
        found = first_check(entry)
        (args.out / f"{entry['id']}.md").write_text(report(entry, found))
        line = f"- [{entry['id']}]({entry['id']}.md)"
        if found is not None and not found[4]:
            (args.out / f"{entry['id']}.py").write_text(reproducer(entry, *found[:4]))
            line += f", reproducer [{entry['id']}.py]({entry['id']}.py)"
        elif found is not None:
            line += f": seen under --transform {found[4].replace('_', '-')} only; rerun it with the suite"
        index.append(line)
    (args.out / "README.md").write_text("\n".join(index) + "\n")
    print(f"{len(LEDGER)} findings in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
