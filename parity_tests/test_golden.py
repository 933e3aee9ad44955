"""The torch-upgrade oracle: the running torch against a golden file (with --golden PATH), the
committed golden file's reproducibility, and each class of change on a perturbed golden file."""
import functools
from pathlib import Path

import numpy as np
import pytest
import torch

from .case_ids import parse
from .golden import (
    Output,
    compare_with_golden,
    golden_path,
    load_golden,
    other_machine,
    record_outputs,
    save_golden,
    summarize,
    within_band,
)
from .harness import present_devices
from .records import BUILT_IN, BY_NAME
from .under_test import parity_run

COMMITTED = golden_path("cpu", "2.13.0")


@functools.lru_cache
def golden(path):
    return load_golden(Path(path))


def pytest_generate_tests(metafunc):
    """One item per loss with --golden PATH; without it, one item that the plugin deselects."""
    if "golden_loss" not in metafunc.fixturenames:
        return
    path = metafunc.config.getoption("--golden")
    if not path:
        metafunc.parametrize("golden_loss",
                             [pytest.param(None, id="no-golden", marks=pytest.mark.needs_option("--golden"))])
        return
    losses = {parse(test_id).loss for test_id in golden(path)[1]} | set(BY_NAME)
    metafunc.parametrize("golden_loss", sorted(losses))


def test_torch_against_golden(golden_loss, request):
    """Every case of the loss against the golden file: regressed cases fail; every class goes
    into the drift table at the end of the run."""
    manifest, outputs = golden(request.config.getoption("--golden"))
    if manifest["device"] not in present_devices():
        pytest.skip(f"the golden file was recorded on {manifest['device']}, absent here")
    loss = golden_loss
    changes = compare_with_golden(outputs, [loss], manifest["device"], parity_run(request.config).dtypes,
                                  bool(other_machine(manifest, manifest["device"])))
    for row in summarize(changes):
        request.node.user_properties.append(("golden", row))
    regressed = [change for change in changes if change.kind == "regressed"]
    if regressed:
        pytest.fail(f"torch {torch.__version__} regressed against the golden torch {manifest['torch']} on "
                    f"{len(regressed)} case(s) of {loss}; distance to the reference as a fraction of the "
                    "tolerance, before -> after:\n" + "\n".join(
                        f"  {change.id}: {change.before:.3g} -> {change.after:.3g} (|change| "
                        f"{change.change:.3g})"
                        for change in regressed[:10]), pytrace=False)


def test_committed_golden_file_is_reproducible(tmp_path, torch_under_test):
    """Recording again gives the committed file's cases, seeds, dtypes and shapes, and its values
    bit for bit on a CPU with the instruction sets it was recorded on and the same NumPy; on
    another CPU (MKL and oneDNN pick kernels by instruction set) or NumPy (which makes the
    inputs) each value within its dtype's parity tolerance of the committed one, the band such a
    change may move it by."""
    manifest, committed = load_golden(COMMITTED)
    if torch.__version__ != manifest["torch"]:
        pytest.skip(f"{COMMITTED.name} was recorded with torch {manifest['torch']}; this is torch "
                    f"{torch.__version__}")
    outputs, seeds = record_outputs(BUILT_IN, "cpu")
    save_golden(tmp_path / "again.npz", outputs, seeds, "cpu")
    again_manifest, again = load_golden(tmp_path / "again.npz")
    hint = ("; if the records changed on purpose, record again with torch 2.13.0: "
            "python -m parity_tests.golden --out fixtures/golden/torch-2.13.0-cpu.npz --force")
    # (keyed by check id: the order of the records, which a restructuring may change, is not compared)
    assert sorted(again) == sorted(committed), "the recorded cases differ from the committed ones" + hint
    assert sorted(tuple(row[:2]) for row in again_manifest["cases"]) == \
        sorted(tuple(row[:2]) for row in manifest["cases"]), "seeds" + hint
    # NumPy makes the inputs (its log and exp may round differently across versions and CPUs)
    same_machine = (again_manifest["cpu_capability"], again_manifest["cpu_flags"],
                    again_manifest["numpy"]) == \
        (manifest["cpu_capability"], manifest.get("cpu_flags"), manifest["numpy"])
    differing = [test_id for test_id in committed if not committed[test_id].same_as(again[test_id])
                 and (same_machine or not within_band(test_id, committed[test_id], again[test_id]))]
    assert not differing, (f"{len(differing)} outputs differ from {COMMITTED.name} "
                           f"{'bit for bit' if same_machine else 'beyond their dtype tolerance'} "
                           f"(numpy {manifest['numpy']} then, {np.__version__} now), first: "
                           f"{differing[:5]}{hint}")


