"""The table every run ends with: per loss x device x dtype x tolerance, the number of cases,
the largest errors measured and the tolerance that applied. Built from the test reports, so it
is complete under pytest-xdist too."""
import fnmatch
import json
from collections import defaultdict

from .tables import LEDGER, write_atomically

COLUMNS = ("loss", "device", "dtype", "tolerance", "rtol", "atol", "cases", "max abs err",
           "max rel err", "worst % of tol", "failed", "known divergences")


def parity_row(loss, device, dtype, tolerance):
    """An empty row of the measured table, which a test fills in (cases, errors, ids) and
    reports as its ("parity", row) user property."""
    return {"loss": loss, "device": device, "dtype": dtype, "tolerance": tolerance.source, "rtol": tolerance.rtol,
            "atol": tolerance.atol, "cases": 0, "abs": 0.0, "rel": 0.0, "fraction": 0.0, "failed": 0,
            "xfailed": 0, "ids": []}


def markdown_table(records, number="{:.2e}"):
    """A Markdown table of dicts with the same keys: floats in columns named with % as 12.3,
    other floats in the `number` format."""
    if not records:
        return ""
    columns = list(records[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for record in records:
        cells = [(f"{value:.1f}" if "%" in column else number.format(value)) if isinstance(value, float)
                 else str(value) for column, value in record.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


class MeasuredTablePlugin:
    """A pytest plugin: collects the `parity` properties of test reports, prints the table."""

    def __init__(self, path):
        self.path = path
        self.rows = defaultdict(lambda: {"cases": 0, "abs": 0.0, "rel": 0.0, "fraction": 0.0,
                                         "failed": 0, "xfailed": 0})
        self.seen_ids = []
        self.cases_and_seconds = []  # (cases, seconds) of each parity item

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == "parity":
                self.add(value)
            elif key == "parity_seconds":
                self.cases_and_seconds.append(value)

    def add(self, measured):
        """Fold in one item's row for a loss x device x dtype x tolerance."""
        row = self.rows[(measured["loss"], measured["device"], measured["dtype"], measured["tolerance"],
                         measured["rtol"], measured["atol"])]
        for key in ("cases", "failed", "xfailed"):
            row[key] += measured[key]
        for key in ("abs", "rel", "fraction"):
            row[key] = max(row[key], measured[key])
        self.seen_ids += measured["ids"]

    def records(self):
        return [dict(zip(COLUMNS, (*key, row["cases"], row["abs"], row["rel"], 100 * row["fraction"],
                                   row["failed"], row["xfailed"])))
                for key, row in sorted(self.rows.items())]

    def markdown(self):
        return markdown_table(self.records())

    def unmatched_ledger_entries(self):
        return [entry["id"] for entry in LEDGER
                if not any(fnmatch.fnmatchcase(test_id, pattern)
                           for pattern in entry["tests"] for test_id in self.seen_ids)]

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        terminalreporter.section("measured parity table: largest error per loss x device x dtype")
        terminalreporter.write(self.markdown())
        write_atomically(self.path, self.markdown())
        write_atomically(self.path.with_suffix(".json"), json.dumps(self.records(), indent=1))
        terminalreporter.write_line(f"written to {self.path} and {self.path.with_suffix('.json')}")
        cases = sum(n for n, _ in self.cases_and_seconds)
        seconds = sum(t for _, t in self.cases_and_seconds)
        failed, known = (sum(row[key] for row in self.rows.values()) for key in ("failed", "xfailed"))
        terminalreporter.write_line(
            f"{cases} parity cases: {cases - failed - known} passed, {failed} failed, {known} known torch "
            f"divergences; {seconds:.1f} s inside the parity items, {cases / max(seconds, 1e-9):.0f} cases/s per process")
        unmatched = self.unmatched_ledger_entries()
        if unmatched:
            terminalreporter.write_line("ledger entries that matched no test in this run "
                                        "(another device, dtype or selection): " + ", ".join(unmatched))


class DriftTablePlugin:
    """A pytest plugin for --golden runs: collects the `golden` rows of test reports (one per
    loss x dtype, see golden.summarize) and prints the drift table against the golden torch."""

    def __init__(self, path, golden):
        self.path, self.golden = path, golden
        self.rows = []

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            self.rows += [value for key, value in report.user_properties if key == "golden"]

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        import torch
        rows = sorted(self.rows, key=lambda row: (row["loss"], row["dtype"]))
        terminalreporter.section(f"drift of torch {torch.__version__} against {self.golden}: per loss x dtype")
        terminalreporter.write(markdown_table(rows))
        write_atomically(self.path, markdown_table(rows))
        write_atomically(self.path.with_suffix(".json"), json.dumps(rows, indent=1))
        terminalreporter.write_line(f"written to {self.path} and {self.path.with_suffix('.json')}")
