"""What a run checks against the reference, and on which devices, dtypes and cases: one
`ParityRun` per pytest session, held in `config.stash` (never by rewriting the registry).

The implementation under test is torch eager (`--impl torch`, the default), torch.compile of
torch's functions with a backend (`--compile inductor`, see compiled.py), or a candidate module
with torch.nn.functional's names and signatures (`--impl mypkg.losses`), called on torch
tensors. Its `label` is the word every message uses for its values ("torch 0.4256" or
"candidate_losses 0.4256, reference 1.5431").
"""
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Optional

import pytest


@dataclass(frozen=True)
class UnderTest:
    name: str  # "torch", or the candidate module's dotted name
    module: Optional[ModuleType] = None  # None: torch eager itself
    ledger: bool = True  # torch's known divergences classify mismatches at their cases (--ledger)
    backend: str = ""  # torch.compile's backend under --compile: torch's functions, compiled

    @property
    def is_torch(self):
        return self.module is None and not self.backend

    @property
    def runs_torch(self):
        """Whether it calls torch's own functions (eager or compiled): their availability is torch's."""
        return self.module is None

    @property
    def label(self):
        return "torch" if self.is_torch else "compiled" if self.backend else self.name.rsplit(".", 1)[-1]

    def function(self, record):
        """The callable checked for a record: torch's, torch's compiled, or the candidate's of the
        same name (None where the candidate has none)."""
        if self.backend:
            from .compiled import compiled
            return None if record.torch_fn is None else compiled(record.torch_fn, self.backend)
        return record.torch_fn if self.is_torch else getattr(self.module, record.reference.__name__, None)

    def qualified_name(self, record):
        """How a message names the function called: torch.nn.functional.cross_entropy, the
        compiled one, or the candidate's candidate_losses.cross_entropy."""
        function = record.torch_fn if self.runs_torch else self.function(record)
        if self.is_torch:
            return f"{function.__module__}.{function.__name__}"
        if self.backend:
            return f"torch.compile({function.__module__}.{function.__name__}, backend={self.backend!r})"
        return f"{self.label}.{record.reference.__name__}"

    def missing(self, record, kwargs=(), variant=""):
        """Why this implementation cannot run the record (or a call with these keywords, of this
        variant), or ''. A candidate runs every keyword and variant whatever the torch version
        (it is not torch's function)."""
        if self.runs_torch:
            from .harness import unavailable
            return unavailable(record, kwargs, variant)
        if self.function(record) is None:
            return f"{record.name}: not covered: {self.name} has no {record.reference.__name__}"
        return ""

    def describe_version(self):
        """'torch 2.13.0+cpu', or the candidate's name on its torch."""
        import torch
        return f"torch {torch.__version__}" if self.is_torch else f"{self.name} on torch {torch.__version__}"

    def describe(self, records):
        import torch
        if self.is_torch:
            return f"torch {torch.__version__} (torch.nn.functional)"
        if self.backend:
            return (f"torch.compile(backend={self.backend!r}, dynamic=True, fullgraph=True) of torch "
                    f"{torch.__version__}'s functions; a call that ran no compiled graph fails")
        not_covered = [record.name for record in records if self.function(record) is None]
        ledger = "torch's known divergences recognised" if self.ledger else \
            "every divergence counted as its own"
        return (f"{self.name} ({self.module.__file__}) on torch {torch.__version__} tensors; {ledger}; "
                f"not covered: {', '.join(not_covered) or 'none'}")


def load_under_test(name, ledger="torch", backend=""):
    """The UnderTest that `--impl NAME --ledger torch|none` (or `--compile BACKEND`) asks for."""
    if backend:
        if name != "torch":
            raise pytest.UsageError("--compile compiles torch's functions: give it without --impl")
        return UnderTest(f"torch.compile[{backend}]", None, ledger == "torch", backend)
    return UnderTest(name, None if name == "torch" else importlib.import_module(name), ledger == "torch")


@dataclass(frozen=True)
class ParityRun:
    """The session's choices: what is under test, and which devices, dtypes and cases."""

    under_test: UnderTest
    devices: tuple  # the requested devices that are present
    requested_devices: tuple
    dtypes: tuple
    case_patterns: tuple = field(default=())


PARITY_RUN = pytest.StashKey[ParityRun]()

# --transform NAME -> (the fixture its items fill, the runner.CaseChecks method that checks a case,
# the kind of item (double_backward: the grid cases alone), the input dtypes)
TRANSFORMS = {"double-backward": ("second_derivative_cases", "second_derivatives",
                                  "double_backward", ("float64",)),
              "autocast": ("autocast_cases", "autocast_values", "value", ("float32", "bfloat16")),
              "vmap": ("vmap_cases", "vmap_checks", "value", ("float64", "float32"))}


def parity_run(config):
    return config.stash[PARITY_RUN]