def test_a_perturbed_golden_file_reports_each_class(tmp_path, torch_under_test):
    """Record kl_div and l1_loss in float64, perturb the file, and check each class is found."""
    records = [BY_NAME["kl_div"], BY_NAME["l1_loss"]]
    outputs, seeds = record_outputs(records, "cpu", ["float64"])
    save_golden(tmp_path / "golden.npz", outputs, seeds, "cpu")
    _, golden_outputs = load_golden(tmp_path / "golden.npz")
    assert all(golden_outputs[test_id].same_as(outputs[test_id]) for test_id in outputs)

    def nudged(test_id, values):
        return Output(golden_outputs[test_id].dtype, np.asarray(values))
    drifted, fixed = "l1_loss-cpu-float64-same-2d-mean", "l1_loss-cpu-float64-same-2d-sum"
    # moved toward the reference, within the tolerance both times: drifted, not fixed
    golden_outputs[drifted] = nudged(drifted, golden_outputs[drifted].values * (1 + 5e-8))
    golden_outputs[fixed] = nudged(fixed, golden_outputs[fixed].values * 1.01)  # was out of tolerance
    # a known divergence (torch nan where the reference is 0): a golden torch that was right
    regressed = "kl_div-cpu-float64-zero_target_at_minus_inf_input-sum"
    golden_outputs[regressed] = nudged(regressed, np.zeros(()))
    new = "l1_loss-cpu-float64-same-2d-none"
    del golden_outputs[new]
    removed = "l1_loss-cpu-float64-a_case_no_longer_in_the_registry"
    golden_outputs[removed] = Output("float64", np.zeros(()))

    changes = {change.id: change for change in compare_with_golden(golden_outputs, ["kl_div", "l1_loss"],
                                                                     "cpu", ["float64"])}
    assert {test_id: change.kind for test_id, change in changes.items() if change.kind != "unchanged"} == \
        {drifted: "drifted", fixed: "fixed", regressed: "regressed", new: "new", removed: "removed"}
    assert changes[drifted].after < changes[drifted].before < 1
    assert 0.1 < changes[drifted].change_of_tolerance < 1
    assert changes[fixed].before > 1 >= changes[fixed].after
    rows = {row["loss"]: row for row in summarize(changes.values())}
    assert rows["kl_div"]["class"] == "regressed" and rows["l1_loss"]["class"] == "fixed"
    assert (rows["l1_loss"]["drifted"], rows["l1_loss"]["new"], rows["l1_loss"]["removed"]) == (1, 1, 1)


def test_a_change_within_the_band_on_another_machine_is_the_hardware(torch_under_test):
    """The same change is torch's (drifted) on the recording's machine and the hardware's on
    another; one beyond the band is torch's either way."""
    outputs, _ = record_outputs([BY_NAME["l1_loss"]], "cpu", ["float64"])
    small, large = "l1_loss-cpu-float64-same-2d-mean", "l1_loss-cpu-float64-same-2d-sum"
    moved = dict(outputs)
    moved[small] = Output("float64", np.asarray(outputs[small].values * (1 + 3e-8)))  # 1/3 of the tolerance
    moved[large] = Output("float64", np.asarray(outputs[large].values * 1.01))
    for on_another, expected in ((False, "drifted"), (True, "hardware")):
        changes = compare_with_golden(moved, ["l1_loss"], "cpu", ["float64"], other_machine=on_another)
        kinds = {change.id: change.kind for change in changes}
        assert (kinds[small], kinds[large]) == (expected, "fixed"), on_another


def test_the_committed_golden_file_shows_no_torch_change_with_its_torch(torch_under_test):
    """Recorded on an AVX-512 CPU, compared here (any CPU) with the same torch: every change is
    the hardware's (within the band), none torch's; on the recording's CPU nothing changes."""
    manifest, committed = load_golden(COMMITTED)
    if torch.__version__ != manifest["torch"]:
        pytest.skip(f"{COMMITTED.name} was recorded with torch {manifest['torch']}; this is torch "
                    f"{torch.__version__}")
    losses = ["linear_cross_entropy", "log_softmax", "cross_entropy", "kl_div",
              "ctc_loss"]  # those a CPU moves
    changes = compare_with_golden(committed, losses, "cpu",
                                  other_machine=bool(other_machine(manifest, "cpu")))
    torch_changes = [change.id for change in changes if change.kind not in ("unchanged", "hardware")]
    assert not torch_changes, f"{len(torch_changes)} changes called torch's, first: {torch_changes[:5]}"
