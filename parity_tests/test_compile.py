"""torch.compile under test (--compile BACKEND, compiled.py): no silent fallback, no leak from
a raising call, and a small selection run end to end so that the mode cannot rot (the full
compile run is a README command)."""
import json

import pytest
import torch
import torch.nn.functional as F

from .compiled import NotCompiled, compiled, compiler
from .nested import run_pytest
from .tables import load

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


def test_a_graph_break_is_reported_not_compiled(torch_under_test):
    def breaks(input, target):
        print(end="")  # a graph break
        return F.l1_loss(input, target)
    with pytest.raises(NotCompiled, match="not compiled by torch.compile"):
        compiled(breaks, BACKEND)(torch.ones(3), torch.zeros(3))


def test_a_raising_call_does_not_stop_later_calls_compiling(torch_under_test):
    """After a call that raises under compile, dynamo is reset: the next call compiles and runs a graph."""
    loss = compiled(F.smooth_l1_loss, BACKEND)
    with pytest.raises(RuntimeError):
        loss(torch.ones(3, 4), torch.ones(5, 4))  # shapes that do not broadcast
    runs = compiler(BACKEND).graph_runs
    assert float(loss(torch.ones(3), torch.zeros(3))) == pytest.approx(0.5)
    assert compiler(BACKEND).graph_runs == runs + 1


def test_every_known_compile_divergence_says_how_to_reproduce_it():
    for entry in load("known_compile_divergences.json")["entries"]:
        for key in ("tests", "backends", "right_value", "compile_does", "upstream", "reproducer"):
            assert entry.get(key), f"{entry['id']}: no {key}"


def test_a_small_compile_selection_runs_green(tmp_path, torch_under_test):
    """huber_loss's values and gradients on two shapes in float32 under --compile: every check
    ran a compiled graph or is a known compile divergence (the empty mean's backward), and the
    run reports what it compiled."""
    result = run_pytest("parity_tests/test_parity.py", "parity_tests/test_backward.py", "--compile", BACKEND,
                        "--dtype", "float32", "-k", "huber_loss and not module", "--case", "same-2d-*,same-empty-mean",
                        tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "graphs compiled" in result.stdout and "by torch.compile" not in result.stdout, result.stdout[-2000:]
    rows = json.loads((tmp_path / "table.json").read_text())
    assert sum(row["torch's known divergences"] for row in rows) >= 1, rows  # the empty mean's backward
    assert sum(row["cases"] for row in rows) >= 10, rows
