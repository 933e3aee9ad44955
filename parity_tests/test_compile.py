"""torch.compile under test (--compile BACKEND, compiled.py): no silent fallback, no leak from
a raising call, and a small selection run end to end so that the mode cannot rot (the full
compile run is a README command)."""
import json
import re

import pytest
import torch
import torch.nn.functional as F

from .compiled import NotCompiled, compiled, compiler
from .records import RECORDS
from .registry import COMPILED_IN_FULL
from .suite_runs import run_pytest
from .tolerances_and_ledgers import load

BACKEND = "aot_eager_decomp_partition"  # torch's decompositions without code generation: fast


def test_a_call_past_dynamo_recompile_limit_fails(torch_under_test):
    """Past its recompile limit dynamo runs a function eagerly (silently, by default): under
    --compile that call raises NotCompiled instead of passing on eager's values."""
    compiler(BACKEND)  # (which raises the limit for the suite) before lowering it here
    loss = compiled(lambda input, target: F.l1_loss(input, target), BACKEND)
    with torch._dynamo.config.patch(recompile_limit=1):
        loss(torch.ones(3), torch.zeros(3))
        with pytest.raises(NotCompiled):
            loss(torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))  # a second graph


STANCES = pytest.mark.skipif(not hasattr(torch.compiler, "set_stance"),
                             reason=f"torch {torch.__version__} has no torch.compiler.set_stance (2.6 and "
                                    "later)")


def test_a_call_dynamo_skips_is_run_again_from_a_fresh_dynamo(torch_under_test):
    """A call dynamo does not compile (here: its code marked skipped, as dynamo marks a frame
    that failed) is run once more after a reset, so that what earlier calls left in dynamo
    cannot decide a case; the rerun compiles."""
    from torch._dynamo.eval_frame import skip_code
    function = lambda input, target: F.mse_loss(input, target)  # noqa: E731  (its own code object)
    loss = compiled(function, BACKEND)
    loss(torch.ones(3), torch.zeros(3))
    skip_code(function.__code__)
    resets, runs = compiler(BACKEND).resets, compiler(BACKEND).graph_runs
    assert float(loss(torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))) == 1.0
    assert (compiler(BACKEND).resets, compiler(BACKEND).graph_runs) == (resets + 1, runs + 1)


@STANCES
def test_a_call_that_runs_no_compiled_graph_fails(torch_under_test):
    loss = compiled(lambda input, target: F.soft_margin_loss(input, target), BACKEND)
    with torch.compiler.set_stance("force_eager"), pytest.raises(NotCompiled, match="ran no compiled graph"):
        loss(torch.ones(3), torch.ones(3))


def test_a_graph_break_is_reported_not_compiled(torch_under_test):
    def breaks(input, target):
        print(end="")  # a graph break
        return F.l1_loss(input, target)
    with pytest.raises(NotCompiled, match="not compiled by torch.compile"):
        compiled(breaks, BACKEND)(torch.ones(3), torch.zeros(3))


def test_a_raising_call_does_not_stop_later_calls_compiling(torch_under_test):
    """After a call that raises under compile, the next call compiles and runs a graph."""
    loss = compiled(F.smooth_l1_loss, BACKEND)
    with pytest.raises(RuntimeError):
        loss(torch.ones(3, 4), torch.ones(5, 4))  # shapes that do not broadcast
    runs = compiler(BACKEND).graph_runs
    assert float(loss(torch.ones(3), torch.zeros(3))) == pytest.approx(0.5)
    assert compiler(BACKEND).graph_runs == runs + 1


def test_every_known_compile_divergence_says_how_to_reproduce_it():
    for entry in load("known_compile_divergences.json")["entries"]:
        for key in ("tests", "backends", "right_value", "compile_does", "upstream", "reproducer", "seen_on"):
            assert entry.get(key), f"{entry['id']}: no {key}"


@pytest.mark.parametrize("bounds, holds", [
    ({}, True), ({"torch_since": "2.14"}, False), ({"torch_before": "2.14"}, True),
    ({"torch_before": "2.13"}, False), ({"torch_since": "2.2", "torch_before": "2.13.1"}, True)])
