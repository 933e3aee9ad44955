"""The reference accepts what torch accepts: shapes, argument dtypes; and every shape of the grid
runs one plain case (default keywords, no special values).

Found by calling torch: a form torch takes that the reference rejects, or the reverse, fails
here, and an error the reference raises names the argument."""
import warnings

import numpy as np
import pytest
import torch

from .harness import (
    bound_arguments,
    parameter_names,
    run_reference,
    run_torch,
    skip_if_unavailable,
    to_torch,
    with_argument,
)
from .records import BUILT_IN, RECORDS
from .registry import Case

# shapes probed through each record's builder: 0-d, unbatched, batched, one sample, an empty
# batch, no classes, K-dimensional
PROBED_DIMS = [(), (4,), (3, 4), (1, 4), (0, 4), (3, 0), (2, 3, 4), (2, 3, 4, 2)]


def outcome(call):
    """('ok', output shape) or ('raises', the error)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", tuple(np.shape(call()))
    except Exception as error:  # which calls raise is what is compared
        return "raises", error


def built(record, dims, variant):
    """The record's call for `dims` at default keywords, or None where its builder cannot make one."""
    try:
        return record.build(np.random.default_rng(0), dims, variant, {})
    except (ValueError, IndexError, TypeError):
        return None


def covered(rank, ranks):
    """Whether the grid's ranks hold a call of `rank`: that rank, or for a rank above 3 (a K-dimensional
    call) any rank from 3 on."""
    return rank in ranks or (rank > 3 and max(ranks) >= 3)


def names_an_argument(record, error):
    """Whether the reference's message starts with one of the function's parameter names (asked
    of the built-in reference only: a user's reference words its errors as it likes)."""
    return record not in BUILT_IN or str(error).split(":")[0] in parameter_names(record.reference)


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_the_reference_accepts_exactly_the_shapes_torch_accepts(record, torch_under_test):
    """Each shape of PROBED_DIMS the record's builder can make: torch and the reference both
    raise (the reference naming an argument), or both give the same output shape; and a rank torch
    takes has a shape in a built-in record's grid (a user's record chooses its own shapes)."""
    skip_if_unavailable(record)
    disagreements, ranks = [], {len(shape.dims) for shape in record.shapes}
    probed = 0
    for variant in record.variants:
        for dims in PROBED_DIMS:
            arguments = built(record, dims, variant)
            if arguments is None:
                continue
            probed += 1
            case = Case(record.name, f"probe{dims}", lambda rng, arguments=arguments: arguments,
                        variant=variant)
            by_torch = outcome(lambda: run_torch(record, case, "float64", "cpu")[0])
            by_reference = outcome(lambda: record.reference(*case.arguments()[0], **case.arguments()[1]))
            call = f"{variant or 'default'} variant, dims {dims}"
            if by_torch[0] != by_reference[0] or (by_torch[0] == "ok" and by_torch[1] != by_reference[1]):
                disagreements.append(f"{call}: torch {by_torch}, the reference {by_reference}")
            elif by_reference[0] == "raises" and not names_an_argument(record, by_reference[1]):
                disagreements.append(f"{call}: the reference's error names no argument: {by_reference[1]!r}")
            elif by_torch[0] == "ok" and record in BUILT_IN and not covered(len(dims), ranks):
                disagreements.append(f"{call}: torch takes rank {len(dims)}, which no shape of the grid has")
    if not probed:
        pytest.skip(f"{record.name}: its builder makes none of {PROBED_DIMS} (its dims mean something else)")
    assert not disagreements, f"{record.name}:\n" + "\n".join(disagreements)


def in_its_dtype(value):
    """A NumPy argument as a tensor of its own dtype (not the dtype under test), anything else as
    torch takes it."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return to_torch(value, "float64", "cpu", "contiguous")


def recast(value):
    """The dtypes an array argument is probed in: floating ones in float32 and int64, integer ones
    in float64."""
    return ["float32", "int64"] if value.dtype.kind == "f" else ["float64"]


def dtype_probes(record):
    """(case name, argument, dtype, args, kwargs): each array argument of the first shape's
    contiguous grid cases (one case per set of argument names) in another dtype, the others in float64."""
    seen = set()
    for case in record.grid_cases():
        firsts = tuple(f"{variant}-{record.shapes[0].name}".lstrip("-") for variant in record.variants)
        if case.layout != "contiguous" or not case.name.startswith(firsts):
            continue
        args, kwargs = case.arguments()
        bound = bound_arguments(record, args, kwargs)
        arrays = tuple(sorted(name for name, value in bound.items() if isinstance(value, np.ndarray)))
        if (case.variant, arrays) in seen:
            continue
        seen.add((case.variant, arrays))
        for name in arrays:
            for dtype in recast(bound[name]):
                yield case.name, name, dtype, *with_argument(record, args, kwargs, name,
                                                             bound[name].astype(dtype))


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_the_reference_accepts_exactly_the_argument_dtypes_torch_accepts(record, torch_under_test):
    """One array argument in another dtype (mixed floating dtypes, an integer where a float is
    due, a float where integers are due), the others as built: torch and the reference both take
    it or both reject it, the reference naming an argument."""
    skip_if_unavailable(record)
    disagreements = []
    for case_name, name, dtype, args, kwargs in dtype_probes(record):
        by_torch = outcome(lambda: record.torch_fn(*map(in_its_dtype, args),
                                                   **{key: in_its_dtype(value) for key,
                                                      value in kwargs.items()}))
        by_reference = outcome(lambda: run_reference(record, (args, kwargs), (args, kwargs)))
        call = f"{case_name} with {name} in {dtype}"
        if by_torch[0] != by_reference[0]:
            disagreements.append(f"{call}: torch {by_torch}, the reference {by_reference}")
        elif by_reference[0] == "raises" and not names_an_argument(record, by_reference[1]):
            disagreements.append(f"{call}: the reference's error names no argument: {by_reference[1]!r}")
    assert not disagreements, \
        f"{record.name}: {len(disagreements)} disagreements:\n" + "\n".join(disagreements[:10])


def special_values(record, args, kwargs):
    """What keeps a call from being plain: targets equal to its ignore_index (torch's default
    where it takes one), weights of zero, ties among the input's values."""
    bound = bound_arguments(record, args, kwargs)
    found = []
    if "ignore_index" in parameter_names(record.reference):
        ignored = bound.get("ignore_index", -100)
        target = bound.get("target")
        if isinstance(target, np.ndarray) and target.dtype.kind == "i" and (target == (-100 if ignored is None
                                                                                        else ignored)).any():
            found.append("ignored targets")
    found += [f"zero {name}" for name, value in bound.items()
              if "weight" in name and isinstance(value, np.ndarray) and (value == 0).any()]
    floating = next((value for value in args if isinstance(value, np.ndarray) and value.dtype.kind == "f"),
                    None)
    if floating is not None and np.unique(floating).size < floating.size:
        found.append("ties in the input")
    return found


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_every_shape_runs_a_plain_case(record):
    """Besides its edge cases, every shape of the grid runs the most common call: default
    keywords on data with no special values (special_values), so that a bug there cannot hide
    behind the edges (e.g. every K-dimensional nll_loss case holding ignored targets)."""
    missing = []
    for shape in record.shapes:
        cases = record.default_cases(shape)
        reasons = [special_values(record, *case.arguments()) for case in cases]
        if cases and all(reasons):
            held = ", ".join(f"{case.name} holds {why}" for case, why in zip(cases, reasons))
            missing.append(f"{shape.name}: {held}")
    assert not missing, f"{record.name}: shapes without a plain case:\n" + "\n".join(missing)
