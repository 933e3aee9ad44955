"""The table every run ends with: per loss x device x dtype x tolerance, the number of cases,
the largest errors measured and the tolerance that applied. Built from the test reports, so it
is complete under pytest-xdist too."""
import fnmatch
import json
import os
from collections import defaultdict

from .tables import LEDGER

COLUMNS = ("loss", "device", "dtype", "tolerance", "rtol", "atol", "cases", "max abs err",
           "max rel err", "worst % of tol", "failed", "known divergences")


class MeasuredTablePlugin:
    """A pytest plugin: collects the `parity` properties of test reports, prints the table."""

    def __init__(self, path):
        self.path = path
        self.rows = defaultdict(lambda: {"cases": 0, "abs": 0.0, "rel": 0.0, "fraction": 0.0,
                                         "failed": 0, "xfailed": 0})
        self.seen_ids = []

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        for key, value in report.user_properties:
            if key == "parity":
                self.add(value, outcome)
                self.seen_ids.append(value["id"])

    def add(self, measured, outcome):
        row = self.rows[(measured["loss"], measured["device"], measured["dtype"], measured["tolerance"],
                         measured["rtol"], measured["atol"])]
        row["cases"] += 1
        if outcome == "xfailed":
            row["xfailed"] += 1
            return
        row["failed"] += outcome == "failed"
        for key in ("abs", "rel", "fraction"):
            row[key] = max(row[key], measured[key])

    def records(self):
        return [dict(zip(COLUMNS, (*key, row["cases"], row["abs"], row["rel"], 100 * row["fraction"],
                                   row["failed"], row["xfailed"])))
                for key, row in sorted(self.rows.items())]

    def markdown(self):
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for record in self.records():
            cells = [f"{value:.2e}" if isinstance(value, float) and column != "worst % of tol"
                     else f"{value:.1f}" if isinstance(value, float) else str(value)
                     for column, value in record.items()]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def unmatched_ledger_entries(self):
        return [entry["id"] for entry in LEDGER
                if not any(fnmatch.fnmatchcase(test_id, pattern)
                           for pattern in entry["tests"] for test_id in self.seen_ids)]

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        terminalreporter.section("measured parity table: largest error per loss x device x dtype")
        terminalreporter.write(self.markdown())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((self.path, self.markdown()),
                           (self.path.with_suffix(".json"), json.dumps(self.records(), indent=1))):
            partial = path.with_name(path.name + ".partial")
            partial.write_text(text)
            os.replace(partial, path)
        terminalreporter.write_line(f"written to {self.path} and {self.path.with_suffix('.json')}")
        unmatched = self.unmatched_ledger_entries()
        if unmatched:
            terminalreporter.write_line("ledger entries that matched no test in this run "
                                        "(another device, dtype or selection): " + ", ".join(unmatched))
