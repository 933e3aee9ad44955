"""Upgrading torch in one command: values and gradients of every case (built-in and registered
losses), recorded on the old torch and compared on the new one, each change judged against the
reference and given a cause where one can be told; optionally the benchmarks of both.

    python -m parity_tests.upgrade --from 2.13.0 --to 2.15.0 [--device cpu] [--bench SIZE]

builds (or reuses) one environment per version (environments.py), records on the old, compares
on the new and writes reports/upgrade-<from>-to-<to>.md and .json. In two steps, on two machines
(record on a GPU box, compare in CI), with records from several machines merged into one report:

    python -m parity_tests.upgrade record [--device cpu] [--out reports/upgrade/record-....npz]
    python -m parity_tests.upgrade compare RECORD.npz [RECORD.npz ...] [--out reports/upgrade-....md]

A record made on another machine (CPU kernels, device or NumPy) says so, and a change within the
check's tolerance band there is "hardware" (expected from it), not torch's.
"""
import argparse
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from .environments import ROOT, environment, versions_of

# torch and the suite's modules are imported inside the steps that run in an environment (record,
# compare), so that the Python that drives the one command needs neither
KINK = "at a hinge's kink torch "
CAUSES_SHOWN = 12  # case ids a cause lists in the Markdown report (the JSON has all)


def record_path(device, version, folder=ROOT / "reports" / "upgrade"):
    import platform
    return folder / f"record-torch-{version.split('+')[0]}-{device}-{platform.node() or 'machine'}.npz"


def record(device, out, losses):
    """Values and gradients of every case of the registered losses, on this torch, into `out`
    (a golden file with gradient ids), with the cases this torch cannot run and why."""
    import importlib

    import torch

    from .golden import record_outputs, save_golden
    from .records import RECORDS
    for module in losses:
        importlib.import_module(module)
    outputs, seeds = record_outputs(RECORDS, device, gradients=True)
    save_golden(out, outputs, seeds, device)
    manifest = json.loads(out.with_suffix(".json").read_text())
    manifest["not_run"] = not_run(device)
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=1))
    print(f"recorded {len(outputs)} values and gradients of torch {torch.__version__} on {device} into {out}")


def value_check_of(check_id):
    """The id of the value check of a gradient check's case (a value check's own id)."""
    from .case_ids import parse, value_id
    check = parse(check_id)
    return value_id(check.loss, check.device, check.dtype, check.case)


def not_run(device):
    """{value check id: why the running torch cannot run it} (a function, keyword or argument kind
    it lacks), for the causes of new and removed checks."""
    from .case_ids import value_id
    from .harness import selected_cases, unavailable
    from .records import RECORDS
    from .registry import FLOAT_DTYPES
    reasons = {}
    for record_, case, _, dtype in selected_cases(RECORDS, [device], FLOAT_DTYPES):
        why = unavailable(record_, case.arguments()[1], case.variant)
        if why:
            reasons[value_id(record_.name, device, dtype, case.name)] = why
    return reasons


def kink_choice(output, expected, alternative):
    """Which one-sided derivative an output took at a kink ('' off kinks)."""
    import torch

    from .runner import kink_side
    if output.error or alternative is None:
        return ""
    tensor = torch.from_numpy(output.values)
    return kink_side("torch", tensor, expected, alternative).removeprefix(KINK)