def test_a_ledger_entry_holds_between_its_versions(bounds, holds, monkeypatch):
    """On torch 2.13.0: an entry holds from torch_since (included) up to torch_before (excluded)."""
    from . import tolerances_and_ledgers
    from .harness import TorchVersion
    monkeypatch.setattr(tolerances_and_ledgers, "TORCH_VERSION", TorchVersion("2.13.0"))
    entry = tolerances_and_ledgers.LedgerEntry({"id": "x", "tests": [], **bounds})
    assert entry.holds_for_this_torch() == holds


def begins_with(name, variant, shape):
    prefix = "-".join(part for part in (variant, shape.name) if part)
    return name == prefix or name.startswith(f"{prefix}-")


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_compile_cases_keep_every_shape_variant_and_reduction_of_the_grid(record):
    """A compile run's cases (LossRecord.compile_cases) are grid cases, each also resized, and
    the edge cases; every shape x variant of the grid and every reduction keeps a case."""
    grid, chosen = record.grid_cases(), record.compile_cases()
    edge = [case.name for case in record.edge_cases()]
    names = [case.name for case in chosen if case.name not in edge]
    unresized = [name for name in names if not name.startswith("resized-")]
    assert set(unresized) <= {case.name for case in grid}
    assert sorted(names) == sorted(unresized + [f"resized-{name}" for name in unresized])
    assert [case.name for case in chosen][-len(edge) or len(chosen):] == edge or not edge
    for shape in record.shapes:
        for variant in record.variants:
            if any(begins_with(case.name, variant, shape) for case in grid):
                assert any(begins_with(name, variant, shape) for name in unresized), (shape.name, variant)
    for reduction in record.keyword_grid.get("reduction", []):
        assert any(name.endswith(f"-{reduction}") or name == reduction for name in unresized), reduction
    # in every dtype: the first shape's cases, every reduction among them; the rest in COMPILED_IN_FULL alone
    every_dtype = [case for case in chosen if case.dtypes is None]
    assert all(begins_with(case.name.removeprefix("resized-"), case.variant, record.shapes[0])
               for case in every_dtype)
    for reduction in record.keyword_grid.get("reduction", []):
        assert any(case.name.endswith(f"-{reduction}") or case.name == reduction for case in every_dtype)
    assert all(case.dtypes == (COMPILED_IN_FULL,) for case in chosen
               if case.dtypes is not None and case.name not in edge)


def test_a_small_compile_selection_runs_green_reusing_its_graphs(tmp_path, torch_under_test):
    """huber_loss's values and gradients on two shapes in float32 under --compile: every check
    ran a compiled graph or is a known compile divergence (the empty mean's backward), a case's
    value and gradients come from one call, a resized case reuses its case's graph (dynamic
    shapes), and the run reports what it compiled."""
    result = run_pytest("parity_tests/test_parity.py", "parity_tests/test_backward.py", "--compile", BACKEND,
                        "--dtype", "float32", "-k", "huber_loss and not module or compiled", "--case",
                        "*same-2d-*,*same-empty-*", "-rs",
                        tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "by torch.compile" not in result.stdout, result.stdout[-2000:]
    assert "under --compile test_parity checks each case's gradients" in result.stdout, result.stdout[-2000:]
    counts = re.search(r"torch.compile: (\d+) graphs compiled .*?, (\d+) calls", result.stdout)
    graphs, calls = map(int, counts.groups())
    rows = json.loads((tmp_path / "table.json").read_text())
    checks = lambda label: sum(row["cases"] for row in rows if row["loss"] == label)
    # one call a case for its value and its gradients, one graph for a case and its resized twin
    assert calls == checks("huber_loss") == checks("huber_loss d/dinput") >= 10, (calls, rows)
    assert 2 * graphs <= calls + 4, result.stdout[-1000:]
    assert sum(row["torch's known divergences"] for row in rows) >= 1, rows  # the empty mean's backward
