"""The benchmarks never run in the default test command; this runs each of them once at a tiny
size (every record's first test shape), then the report, so that they cannot rot."""
import importlib.util
import json

from benchmarks import report

from .suite_runs import needs_checkout, run_pytest_inline


@needs_checkout
def test_every_benchmark_runs_once_and_the_report_reads_them(tmp_path):
    saved = tmp_path / "tiny.json"
    result = run_pytest_inline("benchmarks", "-q", "--bench-sizes", "tiny", "--benchmark-min-rounds=1",
                        "--benchmark-max-time=0.000001", "--benchmark-warmup=off",
                        f"--benchmark-json={saved}",
                        tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    benchmarks = json.loads(saved.read_text())["benchmarks"]
    losses = {b["extra_info"]["loss"] for b in benchmarks if "loss" in b["extra_info"]}
    assert {"cross_entropy", "ctc_loss", "mse_loss"} <= losses
    chart = tmp_path / "ratios.png" if importlib.util.find_spec("matplotlib") else None
    chart_options = ["--chart", str(chart)] if chart else []
    report.main([str(saved), "--markdown", str(tmp_path / "bench.md")] + chart_options)
    text = (tmp_path / "bench.md").read_text()
    assert "| cross_entropy | tiny | 6x5 | float32 |" in text and "| copy | float64 |" in text
    assert "| margin | gradients |" in text  # the suite's own speed
    assert chart is None or chart.stat().st_size > 10_000
