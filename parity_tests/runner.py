"""One runner for the batched items of values, gradients and the transforms' checks.

An item is one loss x device x dtype and runs all of its cases. Each case gives one check of
its value or one per differentiated argument (an `Outcome`), and each check a verdict:

- agrees: within the tolerance of the reference;
- shares torch's known divergence: differs where the ledger says torch eager differs, and the
  way torch eager does (for a candidate: its output is torch eager's there); under --compile,
  also where a compile-ledger entry names it, and where compiled torch misses with torch eager's
  own output that no ledger names (torch's divergence, not compile's: noted in the row and listed
  after the table);
- agrees where torch diverges: a candidate right where torch eager is known to be wrong (for
  torch eager itself this fails: a fixed divergence must leave the ledger);
- new divergence: anything else; these fail the item, which lists every one, the first in full,
  each with the command that reruns it alone;
- unsupported: the implementation says it has no such kernel, derivative or transform (torch's
  '"nll_loss_out_frame" not implemented for 'Half'', "derivative for aten::_ctc_loss_backward is
  not implemented"): data for the table, with torch's message; an item of nothing else skips.
"""
import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pytest
import torch

from .autocast_policy import autocast_policy
from .case_ids import CheckId, rerun_line, value_id
from .harness import (
    TORCH_DTYPES,
    NotBatchable,
    ParityMismatch,
    Tolerance,
    backward_of,
    compare,
    describe_call,
    differentiable_call,
    expected_dtype,
    lacks_keywords,
    run_autocast,
    run_backward,
    run_double_backward,
    run_reference,
    run_torch,
    run_vmap,
    selected_cases,
    torch_arguments,
    upstream_has_zeros,
)
from .tolerances_and_ledgers import any_match, compile_divergences_for, divergences_for, tolerance_for
from .under_test import UnderTest, parity_run

SHOWN_IN_FULL = 3  # failing checks whose whole message a failing item shows
AGREES, SHARED, BETTER, NEW, UNSUPPORTED = VERDICTS = (
    "agrees", "shares torch's known divergence", "agrees where torch diverges",
    "new divergence", "unsupported")
EAGER_TOO = ("some checks miss the reference with torch eager's own output, in no ledger: torch's "
             "divergence, not compile's (listed after the table)")
# what torch raises where it has no kernel for a dtype, no derivative of the order asked for
# (double backward) or no support for a transform (vmap): the check is then "unsupported"
NOT_IMPLEMENTED = ("is not implemented", "not implemented for", "does not support double backward",
                   "must override the setup_context", "data-dependent control flow",
                   "Batching rule not implemented")


def not_implemented(error):
    """'<type>: <torch's message>' where an error says that torch lacks a kernel, derivative or
    transform (NOT_IMPLEMENTED), else ''."""
    message = str(error)
    if not any(text in message for text in NOT_IMPLEMENTED):
        return ""
    return f"{type(error).__name__}: {message.splitlines()[0]}"


def skip_if_not_implemented(error, what):
    """A visible skip of `what` (e.g. 'ctc_loss in float16 on cpu') naming the torch version and
    its message where torch lacks a kernel; else the error is raised again."""
    if not not_implemented(error):
        raise error
    pytest.skip(f"{what}: torch {torch.__version__}: {not_implemented(error)}")


