"""The suite on several torch versions: one cached environment per version (environments.py),
the whole suite run in each from this checkout, and one compatibility table of what each did.

    python -m parity_tests.matrix --torch 2.2.2,2.6.0,2.13.0,2.15.0 [--out reports/compatibility.md]

The table has, per version: the test outcomes (passed, failed, errors, skips by reason); the
checks' verdicts from the measured table; the kernels torch lacks (loss x device x dtype, with
torch's message), so that a version that gains or loses one shows; and the convention each
version took where the mathematics leaves a choice (a hinge's kink), so that a change between
versions reads as a change of convention. Each run's own files (log, junit XML, measured table)
are kept under reports/matrix/torch-<version>/.
"""
import argparse
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter

from .environments import ROOT, environment, release, versions_of

VERDICT_COLUMNS = ("new divergences", "torch's known divergences",
                   "agrees where torch diverges", "unsupported")
KINK_NOTE = "at a hinge's kink "


def run_suite(python, folder, workers, pytest_args):
    """The suite in the environment of `python`, from this checkout: (returncode, seconds)."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-rfEs",
               *(["-n", str(workers)] if workers else []), "--junitxml", str(folder / "junit.xml"),
               "--parity-table", str(folder / "parity-table.md"), *pytest_args]
    started = time.perf_counter()
    with open(folder / "pytest.log", "w") as log:
        done = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return done.returncode, time.perf_counter() - started


def outcomes(junit):
    """Counts of passed, failed, errors, skipped and xfailed tests, the skips' reasons and the
    failing tests' ids, from a junit XML file."""
    counts, skips, failing = Counter(), Counter(), []
    for case in ElementTree.parse(junit).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag: child for child in case}
        if "failure" in kinds or "error" in kinds:
            kind = "failed" if "failure" in kinds else "errors"
            counts[kind] += 1
            failing.append(test_id)
        elif "skipped" in kinds:
            skipped = kinds["skipped"]
            if skipped.get("type") == "pytest.xfail":
                counts["xfailed"] += 1
            else:
                counts["skipped"] += 1
                skips[skip_reason(skipped.get("message", ""))] += 1
        else:
            counts["passed"] += 1
    return counts, skips, failing


def skip_reason(message):
    """A skip's reason without the location pytest puts before it."""
    return re.sub(r"^.*?:\d+: ", "", message).strip()


def measured_rows(folder):
    table = folder / "parity-table.json"
    return json.loads(table.read_text()) if table.is_file() else []


def summary(version, found, returncode, seconds, counts, rows):
    checks = sum(row["cases"] for row in rows)
    verdicts = {column: sum(row[column] for row in rows) for column in VERDICT_COLUMNS}
    return {"torch asked": version, **found, "result": "green" if returncode == 0 else f"exit {returncode}",
            "minutes": round(seconds / 60, 1), **{kind: counts.get(kind, 0) for kind in
                                                  ("passed", "failed", "errors", "skipped", "xfailed")},
            "checks": checks, "agree": checks - sum(verdicts.values()), **verdicts}


def support_rows(runs):
    """Per loss x device x dtype where some version lacks a kernel: each version's cell ("yes",
    "no", "k of n", or "not run") and torch's message."""
    keys = sorted({(row["loss"], row["device"], row["dtype"]) for run in runs for row in run["rows"]
                   if row["unsupported"]})
    table = []
    for loss, device, dtype in keys:
        cells, message = {}, ""
        for run in runs:
            rows = [row for row in run["rows"]
                    if (row["loss"], row["device"], row["dtype"]) == (loss, device, dtype)]
            cases, missing = sum(row["cases"] for row in rows), sum(row["unsupported"] for row in rows)
            cells[f"torch {run['torch']}"] = ("not run" if not rows else "yes" if not missing else
                                              "no" if missing == cases else f"{cases - missing} of {cases}")
            notes = [note for row in rows for note in row["notes"].split("; ")
                     if note.startswith("unsupported: ")]
            message = message or (notes[0].removeprefix("unsupported: ") if notes else "")
        table.append({"loss": loss, "device": device, "dtype": dtype, **cells, "torch's message": message})
    return table