def cause_of(change, before, after, old_reasons, new_reasons, unchanged, kink, said=(None, None)):
    """The cause of one change where it can be told, else ''. `said`: the Outputs of the case's
    value check before and after, whose notes (warnings, kernels run) tell a gradient's code path."""
    from .case_ids import parse
    from .runner import not_implemented
    from .tolerances_and_ledgers import divergences_for
    value_check = value_check_of(change.id)
    if change.kind == "new":
        why = old_reasons.get(value_check)
        return f"API: the old torch could not run it ({why})" if why else "new case in the registry"
    if change.kind == "removed":
        why = new_reasons.get(value_check)
        return f"API: this torch cannot run it ({why})" if why else "case no longer in the registry"
    if change.kind == "hardware":
        return "another machine: within the check's tolerance band, as the CPU's kernels or NumPy may move it"
    if change.kind == "unchanged" or before is None or after is None:
        return ""
    if before.error and not after.error:
        return f"dtype support gained (the old torch: {before.error})" if not_implemented(before.error) \
            else f"no longer raises (the old torch: {before.error})"
    if after.error and not before.error:
        if not_implemented(after.error):
            return f"dtype support lost ({after.error})"
        return f"now raises ({after.error})"
    if kink[0] and kink[1] and kink[0] != kink[1]:
        return f"convention change at a kink: {kink[0]} -> {kink[1]}"
    old_notes, new_notes = (output or fallback for output, fallback in zip(said, (before, after)))
    if set(old_notes.notes) != set(new_notes.notes):
        ran = lambda output: {note.removeprefix("ran ") for note in output.notes if note.startswith("ran ")}
        told = lambda output: "; ".join(note[:80] for note in output.notes
                                        if not note.startswith("ran ")) or "nothing"
        gained, lost = ran(new_notes) - ran(old_notes), ran(old_notes) - ran(new_notes)
        if gained or lost:
            now = f"runs {', '.join(sorted(gained))}" if gained else f"skips {', '.join(sorted(lost))}"
            return (f"kernel routing: now {now} (the old torch said: {told(old_notes)}; "
                    f"this one: {told(new_notes)})")
        return f"code path: the old torch said {told(old_notes)!r}, this one {told(new_notes)!r}"
    ledger = divergences_for(change.id)
    if ledger and change.kind in ("fixed", "regressed"):
        return f"ledger entry {ledger[0]['id']} {change.kind}"
    check = parse(change.id)
    unreduced = re.sub(r"-(mean|sum)$", "-none", check.case)
    if unreduced != check.case and change.id.replace(check.case, unreduced) in unchanged:
        return "reduction order (its unreduced case is unchanged)"
    return ""


def compare(paths, device, losses=None):
    """The changes of this torch against each record (of these losses, default: all), with causes."""
    import torch

    from .case_ids import parse
    from .golden import compare_with_golden, load_golden, other_machine
    from .records import BY_NAME
    reports = []
    new_reasons = not_run(device)
    for path in paths:
        manifest, outputs = load_golden(Path(path))
        differs = other_machine(manifest, device)
        losses = losses or sorted({parse(check_id).loss for check_id in outputs} | set(BY_NAME))
        now = {}
        # a golden file has values only
        with_gradients = any(parse(check_id).argument for check_id in outputs)
        dtypes = sorted({parse(check_id).dtype for check_id in outputs})  # those the record holds
        changes = compare_with_golden(outputs, losses, device, dtypes, bool(differs),
                                      with_gradients, kept=now)
        unchanged = {change.id for change in changes if change.kind == "unchanged"}
        for change in changes:
            before = outputs.get(change.id)
            after, expected, alternative = now.get(change.id, (None, None, None))
            kink = (kink_choice(before, expected, alternative), kink_choice(after, expected, alternative)) \
                if before is not None and after is not None else ("", "")
            value_check = value_check_of(change.id)
            said = (outputs.get(value_check), now.get(value_check, (None,))[0])
            change.cause = cause_of(change, before, after, manifest.get("not_run", {}), new_reasons,
                                    unchanged, kink,
                                    said)
        reports.append({"record": str(path), "torch then": manifest["torch"], "torch now": torch.__version__,
                        "device": device, "machine": differs or "the same CPU kernels, device and NumPy",
                        "changes": changes})
    return reports


def rows_of(report):
    """Per loss x dtype x argument, the count of each class and the cases of each cause."""
    from .case_ids import parse
    from .golden import CLASSES
    rows = {}
    for change in report["changes"]:
        check = parse(change.id)
        key = (check.loss, check.dtype, f"d/d{check.argument}" if check.argument else "value")
        row = rows.setdefault(key,
                              {"loss": key[0], "dtype": key[1], "check": key[2], **dict.fromkeys(CLASSES, 0),
                                    "causes": defaultdict(list)})
        row[change.kind] += 1
        if change.kind != "unchanged":
            row["causes"][change.cause or f"{change.kind}, no cause told"].append(check.case)
    return [rows[key] for key in sorted(rows)]