def item_params(config, records, kind, dtypes=None):
    """pytest params (record, device, dtype, cases) for every combination the session selects
    (--device, --dtype or `dtypes`, --case; under --compile the compile cases) for checks of
    this kind (value, gradient, or double_backward on the grids only: central differences
    cannot straddle an edge case's kink);
    the cases the implementation under test cannot run (a newer torch feature, a function a
    candidate lacks) form an item of their own, skipped with why, as does, for derivatives, a
    registered record without a reference gradient."""
    run = parity_run(config)
    if kind == "gradient" and run.under_test.backend:
        return [pytest.param(None, None, None, [], id="compiled", marks=pytest.mark.skip(
            reason="under --compile test_parity checks each case's gradients with its value, from one "
                   "compiled call (the training graph)"))]
    groups = {}
    for record, case, device, dtype in selected_cases(records, run.devices, dtypes or run.dtypes,
                                                      grid_only=kind == "double_backward",
                                                      compiling=bool(run.under_test.backend)):
        if not run.case_patterns or any_match(case.name, run.case_patterns):
            keywords = case.arguments()[1] if lacks_keywords(record) else ()
            why = run.under_test.missing(record, keywords, case.variant)
            groups.setdefault((record.name, device, dtype, why), (record, []))[1].append(case)
    no_reference_gradient = lambda record: pytest.mark.skip(
        reason=f"{record.name}: no reference gradient (gradient= in its record)")
    no_gradient = [pytest.param(record, None, None, [], id=f"{record.name}-no-gradient",
                                marks=no_reference_gradient(record))
                   for record in records if kind != "value" and not record.gradient]
    return [pytest.param(record, device, dtype, cases,
                         id=f"{name}-{device}-{dtype}" + ("-skipped" if why else ""),
                         marks=[pytest.mark.skip(reason=why)] if why else [])
            for (name, device, dtype, why), (record, cases) in groups.items()
            if kind == "value" or record.gradient] + no_gradient


def parity_row(label, device, dtype, tolerance):
    """An empty row of the measured table, which an item fills in (checks per verdict, the
    largest errors, the check ids) and reports as its ("parity", row) user property."""
    return {"loss": label, "device": device, "dtype": dtype, "tolerance": tolerance.source,
            "rtol": tolerance.rtol, "atol": tolerance.atol, "cases": 0, "abs": 0.0, "rel": 0.0,
            "fraction": 0.0, "ids": [], "notes": [], "eager_unledgered": [], **dict.fromkeys(VERDICTS, 0)}


@dataclass
class Outcome:
    """One check: "passed", "mismatch" or "error", what was measured, the message of a
    failure, and the implementation's output (compared with torch eager's at a known divergence)."""

    check: CheckId
    kind: str
    tolerance: Tolerance
    measured: Optional[dict] = None
    message: str = ""
    actual: Any = None
    ledger_ids: tuple = ()  # further ids whose known divergences apply (an autocast check: the plain
    # check in the dtype it computed in, whose kernel it ran; a vmap check: the plain one)
    note: str = ""  # for the measured table's notes (e.g. the batching rules vmap lacked)


