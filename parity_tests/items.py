"""What a batched test item does with its cases' outcomes: the ledger of known divergences,
the rows of the measured table, and one failure that lists every failing case."""
import fnmatch
import time

import pytest

from .harness import selected_cases
from .measured_table import parity_row
from .tables import divergences_for

SHOWN_IN_FULL = 3  # failing cases whose whole message a failing item shows


def item_params(config, records):
    """(record, device, dtype, cases) for every supported combination the options select
    (--device, --dtype, --case); the cases this torch cannot run (a newer feature, a missing
    function) form an item of their own, skipped with the reason."""
    groups = {}
    for record, case, device, dtype, why in selected_cases(records, config.parity_devices, config.parity_dtypes):
        if not config.parity_cases or any(fnmatch.fnmatchcase(case.name, p) for p in config.parity_cases):
            groups.setdefault((record.name, device, dtype, why), (record, []))[1].append(case)
    return [pytest.param(record, device, dtype, cases, id=f"{name}-{device}-{dtype}" + ("-skipped" if why else ""),
                         marks=[pytest.mark.skip(reason=why)] if why else [])
            for (name, device, dtype, why), (record, cases) in groups.items()]


class ItemReport:
    """Collects the outcomes of one item's cases ("passed", "mismatch" or "error")."""

    def __init__(self, request):
        self.request = request
        self.ledger_applies = request.config.parity_impl == "torch"  # the ledger is torch's
        self.rows, self.problems, self.cases = {}, [], 0
        self.started = time.perf_counter()

    def add(self, case_id, case_name, label, device, dtype, tolerance, outcome, measured, message):
        """One comparison. A case in the ledger must still diverge (a mismatch; an error only
        where its entries say torch raises, torch_raises: true), unless its entry says torch's
        value is arbitrary (strict: false)."""
        known = divergences_for(case_id) if self.ledger_applies else []
        row = self.rows.setdefault((label, tolerance.source), parity_row(label, device, dtype, tolerance))
        row["cases"] += 1
        row["ids"].append(case_id)
        if known and (outcome == "mismatch" or outcome == "error" and all(e.get("torch_raises") for e in known)):
            row["xfailed"] += 1
            return
        if outcome == "passed" and any(entry.get("strict", True) for entry in known):
            message = (f"torch now agrees with the reference on a known divergence "
                       f"({', '.join(entry['id'] for entry in known)}): update fixtures/known_divergences.json"
                       f"\n  rerun: pytest '{self.request.node.nodeid}' --case '{case_name}'")
        if message is not None:
            row["failed"] += 1
            self.problems.append((case_name, message))
        measured = measured or {"abs": float("inf"), "rel": float("inf"), "fraction": float("inf")}
        for key in ("abs", "rel", "fraction"):
            row[key] = max(row[key], measured[key])

    def finish(self, cases, what):
        """Report the rows and the rate; fail listing every failing case, the first in full."""
        for row in self.rows.values():
            self.request.node.user_properties.append(("parity", row))
        self.request.node.user_properties.append(("parity_seconds", (cases, time.perf_counter() - self.started)))
        if self.problems:
            failing = list(dict.fromkeys(name for name, _ in self.problems))  # a case fails once per argument
            shown = "\n\n".join(message for _, message in self.problems[:SHOWN_IN_FULL])
            pytest.fail(f"{len(failing)} of {cases} cases of {what} failed; the first "
                        f"{min(len(self.problems), SHOWN_IN_FULL)} failures in full:\n\n{shown}\n\n"
                        f"all failing cases: " + ", ".join(failing), pytrace=False)
