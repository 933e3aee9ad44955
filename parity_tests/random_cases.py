"""Random cases drawn from the records' builders with Hypothesis: a random shape, a subset of
the grid's keywords (omitted ones test the defaults), a seed for the data, a layout. The
randomized tests, the audit and its --explore search draw them the same way."""
import functools
import json

import numpy as np
import torch
from hypothesis import assume
from hypothesis import strategies as st

from .harness import TORCH_DTYPES
from .records import BY_NAME
from .registry import LAYOUTS, Case


@functools.cache
def case_strategy(loss):
    """(dims, variant, keywords, seed, layout) in one draw: a random shape, a subset of the
    grid's keywords (omitted ones test the defaults), the seed of the case's data, a layout."""
    record = BY_NAME[loss]
    keywords = st.fixed_dictionaries({}, optional={key: st.sampled_from(values)
                                                   for key, values in record.keyword_grid.items()})
    return st.tuples(record.random_dims, st.sampled_from(record.variants), keywords,
                     st.integers(0, 2**32 - 1),
                     st.sampled_from(LAYOUTS))


def draw_case(data, record, dtype):
    """A random Case of the record, drawn from case_strategy (assumed to build)."""
    case = case_of(record, dtype,
                   *data.draw(case_strategy(record.name), label="dims, variant, keywords, seed, layout"))
    assume(case is not None)
    return case


def case_of(record, dtype, dims, variant, choice, seed, layout):
    """The Case of one draw, or None where the builder makes no call of it; its name holds the
    draw (named as the grid names its cases, so that the ledger's patterns match it) and
    `replay` its JSON, which rebuilds it."""
    build = lambda _: record.build(np.random.default_rng(seed), dims, variant, dict(choice))
    if build(None) is None:
        return None
    name = f"{variant}-random{dims}_{layout}-{choice}-seed{seed}{numerical_tags(record, build(None), dtype)}"
    indices = {key: record.keyword_grid[key].index(value) for key, value in choice.items()}
    return Case(record.name, name, build, layout=layout, variant=variant,
                replay=json.dumps([list(dims), variant, indices, seed, layout]))


def replayed(record, dtype, replay):
    """The Case of a draw's `replay` JSON (keywords as indices into the record's grid)."""
    dims, variant, indices, seed, layout = json.loads(replay)
    choice = {key: record.keyword_grid[key][index] for key, index in indices.items()}
    return case_of(record, dtype, tuple(dims), variant, choice, seed, layout)


def numerical_tags(record, arguments, dtype):
    """Properties of a case's data that known divergences depend on, as a suffix of its name, so
    that the ledger's patterns match randomized draws as they match the grid's edge cases:
    `-subnormal_squared_norm` where a floating input, rounded to `dtype`, has a squared norm
    over its last axis between 0 and the dtype's smallest normal number, and
    `-rounded_exponential_sum` (rounded_exponential_sum)."""
    tiny = torch.finfo(TORCH_DTYPES[dtype]).tiny
    for value in [*arguments[0], *arguments[1].values()]:
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim:
            rounded = torch.from_numpy(value).to(TORCH_DTYPES[dtype]).double().numpy()
            squared = np.sum(rounded ** 2, axis=-1)
            if np.any((squared > 0) & (squared < tiny)):
                return "-subnormal_squared_norm"
    return "-rounded_exponential_sum" if rounded_exponential_sum(record, arguments, dtype) else ""


def rounded_exponential_sum(record, arguments, dtype):
    """Whether a class-index cross_entropy call in float16 or bfloat16 moves by more than half its
    tolerance when each sample's sum of exponentials s = sum exp(x - x_max) is rounded to the
    dtype, as torch's CPU log_softmax does: |log round(s) - log s| per sample, weighted and
    reduced as the loss is (the ledger's cross_entropy_cpu_low_precision_rounded_exponential_sum:
    a confident prediction, s near 1, and a loss too small for that error)."""
    import reference

    from .tolerances_and_ledgers import tolerance_for
    if record.name != "cross_entropy" or dtype not in ("float16", "bfloat16"):
        return False
    (input, target), kwargs = arguments
    if target.dtype.kind != "i" or kwargs.get("label_smoothing") or input.size == 0:
        return False
    low = TORCH_DTYPES[dtype]
    rounded = lambda value: torch.from_numpy(np.asarray(value, dtype=np.float64)).to(low).double().numpy()
    x = rounded(input)
    axis = 0 if x.ndim == 1 else 1
    s = np.asarray(np.exp(x - x.max(axis=axis, keepdims=True)).sum(axis=axis))
    kept = target != kwargs.get("ignore_index", -100)
    weight = np.ones(x.shape[axis]) if kwargs.get("weight") is None else rounded(kwargs["weight"])
    moved = np.where(kept, np.abs(np.log(rounded(s)) - np.log(s)) * weight[np.where(kept, target, 0)], 0)
    reduction = kwargs.get("reduction", "mean")
    if reduction != "none":
        weights = np.where(kept, weight[np.where(kept, target, 0)], 0).sum()
        moved = moved.sum() / (weights if reduction == "mean" and weights else 1)
    with np.errstate(all="ignore"):
        weighted = {**kwargs, **({"weight": weight} if "weight" in kwargs else {})}
        loss = np.asarray(reference.cross_entropy(x, target, **weighted))
    allowed = tolerance_for(record.name, "cpu", dtype, "random").allowed(loss)
    return bool(np.any(moved > 0.5 * allowed))
