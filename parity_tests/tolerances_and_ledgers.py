"""The data files of fixtures/: tolerances and the ledger of known torch divergences."""
import fnmatch
import functools
import json
import os
import re
from pathlib import Path

from .harness import TORCH_VERSION, Tolerance
from .registry import BY_NAME

# fixtures/ beside the package in a checkout; inside it (parity_tests/fixtures) in an installed wheel
FIXTURES = next(path for path in (Path(__file__).resolve().parent / "fixtures",
                                  Path(__file__).resolve().parent.parent / "fixtures") if path.is_dir())


def load(name):
    return json.loads((FIXTURES / name).read_text())


TOLERANCES = load("tolerances.json")
LEDGER = load("known_divergences.json")["entries"]


DEFAULTS = {"value": ("defaults", ""), "gradient": ("gradient_defaults", " gradient"),
            "double_backward": ("double_backward_defaults", " double backward")}  # kind -> (table, label)


def tolerance_for(loss, device, dtype, case_name, kind="value", argument=""):
    """The first override of this kind ("value", "gradient" or "double_backward") whose loss,
    device, dtype, argument (of a gradient) and case patterns (one or a list each) all match, the
    record's own overrides first, else the dtype's default for the kind (torch.testing's for
    values; measured ones for gradients and second derivatives)."""
    for case_pattern, tolerance in overrides_for(loss, device, dtype, kind, argument):
        if case_pattern.match(case_name):
            return tolerance
    table, label = DEFAULTS[kind]
    default = TOLERANCES[table][dtype]
    return Tolerance(default["rtol"], default["atol"], f"default {dtype}{label}",
                     default.get("normwise", False))


@functools.lru_cache(maxsize=None)
def overrides_for(loss, device, dtype, kind="value", argument=""):
    """(compiled case pattern, Tolerance) of the overrides of this kind matching a loss, device,
    dtype and argument, in order: looked up once per loss x device x dtype x argument, not once
    per case."""
    record = BY_NAME.get(loss)
    own = [{**override, "loss": loss} for override in (record.tolerances if record else ())]
    return [(re.compile("|".join(fnmatch.translate(p) for p in as_list(override.get("case", "*")))),
             Tolerance(override["rtol"], override["atol"], override["id"], override.get("normwise", False)))
            for override in own + TOLERANCES["overrides"] if override.get("kind", "value") == kind
            and all(any(fnmatch.fnmatchcase(value, pattern) for pattern in as_list(override.get(key, "*")))
                    for key,
                    value in (("loss", loss), ("device", device), ("dtype", dtype), ("argument", argument)))]


def as_list(pattern_or_patterns):
    return [pattern_or_patterns] if isinstance(pattern_or_patterns, str) else pattern_or_patterns


def divergences_for(test_id):
    """The ledger entries whose `tests` patterns match a check's id (case_ids)."""
    return [entry for entry, pattern in LEDGER_PATTERNS if pattern.match(test_id)]


def holds_for_this_torch(entry):
    """Whether a ledger entry is about this torch: entries with "torch_since" hold from that
    version on (a divergence a later torch introduced, e.g. a kernel routing more cases)."""
    return TORCH_VERSION >= entry.get("torch_since", "0")


def tests_pattern(entry):
    """One regular expression for an entry's `tests` (fnmatch patterns over check ids)."""
    return re.compile("|".join(fnmatch.translate(pattern) for pattern in entry["tests"]))


LEDGER_PATTERNS = [(entry, tests_pattern(entry)) for entry in LEDGER if holds_for_this_torch(entry)]


COMPILE_LEDGER = [entry for entry in load("known_compile_divergences.json")["entries"]
                  if holds_for_this_torch(entry)]
COMPILE_PATTERNS = [(entry, tests_pattern(entry)) for entry in COMPILE_LEDGER]


def compile_divergences_for(test_id, backend):
    """The known compile-only divergences (fixtures/known_compile_divergences.json) of a check's
    id under a torch.compile backend."""
    return [entry for entry, pattern in COMPILE_PATTERNS if pattern.match(test_id)
            and any(fnmatch.fnmatchcase(backend, name) for name in entry["backends"])]


def arbitrary(test_id):
    """Whether the ledger says torch's value for this case is arbitrary (uninitialised memory,
    an entry with "strict": false), so no value of it can be compared or recorded."""
    return any(not entry.get("strict", True) for entry in divergences_for(test_id))


def write_atomically(path, data):
    """Write text or bytes to `path` through a temporary file beside it, so that an interrupted
    run leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(partial, path)