def convention_rows(runs):
    """Per loss x device (and the dtypes where the versions chose alike) at a point the
    mathematics leaves open: the choice each version made (the measured table's notes), and
    whether it changed between versions."""
    keys = sorted({(row["loss"], row["device"], row["dtype"]) for run in runs for row in run["rows"]
                   if KINK_NOTE in row["notes"]})
    grouped = {}
    for loss, device, dtype in keys:
        choices = {}
        for run in runs:
            notes = [note for row in run["rows"]
                     if (row["loss"], row["device"], row["dtype"]) == (loss, device, dtype)
                     for note in row["notes"].split("; ") if KINK_NOTE in note]
            choice = notes[0].split(KINK_NOTE)[1].split(" ", 1)[1] if notes else "not run"
            choices[f"torch {run['torch']}"] = choice
        grouped.setdefault((loss, device, tuple(choices.items())), []).append(dtype)
    table = []
    for (loss, device, choices), dtypes in grouped.items():
        made = [choice for _, choice in choices if choice != "not run"]
        change = " -> ".join(dict.fromkeys(made)) if len(set(made)) > 1 else ""
        table.append({"loss": loss, "device": device, "dtypes": ", ".join(dtypes), **dict(choices),
                      "convention change": change or "none"})
    return table


def markdown(rows):
    if not rows:
        return "(none)\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def report(runs, command):
    """The compatibility table in Markdown."""
    changes = sorted({(row["loss"].split(" ")[0], row["convention change"]) for row in convention_rows(runs)
                      if row["convention change"] != "none"})
    parts = [f"# Compatibility: the suite on {len(runs)} torch versions\n\n",
             f"Measured with `{command}` on {time.strftime('%Y-%m-%d')} (CPU; the same checkout in each "
             "version's environment). Verdict columns count the checks of the measured table.\n\n",
             "## Outcomes\n\n", markdown([run["summary"] for run in runs]),
             "\n## Conventions: where the mathematics leaves a choice\n\n",
             "At a hinge's kink either one-sided derivative is right (docs/what-is-checked.md, Backward "
             "parity); each version's choice, per row of the measured table. A change is a change of "
             "convention, not a failure.\n\n",
             *[f"- **convention change** in {loss}'s gradient at its kink: {change}\n" for loss,
               change in changes],
             "\n", markdown(convention_rows(runs)),
             "\n## Kernel support: what each torch lacks\n\n",
             "Every loss x device x dtype where some version has no kernel (values or gradients): 'yes' "
             "where it has one, 'no' where it has none, 'k of n' checks where it has some (e.g. forward but "
             "not backward). Every other row is supported by every version run.\n\n",
             markdown(support_rows(runs)),
             "\n## Skips by reason\n"]
    for run in runs:
        parts.append(f"\n### torch {run['torch']}\n\n")
        parts += [f"- {count} x {reason}\n" for reason, count in run["skips"].most_common()] or ["(none)\n"]
        if run["failing"]:
            parts.append(f"\nFailing ({len(run['failing'])}): " + ", ".join(run["failing"][:20]) + "\n")
    return "".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity_tests.matrix",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch", required=True,
                        help="comma-separated torch versions, e.g. 2.2.2,2.6.0,2.13.0")
    parser.add_argument("--out", default="reports/compatibility.md",
                        help="the table (Markdown, and a .json beside it)")
    parser.add_argument("-n", "--workers", default="2", help="pytest-xdist workers per run (0: one process)")
    parser.add_argument("pytest_args", nargs="*",
                        help="after --: passed to each pytest run, e.g. -- -k mse_loss")
    options = parser.parse_args(argv)
    versions = [version.strip() for version in options.torch.split(",") if version.strip()]
    runs = []
    for version in sorted(versions, key=release):
        folder = ROOT / "reports" / "matrix" / f"torch-{version}"
        folder.mkdir(parents=True, exist_ok=True)
        print(f"torch {version}: environment", flush=True)
        python = environment(version, folder / "install.log")
        found = versions_of(python)
        print(f"torch {found['torch']}, NumPy {found['numpy']}: running the suite", flush=True)
        returncode, seconds = run_suite(python, folder, int(options.workers), options.pytest_args)
        counts, skips, failing = outcomes(folder / "junit.xml")
        rows = measured_rows(folder)
        runs.append({"torch": found["torch"], "rows": rows, "skips": skips, "failing": failing,
                     "summary": summary(version, found, returncode, seconds, counts, rows)})
        print(f"torch {found['torch']}: {runs[-1]['summary']}", flush=True)
    command = "python -m parity_tests.matrix " + " ".join(argv if argv is not None else sys.argv[1:])
    out = ROOT / options.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(runs, command))
    out.with_suffix(".json").write_text(json.dumps(
        [{**run["summary"], "skips": dict(run["skips"]), "failing": run["failing"]} for run in runs],
        indent=1))
    print(f"written to {out} and {out.with_suffix('.json')}")
    return 0 if all(run["summary"]["result"] == "green" for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
