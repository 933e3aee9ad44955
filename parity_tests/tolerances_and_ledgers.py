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


def as_list(pattern_or_patterns):
    return [pattern_or_patterns] if isinstance(pattern_or_patterns, str) else pattern_or_patterns


def any_match(value, patterns):
    """Whether a name matches a pattern or one of a list of fnmatch patterns."""
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in as_list(patterns))


class ToleranceOverride(dict):
    """An override of fixtures/tolerances.json (or of a record's `tolerances`): its JSON object,
    which names the loss, device, dtype, argument and case patterns it applies to (one or a list
    each, "*" where absent), its kind, rtol, atol and the reason."""

    def matches(self, loss, device, dtype, kind="value", argument=""):
        return self.get("kind", "value") == kind and all(
            any_match(value, self.get(key, "*"))
            for key, value in (("loss", loss), ("device", device), ("dtype", dtype), ("argument", argument)))

    @functools.cached_property
    def case_pattern(self):
        return re.compile("|".join(fnmatch.translate(p) for p in as_list(self.get("case", "*"))))

    @property
    def tolerance(self):
        return Tolerance(self["rtol"], self["atol"], self["id"], self.get("normwise", False))


class LedgerEntry(dict):
    """An entry of a ledger of known divergences (fixtures/known_divergences.json, and the
    compile ledger): its JSON object, whose `tests` are fnmatch patterns over check ids."""

    @functools.cached_property
    def pattern(self):
        """One regular expression for the entry's `tests`."""
        return re.compile("|".join(fnmatch.translate(pattern) for pattern in self["tests"]))

    def matches(self, check_id):
        return self.pattern.match(check_id) is not None

    def holds_for_this_torch(self):
        """Entries with "torch_since" hold from that version on (a divergence a later torch
        introduced, e.g. a kernel routing more cases), those with "torch_before" up to that
        version (a divergence it fixed)."""
        return self.get("torch_since", "0") <= TORCH_VERSION < self.get("torch_before", "9999")


TOLERANCES = load("tolerances.json")
TOLERANCES["overrides"] = [ToleranceOverride(override) for override in TOLERANCES["overrides"]]
LEDGER = [LedgerEntry(entry) for entry in load("known_divergences.json")["entries"]]
HOLDING = [entry for entry in LEDGER if entry.holds_for_this_torch()]  # the entries about this torch
COMPILE_LEDGER = [entry for entry in map(LedgerEntry, load("known_compile_divergences.json")["entries"])
                  if entry.holds_for_this_torch()]


DEFAULTS = {"value": ("defaults", ""), "gradient": ("gradient_defaults", " gradient"),
            "double_backward": ("double_backward_defaults", " double backward")}  # kind -> (table, label)


def tolerance_for(loss, device, dtype, case_name, kind="value", argument=""):
    """The first override of this kind ("value", "gradient" or "double_backward") whose loss,
    device, dtype, argument (of a gradient) and case patterns (one or a list each) all match, the
    record's own overrides first, else the dtype's default for the kind (torch.testing's for
    values; measured ones for gradients and second derivatives)."""
    for override in overrides_for(loss, device, dtype, kind, argument):
        if override.case_pattern.match(case_name):
            return override.tolerance
    table, label = DEFAULTS[kind]
    default = TOLERANCES[table][dtype]
    return Tolerance(default["rtol"], default["atol"], f"default {dtype}{label}",
                     default.get("normwise", False))


@functools.lru_cache(maxsize=None)
def overrides_for(loss, device, dtype, kind="value", argument=""):
    """The overrides of this kind matching a loss, device, dtype and argument, in order: looked
    up once per loss x device x dtype x argument, not once per case."""
    record = BY_NAME.get(loss)
    own = [ToleranceOverride(override, loss=loss) for override in (record.tolerances if record else ())]
    return [override for override in own + TOLERANCES["overrides"]
            if override.matches(loss, device, dtype, kind, argument)]


def divergences_for(test_id):
    """The ledger entries about this torch whose `tests` patterns match a check's id (case_ids)."""
    return [entry for entry in HOLDING if entry.matches(test_id)]


def compile_divergences_for(test_id, backend):
    """The known compile-only divergences (fixtures/known_compile_divergences.json) of a check's
    id under a torch.compile backend."""
    return [entry for entry in COMPILE_LEDGER
            if entry.matches(test_id) and any_match(backend, entry["backends"])]


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