class CaseChecks:
    """The checks of one case of an item, for one implementation: `values()` or `gradients()`."""

    def __init__(self, record, case, device, dtype, under_test, node):
        self.record, self.case, self.device, self.dtype = record, case, device, dtype
        self.under_test, self.node = under_test, node
        self.function = under_test.function(record)

    def context(self, what="value"):
        """The case, enough to reproduce it: made only for a failure."""
        upstream = ", upstream with zeros" if what == "gradient" and upstream_has_zeros(self.case) else ""
        call = describe_call(self.record, *torch_arguments(self.case, self.dtype, self.device)[0])
        return (f"case: {what} of {self.record.name} on {self.device} in {self.dtype} by "
                f"{self.under_test.name}, {self.case.name!r} (seed {self.case.seed}, layout "
                f"{self.case.layout}{upstream})\n  call: "
                f"{call.replace(self.record.name, self.under_test.qualified_name(self.record), 1)}\n  "
                f"{rerun_line(self.node, self.case.name)}")

    def compared(self, check, actual, expected, dtype, tolerance, what, prefix="", context=None,
                 alternative=None):
        """The Outcome of comparing `actual` with the reference's `expected` (compare, with the
        other one-sided derivative at kinks), a mismatch's message led by `prefix` and followed by
        the case; which side of a kink the implementation took goes into the note."""
        try:
            measured = compare(actual, expected, dtype, tolerance, context or (lambda: self.context(what)),
                               self.under_test.label, alternative=alternative)
            note = kink_side(self.under_test.label, actual, expected, alternative)
            return Outcome(check, "passed", tolerance, measured, actual=actual, note=note)
        except ParityMismatch as mismatch:
            return Outcome(check, "mismatch", tolerance, mismatch.measurement, f"{prefix}{mismatch}", actual)

    def raised(self, check, tolerance, error, what):
        """An "unsupported" Outcome where torch says it has no such kernel, derivative or
        transform (NOT_IMPLEMENTED: e.g. '"nll_loss_out_frame" not implemented for 'Half''), with
        its version and message; else an error."""
        if not_implemented(error):
            version = f"torch {torch.__version__}: " if self.under_test.is_torch \
                else f"{self.under_test.label}: "
            return Outcome(check, "unsupported", tolerance, message=f"{version}{not_implemented(error)}")
        return self.error(check, tolerance, error, what)

    def error(self, check, tolerance, error, what):
        return Outcome(check, "error", tolerance,
                       message=f"{type(error).__name__}: {error}\n  {self.context(what)}")

    def values(self, run=run_torch):
        """The value check; `run` calls the implementation (harness.run_torch's arguments and results)."""
        check = CheckId(self.record.name, self.device, self.dtype, self.case.name)
        tolerance = tolerance_for(self.record.name, self.device, self.dtype, self.case.name)
        try:
            actual, torch_call, numpy_call = run(self.record, self.case, self.dtype, self.device,
                                                 self.function)
        except Exception as error:  # the implementation raised: a missing kernel is unsupported
            # (else an error)
            return [self.raised(check, tolerance, error, "value")]
        try:
            expected = run_reference(self.record, torch_call, numpy_call)
        except Exception as error:  # the reference raised: never a silent pass
            return [self.error(check, tolerance, error, "value")]
        return [self.compared(check, actual, expected, expected_dtype(torch_call[1], self.dtype),
                              tolerance, "value")]

    def gradients(self, run=run_backward):
        """A check per differentiated argument; `run` as harness.run_backward."""
        tolerance = lambda name: tolerance_for(self.record.name, self.device, self.dtype, self.case.name,
                                               kind="gradient", argument=name)
        check = lambda name: CheckId(self.record.name, self.device, self.dtype, self.case.name, name)
        try:
            gradients = run(self.record, self.case, self.dtype, self.device, self.function)
        except Exception as error:  # the backward (perhaps a missing kernel) or the reference's
            # gradient raised
            return [self.raised(check(name), tolerance(name), error, "gradient")
                    for name in self.record.differentiable[:1]]
        outcomes = []
        for name, (actual, expected, alternative) in gradients.items():
            if actual is None:
                outcomes.append(Outcome(check(name), "error", tolerance(name),
                                        message=f"{self.under_test.label} gave no gradient for {name}\n  "
                                                f"{self.context('gradient')}"))
                continue
            outcomes.append(self.compared(check(name), actual, expected, actual.dtype,
                                          tolerance(name), "gradient",
                                          f"gradient of {name}: ", alternative=alternative))
        return outcomes

    def values_and_gradients(self):
        """The value and gradient checks of one call (harness.differentiable_call): under
        --compile both then come from the one graph compiled for training, where separate calls
        would compile an inference graph beside it (a graph more a case, twice the cost)."""
        if not self.record.gradient:
            return self.values()
        forward = first_result(lambda: differentiable_call(self.record, self.case, self.dtype, self.device,
                                                           self.function))

        def value(*_):
            _, _, output, _, torch_call, numpy_call = forward()
            return output.detach(), torch_call, numpy_call
        return self.values(value) + self.gradients(lambda *_: backward_of(self.record, forward()))

    def second_derivatives(self):
        """Hessian-vector products per differentiated argument (harness.run_double_backward)."""
        tolerance = tolerance_for(self.record.name, self.device, self.dtype, self.case.name,
                                  kind="double_backward")
        check = lambda name: CheckId(self.record.name, self.device, self.dtype, self.case.name, name,
                                     "double_backward")
        try:
            products = run_double_backward(self.record, self.case, self.dtype, self.device, self.function)
        except Exception as error:  # no double backward, or one that raises
            return [self.raised(check(self.record.differentiable[0]), tolerance, error, "second derivative")]
        outcomes = []
        for name, (actual, expected) in products.items():
            if expected is None:
                outcomes.append(Outcome(check(name), "unsupported", tolerance,
                                        message=f"not checked by the reference: "
                                        f"{name}: {self.record.no_finite_differences[name]}"))
                continue
            if not np.isfinite(expected).all():  # the reference's gradient is not finite near this case
                continue
            outcomes.append(self.compared(check(name), actual, expected, actual.dtype, tolerance,
                                          "second derivative",
                                          f"Hessian-vector product of {name} (central differences of the "
                                          "reference's gradient): "))
        return outcomes

    def autocast_values(self):
        """The value under torch.autocast (harness.run_autocast): the output dtype the policy
        gives, the value within the tolerance of the precision it was computed in."""
        policy = autocast_policy(self.record.name, self.device)
        check = CheckId(self.record.name, self.device, self.dtype, self.case.name, transform="autocast")
        if policy is None:
            return [Outcome(check, "unsupported", Tolerance(0.0, 0.0, "none"),
                            message=f"no autocast policy for {self.record.name} on {self.device} in "
                                    "fixtures/autocast.json")]
        computed_in = policy.computed_in(self.dtype)
        tolerance = tolerance_for(self.record.name, self.device, computed_in, self.case.name)
        plain = (value_id(self.record.name, self.device, computed_in, self.case.name),)
        try:
            actual, expected, torch_call = run_autocast(self.record, self.case, self.dtype,
                                                        self.device, policy,
                                                        self.function)
        except Exception as error:  # the implementation or the reference raised: never a silent pass
            return [dataclasses.replace(self.error(check, tolerance, error, "autocast value"),
                                        ledger_ids=plain)]
        wanted = torch_call[1].get("dtype") or TORCH_DTYPES[policy.output_dtype(self.dtype)]
        context = lambda: (f"autocast policy: {policy.describe(self.dtype)}\n"
                           f"  {self.context('autocast value')}")
        outcome = self.compared(check, actual, expected, wanted, tolerance, "autocast value", context=context)
        return [dataclasses.replace(outcome, ledger_ids=plain)]

    def vmap_checks(self):
        """The value and per-sample gradients of VMAP_SAMPLES samples under torch.func.vmap
        (harness.run_vmap), each against the reference sample by sample."""
        name = self.record.name
        check = lambda argument="": CheckId(name, self.device, self.dtype, self.case.name, argument, "vmap")
        plain = lambda argument="": (str(CheckId(name, self.device, self.dtype, self.case.name, argument)),)
        tolerance = tolerance_for(name, self.device, self.dtype, self.case.name)
        try:
            (actual, expected), gradients, fallbacks = run_vmap(self.record, self.case,
                                                                self.dtype, self.device,
                                                                self.function)
        except NotBatchable as reason:
            return [Outcome(check(), "unsupported", tolerance, message=f"not batchable: {reason}")]
        except Exception as error:
            return [dataclasses.replace(self.raised(check(), tolerance, error, "vmap value"),
                                        ledger_ids=plain())]
        note = f"no batching rule, vmap loops: {', '.join(fallbacks)}" if fallbacks else ""
        wanted = expected_dtype(torch_arguments(self.case, self.dtype, self.device)[0][1], self.dtype)
        outcomes = [dataclasses.replace(self.compared(check(), actual, expected, wanted,
                                                      tolerance, "vmap value",
                                                      "value of every sample: "),
                                                      ledger_ids=plain(), note=note)]
        for argument, (actual, expected, alternative) in gradients.items():
            gradient_tolerance = tolerance_for(name, self.device, self.dtype, self.case.name, kind="gradient",
                                               argument=argument)
            outcome = self.compared(check(argument), actual, expected, actual.dtype, gradient_tolerance,
                                    "vmap gradient", f"per-sample gradient of {argument}: ",
                                    alternative=alternative)
            outcomes.append(dataclasses.replace(outcome, ledger_ids=plain(argument),
                                                note=note or outcome.note))
        return outcomes

    def same_as_torch_eager(self, outcome, what):
        """Whether the candidate's failed check is torch eager's own result there: both raise, or
        the candidate's output is within the tolerance of torch eager's in the same check."""
        eager = CaseChecks(self.record, self.case, self.device, self.dtype, UnderTest("torch"), self.node)
        same = [found for found in getattr(eager, what)() if found.check == outcome.check]
        if not same or outcome.kind == "error" or same[0].kind in ("error", "unsupported"):
            return bool(same) and outcome.kind == same[0].kind == "error"
        try:
            compare(outcome.actual, same[0].actual.detach().cpu().double().numpy(), same[0].actual.dtype,
                    outcome.tolerance, "", self.under_test.label, "torch eager")
        except ParityMismatch:
            return False
        return True


