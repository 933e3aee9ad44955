"""Tolerances as measurements: torch's error, as a fraction of the tolerance that applies, on
random draws of every loss in each low-precision dtype (values and gradients).

    python -m parity_tests.audit                       # 10,000 draws per loss x dtype, docs/audit.md
    python -m parity_tests.audit --explore             # a Hypothesis search for the worst case instead
    python -m parity_tests.audit --replay LOSS DTYPE JSON   # one draw again, with its call

Draws come from the records' builders (random_cases: shapes, keywords, seeds, layouts), as in
the randomized tests. Each row gives the distribution of error / tolerance (1 is the tolerance),
the share of draws beyond it, the ledger's known divergences apart, and the worst draw with its
rerun line; each low-precision tolerance is listed with the rows it applied to, so that every
tolerance cites the measurement it rests on (fixtures/tolerances.json: "audit"). Not part of
the default run: about 20 minutes on 2 cores.
"""
import argparse
import json
import math
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

LOW_PRECISION = ("float16", "bfloat16")
QUANTILES = (0.5, 0.9, 0.99, 0.999)
DOCS = Path(__file__).resolve().parent.parent / "docs"


def measure(record, case, dtype, device="cpu"):
    """[(kind, argument, fraction of the tolerance, tolerance source)] of one case's value and
    gradients; torch's error propagates (a kernel it lacks, a call it refuses)."""
    from .harness import expected_dtype, fraction_of_tolerance, run_backward, run_case
    from .tolerances_and_ledgers import tolerance_for
    actual, expected, (_, torch_kwargs) = run_case(record, case, dtype, device)
    tolerance = tolerance_for(record.name, device, dtype, case.name)
    rows = [("value", "",
             fraction_of_tolerance(actual, expected, expected_dtype(torch_kwargs, dtype), tolerance),
             tolerance.source)]
    if record.gradient is None:
        return rows
    for name, (gradient, reference, alternative) in run_backward(record, case, dtype, device).items():
        tolerance = tolerance_for(record.name, device, dtype, case.name, kind="gradient", argument=name)
        fraction = math.inf if gradient is None else \
            fraction_of_tolerance(gradient, reference, gradient.dtype, tolerance, alternative)
        rows.append(("gradient", name, fraction, tolerance.source))
    return rows


def known(record, case, dtype, kind, argument, device="cpu"):
    """Whether the ledger names this check (a known torch divergence)."""
    from .case_ids import CheckId
    from .tolerances_and_ledgers import divergences_for
    return bool(divergences_for(str(CheckId(record.name, device, dtype, case.name, argument))))


def check_label(kind, argument):
    """'value', or 'gradient d/dtarget'."""
    return kind + (f" d/d{argument}" if argument else "")


def new_row():
    """The tallies of one check kind x argument while drawing."""
    return {"fractions": [], "known": 0, "sources": {}, "worst": None}


SEEDS_PER_DRAW = 25  # even draws: each drawn shape, variant, keywords and layout with this many data seeds


