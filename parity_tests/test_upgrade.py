"""The upgrade command's judgement: causes of changes between two torch versions, found from
what the two recorded (warnings, kernels run, errors, kink sides, the cases each could not run)."""
import numpy as np

from . import upgrade
from .golden import Change, Output, record_outputs, save_golden
from .harness import run_backward, skip_if_unavailable
from .records import BY_NAME


def output(values, notes=()):
    return Output("float64", np.asarray(values, dtype=np.float64), notes=tuple(notes))


def cause(kind, before=None, after=None, kink=("", ""), check="l1_loss-cpu-float64-same-2d-mean", old=None,
          new=None, unchanged=()):
    return upgrade.cause_of(Change(check, "l1_loss", "float64", kind), before, after, old or {}, new or {},
                            set(unchanged), kink)


def test_causes_are_told_from_what_the_two_torches_recorded():
    one, two = output([1.0]), output([1.5])
    assert cause("drifted", one, two,
                 kink=("passes the gradient", "takes the other one-sided derivative")) == \
        "convention change at a kink: passes the gradient -> takes the other one-sided derivative"
    ignored = "linear_cross_entropy: ``options`` ignored; chunked path needs label_smoothing == 0"
    assert cause("drifted", output([1.0], [ignored]), output([1.5], ["ran chunked"])).startswith(
        "kernel routing: now runs chunked (the old torch said: linear_cross_entropy: ``options`` ignored")
    assert cause("fixed",
                 Output(error="NotImplementedError: \"mse_cpu\" not implemented for 'BFloat16'"), two) \
        .startswith("dtype support gained")
    why = "l1_loss: weight= (torch 2.6) newer than torch 2.2.2"
    assert cause("new", check="l1_loss.dinput-cpu-float64-same-2d-weight-mean",
                 old={"l1_loss-cpu-float64-same-2d-weight-mean": why}) == \
        f"API: the old torch could not run it ({why})"
    assert cause("drifted", one, two, unchanged={"l1_loss-cpu-float64-same-2d-none"}) == \
        "reduction order (its unreduced case is unchanged)"
    assert cause("regressed", one, two, check="kl_div-cpu-float64-zero_target_at_minus_inf_input-sum") == \
        "ledger entry kl_div_zero_target_at_minus_inf_input regressed"
    assert cause("drifted", one, two) == ""
    assert cause("hardware", one, two).startswith("another machine")


def test_a_gradient_that_takes_the_other_side_of_a_kink_is_a_convention_change(tmp_path):
    """A record whose gradient at hinge_embedding_loss's kink is the other one-sided derivative
    (as torch 2.13's and 2.14's differ), compared with this torch: a change of convention, with
    its case id, and nothing else changed."""
    record = BY_NAME["hinge_embedding_loss"]
    skip_if_unavailable(record)
    outputs, seeds = record_outputs([record], "cpu", ["float64"], gradients=True)
    case = next(case for case in record.cases() if case.name == "on_kink-none")
    _, expected, other_side = run_backward(record, case, "float64", "cpu")["input"]
    check = "hinge_embedding_loss.dinput-cpu-float64-on_kink-none"
    mine = upgrade.kink_choice(outputs[check], expected, other_side)
    outputs[check] = Output("float64", other_side if mine.startswith("passes") else expected)
    save_golden(tmp_path / "record.npz", outputs, seeds, "cpu")
    report, = upgrade.compare([tmp_path / "record.npz"], "cpu", losses=["hinge_embedding_loss"])
    changed = [change for change in report["changes"] if change.kind != "unchanged"]
    assert [change.id for change in changed] == [check], changed
    assert changed[0].cause.startswith("convention change at a kink: ") and mine in changed[0].cause
    assert report["machine"] == "the same CPU kernels, device and NumPy"