def first_result(function):
    """A function of no arguments that returns (or raises) what `function` did on its first call."""
    results = []

    def call():
        if not results:
            try:
                results.append((function(), None))
            except Exception as error:  # kept to raise again: each check reports it
                results.append((None, error))
        value, error = results[0]
        if error is not None:
            raise error
        return value
    return call


def kink_side(label, actual, expected, alternative):
    """Which one-sided derivative the implementation took at a hinge's kink, for the table's
    notes, so that a change between versions shows as a change of convention; '' off kinks."""
    at_kink = None if alternative is None else expected != alternative
    if at_kink is None or not at_kink.any():
        return ""
    got = actual.detach().cpu().double().numpy()[at_kink]
    passing, other = np.isclose(got, expected[at_kink]), np.isclose(got, alternative[at_kink])
    side = ("passes the gradient (as clamp_min at 0)" if passing.all() else
            "takes the other one-sided derivative" if other.all() else "takes a value between the two")
    return f"at a hinge's kink {label} {side}"


def verdict(checks, outcome, known, what, compile_known=()):
    """The verdict of one check (of `what`: values, gradients...) at the ledger entries `known`
    of its id (see the module's docstring), or under --compile at the compile ledger's entries
    `compile_known`, which say compiled torch diverges there whatever eager does."""
    if outcome.kind == "unsupported":
        return UNSUPPORTED
    if compile_known:
        strict = all(entry.get("strict", True) for entry in compile_known)
        return SHARED if outcome.kind in ("mismatch", "error") or not strict else BETTER
    if not known:
        return AGREES if outcome.kind == "passed" else NEW
    if not all(entry.get("strict", True) for entry in known):
        return SHARED  # the ledger says torch's value is arbitrary there (uninitialised memory)
    if outcome.kind == "passed":
        return BETTER
    if outcome.kind == "error" and not all(entry.get("torch_raises") for entry in known):
        return NEW  # the ledger says torch computes a wrong value there, not that it raises
    if checks.under_test.is_torch:
        return SHARED
    return SHARED if checks.same_as_torch_eager(outcome, what) else NEW