def causes(rows):
    """(cause, (checks, losses)) over the rows, the commonest first; a kink's or a routing's
    wording without its per-dtype detail."""
    found = {}
    for row in rows:
        for cause, cases in row["causes"].items():
            short = cause.split(" (the old torch said")[0]
            count, losses = found.setdefault(short, [0, set()])
            found[short][0] = count + len(cases)
            losses.add(row["loss"])
    return sorted(found.items(), key=lambda item: -item[1][0])


def markdown_report(reports, speed=None):
    from .golden import CLASSES
    lines = []
    for report in reports:
        rows = rows_of(report)
        total = {kind: sum(row[kind] for row in rows) for kind in CLASSES}
        lines += [f"# Upgrade: torch {report['torch then']} -> {report['torch now']} on {report['device']}",
                  "",
                  f"Record: `{report['record']}`. Machine of the record against this one: "
                  f"{report['machine']}.", "",
                  "Each check (a value, or one gradient) of every case: unchanged (bit-identical), hardware "
                  "(changed within its tolerance band on another machine: expected from the CPU, not "
                  "torch's), drifted (torch changed it, no further from the reference), fixed, regressed, "
                  "new, removed.", "",
                  "Totals: " + ", ".join(f"{kind} {count}" for kind, count in total.items()), "",
                  "## Causes", "", "| cause | checks | losses |", "|---|---|---|",
                  *[f"| {cause} | {count} | {', '.join(sorted(losses))} |" for cause,
                    (count, losses) in causes(rows)],
                  "",
                  "## Changes per loss x dtype x check, with their causes", "",
                  "| loss | dtype | check | " + " | ".join(CLASSES) + " | causes (case ids) |",
                  "|---|---|---|" + "---|" * len(CLASSES) + "---|"]
        for row in rows:
            if row["unchanged"] == sum(row[kind] for kind in CLASSES):
                continue
            told = "<br>".join(f"{cause}: {len(cases)}: {', '.join(cases[:CAUSES_SHOWN])}"
                               + (", ..." if len(cases) > CAUSES_SHOWN else "")
                               for cause, cases in row["causes"].items())
            lines.append(f"| {row['loss']} | {row['dtype']} | {row['check']} | "
                         + " | ".join(str(row[kind]) for kind in CLASSES) + f" | {told} |")
        lines.append("")
    if speed:
        lines += speed_section(speed)
    return "\n".join(lines) + "\n"


def speed_section(speed):
    """The benchmarks of both torches: ratio new / old per kernel, and the noise measured between
    two runs of the old one (run before and after the new)."""
    lines = ["## Speed", "", f"Benchmarks at size {speed['size']}, torch on one thread and on all threads "
             f"({speed['runs']}); the old torch ran twice, before and after the new one: its run-to-run "
             f"noise, median {speed['noise']:.0%}, sets the bar. Slower beyond the noise: "
             f"{len(speed['slower'])} of {len(speed['rows'])} kernels.", "",
             "| kernel | old ms | new ms | new / old | old run-to-run | verdict |",
             "|---|---|---|---|---|---|"]
    for row in sorted(speed["rows"], key=lambda row: -row["ratio"]):
        lines.append(f"| {row['kernel']} | {row['old']:.4g} | {row['new']:.4g} | {row['ratio']:.2f} | "
                     f"{row['noise']:.0%} | {row['verdict']} |")
    return lines + [""]


def benchmark(python, out, size):
    """The registry's torch benchmarks (one and all threads) at one size, saved by pytest-benchmark."""
    subprocess.run([str(python), "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", "-k", "torch",
                    "--bench-sizes", size, "--benchmark-json", str(out), "--benchmark-min-rounds=5",
                    "--benchmark-max-time=0.2"],
                   cwd=ROOT, check=False, capture_output=True)
    return {b["name"]: b["stats"]["median"] * 1e3 for b in json.loads(out.read_text())["benchmarks"]
            if "torch" in b["name"]}


