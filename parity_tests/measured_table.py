"""The table every run ends with: per loss x device x dtype x tolerance, the number of cases,
the largest errors measured and the tolerance that applied. Built from the test reports, so it
is complete under pytest-xdist too."""
import json
from collections import defaultdict

from .runner import BETTER, NEW, SHARED, UNSUPPORTED
from .tolerances_and_ledgers import LEDGER, write_atomically

COLUMNS = ("loss", "device", "dtype", "tolerance", "rtol", "atol", "cases", "max abs err", "max rel err",
           "worst % of tol", "new divergences", "torch's known divergences", "agrees where torch diverges",
           "unsupported", "notes")
COUNTED = (NEW, SHARED, BETTER, UNSUPPORTED)  # the verdicts with a column, in COLUMNS' order


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
    """A pytest plugin: collects the `parity` properties of test reports (rows of the items, and
    `notes` of other tests such as a candidate's stricter bad calls), prints the table."""

    def __init__(self, path, under_test):
        self.path, self.under_test = path, under_test
        self.rows = defaultdict(lambda: {"cases": 0, "abs": 0.0, "rel": 0.0, "fraction": 0.0, "notes": [],
                                         **dict.fromkeys(COUNTED, 0)})
        self.seen_ids = []
        self.eager_unledgered = []  # under --compile: checks compiled torch misses as eager does
        self.rates = defaultdict(lambda: [0, 0.0])  # values / gradients -> [checks, seconds]
        self.compile_stats = {}  # process id -> its torch.compile counters (cumulative), under --compile

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == "parity":
                self.add(value)
            elif key == "compile_stats":
                self.compile_stats[value["pid"]] = value
            elif key == "parity_seconds":
                what, checks, seconds = value
                self.rates[what][0] += checks
                self.rates[what][1] += seconds

    def add(self, measured):
        """Fold in one item's row for a loss x device x dtype x tolerance."""
        row = self.rows[(measured["loss"], measured["device"], measured["dtype"], measured["tolerance"],
                         measured["rtol"], measured["atol"])]
        for key in ("cases", *COUNTED):
            row[key] += measured.get(key, 0)
        for key in ("abs", "rel", "fraction"):
            row[key] = max(row[key], measured.get(key, 0.0))
        row["notes"] = sorted({*row["notes"], *measured.get("notes", [])})
        self.seen_ids += measured.get("ids", [])
        self.eager_unledgered += measured.get("eager_unledgered", [])

    def records(self):
        return [dict(zip(COLUMNS, (*key, row["cases"], row["abs"], row["rel"], 100 * row["fraction"],
                                   *(row[verdict] for verdict in COUNTED), "; ".join(row["notes"]))))
                for key, row in sorted(self.rows.items())]

    def markdown(self):
        return markdown_table(self.records())

    def support_records(self):
        """The kernel support of the implementation: each loss x device x dtype where it lacks
        some (checks 'unsupported'), with its own message, e.g. torch's '"nll_loss_out_frame" not
        implemented for 'Half''. A torch that gains or loses a kernel shows here."""
        found = defaultdict(lambda: [0, 0, set()])
        for (loss, device, dtype, *_), row in self.rows.items():
            counts = found[(loss, device, dtype)]
            counts[0] += row[UNSUPPORTED]
            counts[1] += row["cases"]
            counts[2].update(note.removeprefix("unsupported: ") for note in row["notes"]
                             if note.startswith("unsupported: "))
        return [{"loss": loss, "device": device, "dtype": dtype,
                 "unsupported checks": f"{missing} of {cases}",
                 "message": sorted(messages)[0]} for (loss, device, dtype), (missing, cases, messages)
                in sorted(found.items()) if missing]

    def unmatched_ledger_entries(self):
        return [entry["id"] for entry in LEDGER if not any(map(entry.matches, self.seen_ids))]

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        terminalreporter.section(f"measured parity table of {self.under_test.name}: "
                                 "largest error per loss x device x dtype, and each check's verdict")
        terminalreporter.write(self.markdown())
        write_atomically(self.path, self.markdown())
        write_atomically(self.path.with_suffix(".json"), json.dumps(self.records(), indent=1))
        terminalreporter.write_line(f"written to {self.path} and {self.path.with_suffix('.json')}")
        new, shared, better, unsupported = (sum(row[key] for row in self.rows.values()) for key in COUNTED)
        checks = sum(row["cases"] for row in self.rows.values())
        terminalreporter.write_line(
            f"{checks} checks of {self.under_test.name}: {checks - new - shared - better - unsupported} "
            f"agree with the reference, {new} new divergences, {shared} share torch's known divergences, "
            f"{better} agree where torch diverges, {unsupported} unsupported")
        support = self.support_records()
        if support:
            support_path = self.path.with_name("support-table.md")
            terminalreporter.section(f"kernel support of {self.under_test.describe_version()}: what it lacks")
            terminalreporter.write(markdown_table(support))
            write_atomically(support_path, markdown_table(support))
            terminalreporter.write_line(f"written to {support_path}")
        for what, (count, seconds) in sorted(self.rates.items()):
            terminalreporter.write_line(f"{count} {what} checks in {seconds:.1f} s inside the items: "
                                        f"{count / max(seconds, 1e-9):.0f} checks/s per process")
        if self.compile_stats:
            total = lambda key: sum(stats[key] for stats in self.compile_stats.values())
            terminalreporter.write_line(
                f"torch.compile: {total('graphs')} graphs compiled in {total('compile_seconds'):.0f} s "
                f"({len(self.compile_stats)} processes), {total('calls')} calls "
                f"({total('calls') / max(total('graphs'), 1):.1f} "
                f"a graph), {total('graph_runs')} compiled-graph runs, {total('resets')} dynamo resets "
                "(a call that ran no graph, run again)")
        if self.eager_unledgered:
            terminalreporter.write_line(
                f"{len(self.eager_unledgered)} checks miss the reference with torch eager's own output "
                "and no ledger entry names them (torch's divergence on the compile run's own data, not "
                "compile's; for fixtures/known_divergences.json or a tolerance with its reason): "
                + ", ".join(sorted(self.eager_unledgered)))
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
        terminalreporter.section(f"drift of torch {torch.__version__} against {self.golden}: "
                                 "per loss x dtype")
        terminalreporter.write(markdown_table(rows))
        write_atomically(self.path, markdown_table(rows))
        write_atomically(self.path.with_suffix(".json"), json.dumps(rows, indent=1))
        terminalreporter.write_line(f"written to {self.path} and {self.path.with_suffix('.json')}")