class ItemRunner:
    """Runs an item's cases, gives each check its verdict, reports the rows of the measured
    table and fails listing every new divergence."""

    def __init__(self, request, record, device, dtype):
        self.request, self.record, self.device, self.dtype = request, record, device, dtype
        self.under_test = parity_run(request.config).under_test
        self.rows, self.problems = {}, []

    def run(self, cases, what):
        """`what`: "values" or "gradients"."""
        started, count = time.perf_counter(), 0
        for case in cases:
            checks = CaseChecks(self.record, case, self.device, self.dtype, self.under_test,
                                self.request.node)
            for outcome in getattr(checks, what)():
                self.add(checks, outcome, what)
                count += 1
        node = self.request.node
        for row in self.rows.values():
            node.user_properties.append(("parity", row))
        node.user_properties.append(("parity_seconds", (what, count, time.perf_counter() - started)))
        if self.under_test.backend:
            from .compiled import compiler
            node.user_properties.append(("compile_stats", {**compiler(self.under_test.backend).stats(),
                                                           "pid": os.getpid()}))
        unsupported = sum(row[UNSUPPORTED] for row in self.rows.values())
        if count and unsupported == count and not self.problems:  # one visible skip, with torch's message
            notes = sorted({note for row in self.rows.values() for note in row["notes"]})
            pytest.skip(f"{self.record.name} on {self.device} in {self.dtype}, {what}: {notes[0]}")
        if self.problems:
            failing = list(dict.fromkeys(name for name, _ in self.problems))  # a case fails once per argument
            shown = "\n\n".join(message for _, message in self.problems[:SHOWN_IN_FULL])
            pytest.fail(f"{len(failing)} of {len(cases)} cases of {self.record.name}'s {what} on "
                        f"{self.device} in {self.dtype} by {self.under_test.name} diverge; the first "
                        f"{min(len(self.problems), SHOWN_IN_FULL)} in full:\n\n{shown}\n\n"
                        f"all failing cases: " + ", ".join(failing), pytrace=False)

    def add(self, checks, outcome, what):
        own = divergences_for(str(outcome.check)) if self.under_test.ledger else []
        inherited = [entry for check_id in outcome.ledger_ids for entry in divergences_for(check_id)] \
            if self.under_test.ledger else []
        known = own + [entry for entry in inherited if entry not in own]
        compile_known = compile_divergences_for(str(outcome.check), self.under_test.backend) \
            if self.under_test.backend and self.under_test.ledger else []
        found = verdict(checks, outcome, known, what, compile_known)
        # compiled torch that misses the reference with torch eager's own output: eager's divergence, which
        # the compile run's own data (its resized cases) met, not compile's
        eager_too = found == NEW and outcome.kind == "mismatch" and bool(self.under_test.backend) \
            and not known and checks.same_as_torch_eager(outcome, what)
        found = SHARED if eager_too else found
        row = self.rows.setdefault((outcome.check.label, outcome.tolerance.source),
                                   parity_row(outcome.check.label, self.device, self.dtype,
                                              outcome.tolerance))
        row["cases"] += 1
        row["ids"].append(str(outcome.check))
        row[found] += 1
        if eager_too:
            row["eager_unledgered"].append(str(outcome.check))
        notes = [f"unsupported: {outcome.message}"] if found == UNSUPPORTED else []
        notes += [EAGER_TOO] if eager_too else []
        row["notes"] = sorted({*row["notes"], *notes, *([outcome.note] if outcome.note else [])})
        if found == UNSUPPORTED:
            return
        if found == SHARED:
            return
        message = outcome.message
        if found == BETTER and compile_known:
            message = (f"torch.compile now agrees with the reference on a known compile divergence "
                       f"({', '.join(entry['id'] for entry in compile_known)}): update "
                       "fixtures/known_compile_divergences.json\n  "
                       f"{rerun_line(self.request.node, checks.case.name)}")
            row[found], row[NEW] = row[found] - 1, row[NEW] + 1
        # (an inherited entry: the transform does better)
        elif found == BETTER and self.under_test.is_torch and own:
            message = (f"torch now agrees with the reference on a known divergence "
                       f"({', '.join(entry['id'] for entry in known)}): update "
                       f"fixtures/known_divergences.json\n"
                       f"  {rerun_line(self.request.node, checks.case.name)}")
            row[found], row[NEW] = row[found] - 1, row[NEW] + 1
        elif found == NEW and outcome.kind != "error" and known:
            message = f"{message}\n  (a case of torch's known divergence {known[0]['id']}, where " \
                      f"{self.under_test.label} differs from torch eager too)"
        elif found == NEW and outcome.kind == "mismatch" and self.under_test.backend:
            message = f"{message}\n  (torch eager's output differs: a compile-only divergence)"
        if found == NEW or message != outcome.message:
            self.problems.append((checks.case.name, message))
        measured = outcome.measured or {"abs": float("inf"), "rel": float("inf"), "fraction": float("inf")}
        for key in ("abs", "rel", "fraction"):
            row[key] = max(row[key], measured[key])