def speed(old_python, new_python, folder, size):
    """Old, new, old again: each kernel's ratio new / old (the mean of the two old runs) against
    the bar of the old runs' noise (the larger of the kernel's own and twice the median)."""
    import statistics
    first, new, second = (benchmark(python, folder / f"bench-{name}.json", size)
                          for python,
                          name in ((old_python, "old-1"), (new_python, "new"), (old_python, "old-2")))
    kernels = sorted(set(first) & set(new) & set(second))
    noise = {k: abs(second[k] / first[k] - 1) for k in kernels}
    median = statistics.median(noise.values()) if noise else 0.0
    rows = []
    for kernel in kernels:
        old = (first[kernel] + second[kernel]) / 2
        bar = max(noise[kernel], 2 * median)
        ratio = new[kernel] / old
        verdict = ("slower beyond noise" if ratio > 1 + bar else "faster beyond noise" if ratio < 1 - bar
                   else "within noise")
        rows.append({"kernel": kernel.removeprefix("test_loss[").removesuffix("]"), "old": old,
                     "new": new[kernel],
                     "ratio": ratio, "noise": noise[kernel], "verdict": verdict})
    return {"size": size, "runs": "old, new, old", "noise": median, "rows": rows,
            "slower": [row["kernel"] for row in rows if row["verdict"] == "slower beyond noise"]}


def write(reports, out, speed_found=None):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown_report(reports, speed_found))
    as_json = [{**{key: value for key, value in report.items() if key != "changes"},
                "changes": [vars(change) for change in report["changes"] if change.kind != "unchanged"],
                "unchanged": sum(change.kind == "unchanged" for change in report["changes"])}
               for report in reports]
    out.with_suffix(".json").write_text(json.dumps({"records": as_json, "speed": speed_found},
                                                   indent=1, default=str))
    print(f"written to {out} and {out.with_suffix('.json')}")


def run_in(python, *args):
    subprocess.run([str(python), "-m", "parity_tests.upgrade", *args], cwd=ROOT, check=True)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m parity_tests.upgrade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if argv and argv[0] in ("record", "compare"):
        parser.add_argument("step", choices=("record", "compare"))
        parser.add_argument("records", nargs="*", help="compare: the records to compare this torch with")
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--out", default=None)
        parser.add_argument("--losses", default="parity_tests.examples", help="modules that register losses")
        parser.add_argument("--speed", default=None, help="compare: the benchmarks' comparison to add (JSON)")
        options = parser.parse_args(argv)
        if options.step == "record":
            import torch
            out = Path(options.out) if options.out else record_path(options.device, torch.__version__)
            out.parent.mkdir(parents=True, exist_ok=True)
            record(options.device, out, [m for m in options.losses.split(",") if m])
        else:
            import importlib

            import torch
            for module in [m for m in options.losses.split(",") if m]:
                importlib.import_module(module)
            out = Path(options.out or ROOT / "reports" / f"upgrade-to-{torch.__version__.split('+')[0]}.md")
            speed_found = json.loads(Path(options.speed).read_text()) if options.speed else None
            write(compare(options.records, options.device), out, speed_found)
        return 0
    parser.add_argument("--from", dest="old", required=True,
                        help="the torch version upgraded from, e.g. 2.13.0")
    parser.add_argument("--to", dest="new", required=True, help="the torch version upgraded to, e.g. 2.15.0")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bench", default="", metavar="SIZE",
                        help="also benchmark both at this size (e.g. small)")
    options = parser.parse_args(argv)
    folder = ROOT / "reports" / "upgrade"
    folder.mkdir(parents=True, exist_ok=True)
    old_python, new_python = (environment(version, folder / f"install-{version}.log")
                              for version in (options.old, options.new))
    started = time.perf_counter()
    recorded = record_path(options.device, versions_of(old_python)["torch"], folder)
    run_in(old_python, "record", "--device", options.device, "--out", str(recorded))
    out = ROOT / "reports" / f"upgrade-{options.old}-to-{options.new}.md"
    speed_path = folder / f"speed-{options.old}-to-{options.new}.json"
    if options.bench:
        speed_path.write_text(json.dumps(speed(old_python, new_python, folder, options.bench)))
    run_in(new_python, "compare", str(recorded), "--device", options.device, "--out", str(out),
           *(["--speed", str(speed_path)] if options.bench else []))
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
