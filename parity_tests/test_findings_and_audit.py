"""The audit and the findings: their commands' pieces on a small scale, and the committed audit
behind every low-precision tolerance."""
import json
import math
import re
import subprocess
import sys

import pytest

from . import audit, findings
from .tolerances_and_ledgers import LEDGER, TOLERANCES


def test_an_audit_of_a_few_draws_measures_values_and_gradients(torch_under_test):
    rows = audit.audit("mse_loss", "float16", 50)
    checks = {(row["kind"], row["argument"]) for row in rows}
    assert {("value", ""), ("gradient", "input"), ("gradient", "target")} <= checks, checks
    value = next(row for row in rows if row["kind"] == "value")
    assert value["draws"] >= 40 and 0 < value["max"] < 1
    assert value["tolerances"] == {"distance-float16": value["draws"]}
    assert json.loads(value["worst"]["replay"])[0] is not None  # a draw that replays


def test_the_committed_audit_backs_every_low_precision_tolerance():
    """Each float16/bfloat16 tolerance (the defaults and every override) names the audit, and the
    committed audit lists the rows it applied to (or says the draws did not reach it)."""
    committed = json.loads((audit.DOCS / "audit.json").read_text())
    assert committed["draws"] >= 10_000
    cited = set(committed["citations"])
    sources = set(audit.tolerance_citations(committed["rows"]))
    assert sources <= cited, f"tolerances the committed audit does not list: {sorted(sources - cited)}"
    unaudited = [override["id"] for override in TOLERANCES["overrides"] if override["id"] in sources
                 and "docs/audit.md" not in override.get("audit", "")]
    assert not unaudited, f"low-precision overrides that do not cite docs/audit.md: {unaudited}"
    assert all("docs/audit.md" in TOLERANCES[table][dtype].get("audit", "") for dtype in audit.LOW_PRECISION
               for table in ("defaults", "gradient_defaults")), "a low-precision default without its audit"


def test_a_finding_reproduces_standalone(tmp_path, torch_under_test):
    """The reproducer of a ledger entry runs with torch alone and shows torch's value beside a
    different right one."""
    entry = next(entry for entry in LEDGER if entry["id"] == "soft_margin_loss_overflow")
    script = tmp_path / "reproducer.py"
    script.write_text(findings.reproducer(entry, *findings.first_check(entry)[:4]))
    result = subprocess.run([sys.executable, "-W", "ignore", str(script)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    parse = lambda label: eval(re.search(rf"^{label}: (.*)$", result.stdout, re.M).group(1),
                               {"inf": math.inf, "nan": math.nan})
    torch_value, right = parse("torch"), parse("right")
    assert math.isinf(torch_value[2]) and right[2] == pytest.approx(1000.0), result.stdout
