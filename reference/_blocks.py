"""Elementwise formulas evaluated one cache-sized block at a time.

At 1e7 elements every NumPy temporary is a round trip to main memory; taking the same formula
over blocks of BLOCK elements keeps its temporaries in cache, so only the inputs (and an
unreduced output) travel. The values are the same as the whole-array formula's; a sum adds
the blocks' pairwise sums. Arrays of different shapes, non-contiguous arrays and small
arrays take the formula whole.
"""
import numpy as np

BLOCK = 1 << 16  # elements: a block of each input and a few temporaries fit in a 1-2 MB L2 cache
SLICE = 4 * BLOCK  # elements of a slice a reduction along an axis takes at a time (along_slices)


def _blocks(formula, arrays, named):
    """(formula called on a part of the arrays (a slice of each, the same for every array), the
    number of elements) when blocks can be taken from them, else None: the positional arrays
    and the keyword ones (`named`) are sliced alike and handed to the formula as they came."""
    everything = [*arrays, *named.values()]
    first = everything[0]
    if first.size <= BLOCK or any(a.shape != first.shape or not a.flags.c_contiguous for a in everything):
        return None
    flat = [a.reshape(-1) for a in everything]

    def on(part):
        pieces = [a[part] for a in flat]
        return formula(*pieces[:len(arrays)], **dict(zip(named, pieces[len(arrays):])))
    return on, first.size


def map_blocks(formula, *arrays, **named):
    """formula(*arrays, **named), block by block into one output array, in the inputs' floating
    dtype (NumPy 1.x promotes 0-d float32 arrays with Python numbers to float64; NumPy 2 does not)."""
    dtype = np.result_type(*arrays, *named.values())
    blocks = _blocks(formula, arrays, named)
    if blocks is None:
        result = np.asarray(formula(*arrays, **named))
        return result.astype(dtype, copy=False) if dtype.kind == "f" and result.dtype.kind == "f" else result
    on, size = blocks
    out = np.empty(size, dtype=on(slice(0, 1)).dtype)
    for start in range(0, size, BLOCK):
        out[start:start + BLOCK] = on(slice(start, start + BLOCK))
    return out.reshape(arrays[0].shape)


def sum_blocks(formula, *arrays, dtype, **named):
    """formula(*arrays, **named).sum(dtype=dtype), block by block, without the whole formula's array."""
    blocks = _blocks(formula, arrays, named)
    if blocks is None:
        return formula(*arrays, **named).sum(dtype=dtype)
    on, size = blocks
    sums = [on(slice(start, start + BLOCK)).sum(dtype=dtype) for start in range(0, size, BLOCK)]
    return np.array(sums, dtype=dtype).sum(dtype=dtype)


def along_slices(reduction, x, axis):
    """reduction(x, axis), which reduces x along `axis` and keeps its other axes, taken over
    slices of x along another axis (about SLICE elements each) and joined: the same values, its
    temporaries (a shifted copy, its exponential) in cache instead of main memory."""
    if x.ndim < 2 or x.size <= SLICE:
        return reduction(x, axis)
    other = 1 if axis == 0 else 0
    step = max(1, SLICE * x.shape[other] // x.size)
    part = lambda start: x[(slice(None),) * other + (slice(start, start + step),)]
    return np.concatenate([reduction(part(start), axis) for start in range(0, x.shape[other], step)],
                          axis=other - (other > axis))
