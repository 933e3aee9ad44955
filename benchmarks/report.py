"""Turn a saved pytest-benchmark JSON into a Markdown table and a PNG chart:

    python -m benchmarks.report .benchmarks/<machine>/0001_<name>.json --markdown reports/benchmarks.md \\
        --chart reports/benchmarks.png

A row per loss x size x dtype: each implementation's median, the ratio reference / torch on one
thread, the bytes moved per second, and that as a share of the copy bandwidth measured in the
same run. The chart (matplotlib, the `bench` extra) shows the ratios."""
import argparse
import json
from collections import defaultdict
from pathlib import Path

from parity_tests.measured_table import markdown_table
from parity_tests.tolerances_and_ledgers import write_atomically

from .kernels import ELEMENTWISE_TARGET, IMPLEMENTATIONS, NO_TRANSCENDENTAL


def copy_bandwidths(benchmarks):
    """{dtype: GB/s} of the streaming copy at the largest size measured."""
    copies = [b for b in benchmarks if b["extra_info"].get("operation") == "copy"]
    best = {}
    for b in sorted(copies, key=lambda b: b["extra_info"]["elements"]):
        best[b["extra_info"]["dtype"]] = b["extra_info"]["bytes"] / b["stats"]["median"] / 1e9
    return best


def rows(benchmarks):
    """One dict per loss x size x dtype, in the order of the run."""
    copy = copy_bandwidths(benchmarks)
    groups = defaultdict(dict)
    for b in benchmarks:
        info = b["extra_info"]
        if "implementation" in info:
            key = (info["loss"], info["size"], "x".join(map(str, info["dims"])), info["dtype"])
            groups[key][info["implementation"]] = b
    table = []
    for (loss, size, dims, dtype), by_impl in groups.items():
        median = {impl: b["stats"]["median"] for impl, b in by_impl.items()}
        row = {"loss": loss, "size": size, "dims": dims, "dtype": dtype}
        row.update({f"{impl} ms": round(1e3 * median[impl], 4) if impl in median else ""
                    for impl in IMPLEMENTATIONS
                    if impl != "torch-cuda" or "torch-cuda" in median})
        both = {"reference", "torch-1-thread"} <= set(median)
        ratio = median["reference"] / median["torch-1-thread"] if both else None
        row["reference / torch 1 thread"] = "" if ratio is None else round(ratio, 2)
        moved = next(iter(by_impl.values()))["extra_info"]["bytes"]
        for impl, label in (("reference", "reference GB/s"), ("torch-1-thread", "torch 1 thread GB/s")):
            row[label] = round(moved / median[impl] / 1e9, 2) if impl in median else ""
        known = "reference" in median and dtype in copy
        share = (moved / median["reference"] / 1e9) / copy[dtype] if known else None
        row["reference % of copy"] = "" if share is None else round(100 * share, 1)
        row["target"] = target_verdict(loss, size, ratio, share)
        table.append(row)
    return table


def target_verdict(loss, size, ratio, share):
    """The issue's targets at the large size: the reference no slower than torch on one thread;
    the elementwise losses without a transcendental function at half the copy bandwidth."""
    if size != "large" or ratio is None:
        return ""
    misses = [] if ratio <= 1.0 else [f"{ratio:.2f}x torch"]
    if loss in NO_TRANSCENDENTAL and share is not None and share < ELEMENTWISE_TARGET:
        misses.append(f"{100 * share:.0f}% of copy")
    return "met" if not misses else "missed: " + ", ".join(misses)


def bandwidth_rows(benchmarks):
    return [{"operation": b["extra_info"]["operation"], "dtype": b["extra_info"]["dtype"],
             "elements": b["extra_info"]["elements"], "median ms": round(1e3 * b["stats"]["median"], 4),
             "GB/s": round(b["extra_info"]["bytes"] / b["stats"]["median"] / 1e9, 2)}
            for b in benchmarks if "operation" in b["extra_info"]]


def chart(table, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [row for row in table if row["reference / torch 1 thread"] != ""]
    labels = [f"{row['loss']} {row['size']} {row['dtype']}" for row in shown]
    ratios = [row["reference / torch 1 thread"] for row in shown]
    figure, axes = plt.subplots(figsize=(9, 0.22 * len(shown) + 1.5))
    axes.barh(labels, ratios, color=["tab:green" if r <= 1 else "tab:red" for r in ratios])
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_xlabel("reference time / torch time on one thread (below 1: the reference is faster)")
    axes.invert_yaxis()
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    figure.savefig(path.with_name(path.name + ".partial.png"), dpi=110)
    plt.close(figure)
    path.with_name(path.name + ".partial.png").replace(path)


def suite_rows(benchmarks):
    """The suite's own speed (benchmarks/test_suite_speed.py): checks per second per family."""
    return [{"family": b["extra_info"]["suite"], "checks": b["extra_info"]["what"],
             "count": b["extra_info"]["checks"], "median s": round(b["stats"]["median"], 3),
             "checks/s": round(b["extra_info"]["checks"] / b["stats"]["median"])}
            for b in benchmarks if "suite" in b["extra_info"]]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path,
                        help="a file written by pytest --benchmark-json or --benchmark-autosave")
    parser.add_argument("--markdown", type=Path, default=Path("reports/benchmarks.md"))
    parser.add_argument("--chart", type=Path, default=None, help="a PNG of the ratios (needs matplotlib)")
    options = parser.parse_args(argv)
    data = json.loads(options.json.read_text())
    table = rows(data["benchmarks"])
    machine = data.get("machine_info", {})
    text = ("# Benchmarks: the NumPy reference against "
            f"torch\n\n{machine.get('cpu', {}).get('brand_raw', '')}, "
            f"{machine.get('cpu', {}).get('count', '?')} cores, Python {machine.get('python_version', '?')}; "
            "medians.\n\n" + markdown_table(table, "{:.4g}") + "\n## Memory bandwidth (NumPy, one core)\n\n"
            + markdown_table(bandwidth_rows(data["benchmarks"]), "{:.4g}")
            + "\n## The parity suite's own speed (one process, torch eager on CPU)\n\n"
            + markdown_table(suite_rows(data["benchmarks"]), "{:.4g}"))
    write_atomically(options.markdown, text)
    print(f"wrote {options.markdown}")
    if options.chart:
        chart(table, options.chart)
        print(f"wrote {options.chart}")


if __name__ == "__main__":
    main()
