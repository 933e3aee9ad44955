"""The reference's NumPy kernels against torch (1 thread, all threads, CUDA when present), one
pytest-benchmark group per loss x size x dtype, and the memory-bandwidth probe that bounds the
elementwise kernels. `python -m benchmarks.report` turns the saved JSON into a table and a chart."""
import numpy as np
import pytest
import torch

from parity_tests.records import RECORDS
from parity_tests.runner import skip_if_not_implemented

from .kernels import DTYPES, kernels

BANDWIDTH_ELEMENTS = {"tiny": [10**4], "small": [10**4], "medium": [10**6], "large": [10**7],
                      "all": [10**4, 10**6, 10**7]}


def pytest_generate_tests(metafunc):
    size_names = [s.strip() for s in metafunc.config.getoption("--bench-sizes").split(",") if s.strip()]
    if "kernel" in metafunc.fixturenames:
        metafunc.parametrize("kernel", kernels(RECORDS, size_names), ids=str)
    if "elements" in metafunc.fixturenames:
        metafunc.parametrize("elements",
                             sorted({n for s in size_names for n in BANDWIDTH_ELEMENTS.get(s, [])}))


def test_loss(kernel, benchmark):
    try:
        call, moved = kernel.prepare()  # (which calls it once) a kernel this torch lacks: a visible skip
    except RuntimeError as error:
        skip_if_not_implemented(error, f"{kernel.record.name} in {kernel.dtype} by {kernel.implementation}")
    benchmark.group = kernel.group
    benchmark.extra_info.update(loss=kernel.record.name, size=kernel.size, dims=list(kernel.dims),
                                dtype=kernel.dtype, implementation=kernel.implementation, bytes=moved)
    with kernel.threads(), torch.inference_mode():
        benchmark(call)


@pytest.mark.parametrize("operation", ["copy", "add"])
@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "bfloat16"])
def test_bandwidth(operation, dtype, elements, benchmark):
    """A streaming copy (read n, write n) and add (read 2n, write n) in NumPy, one core: the
    memory-bandwidth ceiling no elementwise kernel beats."""
    a, b, out = (np.random.default_rng(i).random(elements).astype(dtype) for i in range(3))
    call = (lambda: np.copyto(out, a)) if operation == "copy" else (lambda: np.add(a, b, out=out))
    benchmark.group = f"bandwidth {elements:.0e} {dtype}"
    benchmark.extra_info.update(operation=operation, dtype=dtype, elements=elements,
                                bytes=(2 if operation == "copy" else 3) * a.nbytes)
    benchmark(call)
