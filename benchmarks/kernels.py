"""What the benchmarks time, built from the registry: for each record, size, dtype and
implementation, a call with its inputs ready, and the bytes its inputs and output hold."""
import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from parity_tests.harness import TORCH_DTYPES, present_devices, to_torch, unavailable

SIZE_NAMES = ("all",)
DTYPES = ("float32", "float64", "bfloat16")  # bfloat16: torch only (NumPy has no bfloat16)
IMPLEMENTATIONS = ("reference", "torch-1-thread", "torch-all-threads", "torch-cuda")
ELEMENTWISE_TARGET = 0.5  # of the copy bandwidth, for the elementwise losses without exp or log
NO_TRANSCENDENTAL = ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "margin_ranking_loss",
                     "hinge_embedding_loss")


def sizes_of(record, names):
    """{size name: dims} of the named sizes the record has ("all": every size of its own;
    "tiny": its first test shape)."""
    sizes = {**record.sizes, "tiny": record.shapes[0].dims}
    return {name: dims for name,
            dims in sizes.items() if name in names or ("all" in names and name != "tiny")}


@dataclass(frozen=True)
class Kernel:
    record: object
    size: str
    dims: tuple
    dtype: str
    implementation: str

    def __str__(self):
        return f"{self.record.name}-{self.size}-{self.dtype}-{self.implementation}"

    @property
    def group(self):
        """The pytest-benchmark group: one table per loss, size and dtype."""
        return f"{self.record.name} {self.size} {'x'.join(map(str, self.dims))} {self.dtype}"

    def prepare(self):
        """(a function of no arguments that makes the call, the bytes of its inputs and output)."""
        variant = self.record.variants[0]
        args, kwargs = self.record.build(np.random.default_rng(0), self.dims, variant,
                                         dict(self.record.bench_keywords))
        if self.implementation == "reference":
            cast = lambda v: v.astype(self.dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            args, kwargs = [cast(a) for a in args], {k: cast(v) for k, v in kwargs.items()}
            function = self.record.reference
        else:
            device = "cuda" if self.implementation == "torch-cuda" else "cpu"
            args = [to_torch(a, self.dtype, device, "contiguous") for a in args]
            kwargs = {k: to_torch(v, self.dtype, device, "contiguous") for k, v in kwargs.items()}
            function = self.record.torch_fn
        output = function(*args, **kwargs)
        moved = sum(nbytes(value) for value in (*args, *kwargs.values(), output))
        if self.implementation == "torch-cuda":
            def call():
                function(*args, **kwargs)
                torch.cuda.synchronize()
            return call, moved
        return lambda: function(*args, **kwargs), moved

    @contextlib.contextmanager
    def threads(self):
        """torch's intra-op threads for this implementation: 1, or all of them."""
        before = torch.get_num_threads()
        torch.set_num_threads(1 if self.implementation == "torch-1-thread" else before)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def nbytes(value):
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    return value.nbytes if isinstance(value, np.ndarray) else 0


def kernels(records, size_names=SIZE_NAMES, dtypes=DTYPES, implementations=IMPLEMENTATIONS):
    """Every Kernel the records, sizes, dtypes and implementations give on this machine."""
    present = present_devices()
    chosen = []
    for record in records:
        if unavailable(record):
            continue
        for size, dims in sizes_of(record, size_names).items():
            for dtype in dtypes:
                for implementation in implementations:
                    device = "cuda" if implementation == "torch-cuda" else "cpu"
                    if (implementation == "reference" and dtype not in ("float32", "float64")) \
                            or device not in present \
                            or dtype not in TORCH_DTYPES or dtype not in record.dtypes:
                        continue
                    chosen.append(Kernel(record, size, dims, dtype, implementation))
    return chosen
