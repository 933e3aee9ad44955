"""Elementwise formulas evaluated one cache-sized block at a time.

At 1e7 elements every NumPy temporary is a round trip to main memory; taking the same formula
over blocks of BLOCK elements keeps its temporaries in cache, so only the inputs (and an
unreduced output) travel. The values are the same as the whole-array formula's; a sum adds
the blocks' pairwise sums. Arrays of different shapes, non-contiguous arrays and small
arrays take the formula whole.
"""
import numpy as np

BLOCK = 1 << 16  # elements: a block of each input and a few temporaries fit in a 1-2 MB L2 cache


def _blocked(arrays):
    """The arrays flattened, if blocks can be taken from them; else None."""
    first = arrays[0]
    if first.size <= BLOCK or any(a.shape != first.shape or not a.flags.c_contiguous for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


def map_blocks(formula, *arrays):
    """formula(*arrays), block by block into one output array, in the inputs' floating dtype
    (NumPy 1.x promotes 0-d float32 arrays with Python numbers to float64; NumPy 2 does not)."""
    dtype = np.result_type(*arrays)
    flat = _blocked(arrays)
    if flat is None:
        result = np.asarray(formula(*arrays))
        return result.astype(dtype, copy=False) if dtype.kind == "f" and result.dtype.kind == "f" else result
    out = np.empty(flat[0].size, dtype=formula(*(a[:1] for a in flat)).dtype)
    for start in range(0, out.size, BLOCK):
        out[start:start + BLOCK] = formula(*(a[start:start + BLOCK] for a in flat))
    return out.reshape(arrays[0].shape)


def sum_blocks(formula, *arrays, dtype):
    """formula(*arrays).sum(dtype=dtype), block by block, without the whole formula's array."""
    flat = _blocked(arrays)
    if flat is None:
        return formula(*arrays).sum(dtype=dtype)
    sums = [formula(*(a[start:start + BLOCK] for a in flat)).sum(dtype=dtype)
            for start in range(0, flat[0].size, BLOCK)]
    return np.array(sums, dtype=dtype).sum(dtype=dtype)