def audit(loss, dtype, draws, explore=False):
    """One loss x dtype: `draws` random cases (Hypothesis draws the shape, variant, keywords and
    layout, each with SEEDS_PER_DRAW seeds of data: the draws cost little beside the calls), or
    with explore a search that maximizes the fraction, one seed a draw; summarized per check."""
    import warnings

    import torch
    from hypothesis import HealthCheck, Phase, given, settings, target
    from hypothesis import strategies as st

    from .harness import unavailable
    from .random_cases import case_of, case_strategy
    from .records import BY_NAME
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # torch's and the reference's warnings about the calls drawn
    record = BY_NAME[loss]
    found, raised = {}, {}
    seeds = 1 if explore else SEEDS_PER_DRAW

    def check(case):
        """The case's fractions, noted; the largest of those the ledger does not name (for the search)."""
        try:
            rows = measure(record, case, dtype)
        except Exception as error:  # torch refuses the draw or lacks the kernel: counted, with its message
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            raised[message] = raised.get(message, 0) + 1
            return 0.0
        worst = 0.0
        for kind, argument, fraction, source in rows:
            row = found.setdefault((kind, argument), new_row())
            if known(record, case, dtype, kind, argument):
                row["known"] += 1
                continue
            row["fractions"].append(fraction)
            row["sources"][source] = row["sources"].get(source, 0) + 1
            if row["worst"] is None or fraction > row["worst"][0]:
                row["worst"] = (fraction, case.name, case.replay)
            worst = max(worst, fraction)
        return worst  # of the checks the ledger does not name: the search looks for new divergences

    @settings(max_examples=max(1, draws // seeds), derandomize=not explore, database=None, deadline=None,
              phases=[Phase.generate, Phase.target] if explore else [Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def draw(data):
        dims, variant, choice, seed, layout = data.draw(case_strategy(loss),
                                                        label="dims, variant, keywords, seed, "
                                                        "layout")
        if unavailable(record, choice, variant):
            return
        worst = max((check(case) for n in range(seeds)
                     if (case := case_of(record, dtype, dims, variant, choice, seed + n, layout))
                     is not None),
                    default=0.0)
        if explore:
            target(min(worst, 1e6), label="error / tolerance")

    draw()
    return [summary(loss, dtype, kind, argument, row, raised) for (kind, argument),
            row in sorted(found.items())] \
        or [summary(loss, dtype, "value", "", new_row(), raised)]


def summary(loss, dtype, kind, argument, row, raised):
    """A row of the audit's table."""
    fractions = np.array(row["fractions"], dtype=np.float64)
    finite = fractions[np.isfinite(fractions)]
    worst = row["worst"]
    return {"loss": loss, "dtype": dtype, "kind": kind, "argument": argument, "draws": int(fractions.size),
            "known": row["known"], "raised": raised,
            "quantiles": {f"p{100 * q:g}": float(np.quantile(finite, q)) for q in QUANTILES}
            if finite.size else {},
            "max": float(fractions.max()) if fractions.size else None,
            "beyond": int((fractions > 1).sum()), "tolerances": row["sources"],
            "worst": None if worst is None else {"fraction": worst[0], "case": worst[1], "replay": worst[2]}}


def run_one(task):
    return audit(*task)


def tolerance_citations(rows):
    """{tolerance source: [the rows it applied to]}, for every low-precision tolerance of the
    fixtures (the defaults and the overrides), reached by the draws or not."""
    from .tolerances_and_ledgers import TOLERANCES, as_list
    sources = [f"default {dtype}{label}" for dtype in LOW_PRECISION for label in ("", " gradient")]
    sources += [override["id"] for override in TOLERANCES["overrides"]
                if any(d in LOW_PRECISION for d in as_list(override.get("dtype", LOW_PRECISION)))]
    return {source: [f"{row['loss']} {row['dtype']} {check_label(row['kind'], row['argument'])}"
                     for row in rows if source in row["tolerances"]] for source in sources}


def write(rows, draws, seconds, out):
    """docs/audit.json and docs/audit.md: the rows and the citations."""
    citations = tolerance_citations(rows)
    out.with_suffix(".json").write_text(json.dumps({"draws": draws, "seconds": round(seconds), "rows": rows,
                                                    "citations": citations}, indent=1) + "\n")
    fmt = lambda value: "-" if value is None else ("inf" if value == math.inf else f"{value:.3g}")
    import torch
    lines = ["# Tolerance audit: torch's error / tolerance on random draws "
             "(`python -m parity_tests.audit`)", "",
             f"{draws} draws per loss x dtype on the CPU ({seconds / 60:.0f} minutes, 2 processes); torch "
             f"{torch.__version__}. A fraction of 1 is "
             "the tolerance; `beyond` counts draws past it (failures of a randomized test), `known` those "
             "the ledger names. `raised`: draws torch refused or lacks a kernel for.", "",
             "| loss | dtype | check | draws | p50 | p90 | p99 | p99.9 | max | beyond | known | worst draw "
             "(replay) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        q = row["quantiles"]
        check = check_label(row["kind"], row["argument"])
        worst = row["worst"]
        replay = f"`{worst['replay']}`" if worst and worst["fraction"] > 1 else ""
        raised = f" (raised: {sum(row['raised'].values())})" if row["raised"] and not row["draws"] else ""
        lines.append(f"| {row['loss']} | {row['dtype']} | {check} | {row['draws']}{raised} | "
                     f"{fmt(q.get('p50'))} | {fmt(q.get('p90'))} | {fmt(q.get('p99'))} | "
                     f"{fmt(q.get('p99.9'))} | {fmt(row['max'])} | {row['beyond']} | {row['known']} | "
                     f"{replay} |")
    lines += ["", "## What each low-precision tolerance rests on", ""]
    for source, cited in citations.items():
        lines.append(f"- **{source}**: " + (", ".join(cited) if cited else
                                             "not reached by the draws (it holds for edge cases of the grid "
                                             "only)"))
    lines += ["",
              "Replay a draw: `python -m parity_tests.audit --replay LOSS DTYPE 'JSON'`. What the draws "
              "beyond the tolerance are (a torch defect, the tolerance model at cancellations, known "
              "divergences, kinks): `docs/audit-notes.md`.", ""]
    out.with_suffix(".md").write_text("\n".join(lines))


def replay(loss, dtype, spec):
    """One draw again: its call and its fractions."""
    from .harness import describe_call, torch_arguments
    from .random_cases import replayed
    from .records import BY_NAME
    record = BY_NAME[loss]
    case = replayed(record, dtype, spec)
    print(f"{loss} in {dtype}: {case.name}\n  call: "
          f"{describe_call(record, *torch_arguments(case, dtype, 'cpu')[0])}")
    for kind, argument, fraction, source in measure(record, case, dtype):
        print(f"  {check_label(kind, argument)}: error / tolerance {fraction:.3g} ({source})")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity_tests.audit",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=10_000,
                        help="random cases per loss x dtype (default 10000)")
    parser.add_argument("--losses", default="",
                        help="comma-separated losses (default: every record with random_dims)")
    parser.add_argument("--dtypes", default=",".join(LOW_PRECISION))
    parser.add_argument("--jobs", type=int, default=max(1, multiprocessing.cpu_count()))
    parser.add_argument("--explore", action="store_true",
                        help="search for the worst case (hypothesis.target) "
                        "instead of drawing evenly; prints it with its replay line, writes nothing")
    parser.add_argument("--out", type=Path, default=DOCS / "audit", help="written as OUT.md and OUT.json")
    parser.add_argument("--replay", nargs=3, metavar=("LOSS", "DTYPE", "JSON"))
    args = parser.parse_args(argv)
    if args.replay:
        return replay(*args.replay)
    from .records import RECORDS
    losses = args.losses.split(",") if args.losses else [r.name for r in RECORDS if r.random_dims is not None
                                                         and r.torch_fn is not None]
    tasks = [(loss, dtype, args.draws, args.explore) for loss in losses for dtype in args.dtypes.split(",")]
    start = time.time()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        rows = [row for result in pool.imap(run_one, tasks) for row in result]
    seconds = time.time() - start
    if args.explore:
        for row in rows:
            worst = row["worst"]
            if worst:
                check = check_label(row["kind"], row["argument"])
                print(f"{row['loss']} {row['dtype']} {check}: "
                      f"worst {worst['fraction']:.3g} of the tolerance, {worst['case']}\n  rerun: python -m "
                      f"parity_tests.audit --replay {row['loss']} {row['dtype']} '{worst['replay']}'")
        return
    write(rows, args.draws, seconds, args.out)
    print(f"{len(rows)} rows in {seconds:.0f} s: {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    sys.exit(main())
