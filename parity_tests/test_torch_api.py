"""What torch must do besides computing values: agree with its nn modules, reject bad calls,
and have no loss the registry does not know."""
import fnmatch
import functools
import inspect
import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.torch_version import TorchVersion

from .api_drift import ApiDrift, expected_parameters, parameters, signature_drift, torch_signature
from .case_ids import CheckId, value_id
from .harness import TORCH_VERSION, describe_call, skip_if_unavailable, to_torch, unavailable
from .records import BY_NAME, RECORDS
from .suite_runs import ROOT
from .tolerances_and_ledgers import COMPILE_LEDGER, LEDGER, TOLERANCES, arbitrary, load

NOT_YET_COVERED = load("coverage.json")["not_yet_covered"]


@pytest.mark.parametrize("record", [r for r in RECORDS if r.module], ids=lambda record: record.name)
def test_nn_module_equals_the_function(record, torch_under_test):
    """On every case in float64 on CPU, nn.Module(**keywords)(*args) is exactly the function
    (except where the ledger says torch's value is arbitrary)."""
    skip_if_unavailable(record)
    module_parameters = inspect.signature(record.module).parameters.values()
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in module_parameters)  # e.g. NLLLoss2d
    module_keywords = {p.name for p in module_parameters}
    checked = 0
    for case in record.cases():
        args, kwargs = case.arguments()
        if unavailable(record, kwargs, case.variant):
            continue
        if not (takes_any or set(kwargs) <= module_keywords) \
                or arbitrary(value_id(record.name, "cpu", "float64", case.name)):
            continue
        tensors = [to_torch(a, "float64", "cpu", case.layout) for a in args]
        keywords = {k: to_torch(v, "float64", "cpu", case.layout) for k, v in kwargs.items()}
        by_module = record.module(**keywords)(*tensors)
        by_function = record.torch_fn(*tensors, **keywords)
        assert torch.equal(by_module.nan_to_num(7.0), by_function.nan_to_num(7.0)), \
            f"{record.module.__name__} differs from {record.name} on {case.name}"
        checked += 1
    assert checked >= 5, f"only {checked} cases reached {record.module.__name__}"


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_torch_signature_is_the_one_the_record_expects(record, torch_under_test):
    """API drift: parameters torch added, removed, reordered or changed (kind or default) since
    the record was written fail here, as their own kind of failure."""
    skip_if_unavailable(record)
    drift = signature_drift(expected_parameters(record, TORCH_VERSION),
                            parameters(torch_signature(record.torch_fn)))
    if drift:
        raise ApiDrift(f"torch {TORCH_VERSION} changed the signature of {record.name}: " + "; ".join(drift))


def test_cases_needing_a_newer_torch_say_which_version(torch_under_test):
    older = TorchVersion("2.5.1")
    assert BY_NAME["l1_loss"].unavailable(older, {"weight": None, "reduction": "sum"}) == \
        "l1_loss: weight= (torch 2.6) newer than torch 2.5.1"
    assert BY_NAME["l1_loss"].unavailable(older, {"reduction": "sum"}) == ""
    assert BY_NAME["linear_cross_entropy"].unavailable(TorchVersion("2.12.1"), {}) == \
        "linear_cross_entropy appeared in torch 2.13; this is torch 2.12.1"
    assert "weight" not in expected_parameters(BY_NAME["huber_loss"], older)


def test_api_drift_names_each_kind_of_change():
    def expected(input, target, weight=None, *, reduction="mean", eps=1e-6):
        pass

    def drifted(target, input, weight=None, reduction="sum", *, margin=0.0):
        pass
    drift = signature_drift(parameters(inspect.signature(expected)), parameters(inspect.signature(drifted)))
    assert drift == ["added margin=0.0 (keyword-only)", "removed eps=1e-06 (keyword-only)",
                     "changed reduction='mean' (keyword-only) -> reduction='sum' (positional or keyword)",
                     "reordered (input, target, weight, reduction) -> (target, input, weight, reduction)"]


BAD_CALLS = [pytest.param(record, bad, id=f"{record.name}-{bad.name}")
             for record in RECORDS for bad in record.all_bad_calls()]


@pytest.mark.parametrize("record, bad", BAD_CALLS)
def test_bad_call_is_rejected_by_the_reference_naming_the_argument(record, bad):
    args, kwargs = bad.build(np.random.default_rng(0))
    with pytest.raises(bad.error, match=rf"^{bad.argument}: "):
        record.reference(*args, **kwargs)
        pytest.fail(f"the reference accepted the bad call {bad.name}: {describe_call(record, args, kwargs)}")


@pytest.mark.parametrize("record, bad", BAD_CALLS)
def test_bad_call_is_rejected_where_torch_rejects_it(record, bad, under_test, request):
    """The implementation under test must reject what torch rejects. Where torch accepts a call
    the reference rejects (bad.torch_accepts), torch must still accept it (a change shows); a
    candidate stricter than torch there passes, with a note in the measured table."""
    args, kwargs = bad.build(np.random.default_rng(0))
    why = under_test.missing(record, kwargs, bad.variant)
    if why:
        pytest.skip(why)
    tensors = [to_torch(a, "float64", "cpu", "contiguous") for a in args]
    keywords = {k: to_torch(v, "float64", "cpu", "contiguous") for k, v in kwargs.items()}
    call = lambda: under_test.function(record)(*tensors, **keywords)
    shown = f"{bad.name}: {describe_call(record, tensors, keywords)}"
    if bad.torch_crashes and under_test.runs_torch:
        if not under_test.is_torch:
            pytest.skip(f"{bad.name}: torch's kernel may crash the process ({bad.torch_crashes}); run "
                        "eagerly only")
        rejected_in_a_process_of_its_own(record, args, kwargs, bad, shown)
    elif not torch_accepts(bad):
        with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
            call()
            pytest.fail(f"{under_test.label} accepted the bad call {shown}")
    elif under_test.is_torch:
        call()  # torch accepts it: see bad.torch_accepts
    else:
        try:
            call()
        except (RuntimeError, ValueError, IndexError, TypeError) as error:
            note = f"stricter than torch: rejects {bad.name} ({type(error).__name__}), as the reference does"
            request.node.user_properties.append(("parity", {
                "loss": record.name, "device": "cpu", "dtype": "float64",
                "tolerance": "bad calls", "rtol": 0.0,
                "atol": 0.0, "notes": [note]}))


def rejected_in_a_process_of_its_own(record, args, kwargs, bad, shown):
    """A bad call torch does not check and may crash on (bad.torch_crashes), run in a child
    process: it crashes or returns an arbitrary value, as known; a clean error means torch now
    checks it, and fails so that the record drops torch_crashes (then this is an ordinary bad call)."""
    script = ("import pickle, sys, torch\n"
              "args, kwargs = pickle.loads(sys.stdin.buffer.read())\n"
              "as_tensor = lambda v: torch.from_numpy(v) if hasattr(v, 'dtype') else v\n"
              f"try:\n    torch.nn.functional.{record.torch_fn.__name__}(*map(as_tensor, args), "
              "**{k: as_tensor(v) for k, v in kwargs.items()})\n"
              "except Exception as error:\n    print('raised', type(error).__name__, error); sys.exit(3)\n"
              "print('returned')\n")
    result = subprocess.run([sys.executable, "-c", script], input=pickle.dumps((args, kwargs)),
                            capture_output=True,
                            timeout=120)
    output = result.stdout.decode(errors="replace").strip()
    assert result.returncode != 3, (f"torch now rejects {shown} cleanly ({output}): drop torch_crashes "
                                    f"from the record ({bad.torch_crashes})")


def torch_accepts(bad):
    """Why the running torch accepts a bad call (the reference rejects it), or '': always
    (bad.torch_accepts), or in a torch older than the one that began to reject it."""
    if bad.torch_rejects_since and TORCH_VERSION < bad.torch_rejects_since:
        return f"torch {TORCH_VERSION} accepts {bad.name} (torch {bad.torch_rejects_since} rejects it)"
    return bad.torch_accepts


def torch_losses():
    """Every loss function of torch.nn.functional and loss module of torch.nn, as installed."""
    functions = {name for name in dir(F) if name.endswith(("_loss", "cross_entropy", "kl_div"))
                 and callable(getattr(F, name))}
    modules = {name for name in dir(nn) if "Loss" in name and isinstance(getattr(nn, name), type)
               and not name.startswith("_")}
    return functions | modules


# modules checked by a test of their own rather than through a record's `module`
MODULES_WITH_OWN_TEST = {"LinearCrossEntropyLoss": "test_linear_cross_entropy_module_equals_the_function",
                         "AdaptiveLogSoftmaxWithLoss": "test_adaptive_log_softmax.py"}


def covered_names():
    return (set(BY_NAME) | {record.module.__name__ for record in RECORDS if record.module}
            | set(MODULES_WITH_OWN_TEST))


def test_coverage_guard_every_torch_loss_has_a_record_or_a_plan(torch_under_test):
    missing = torch_losses() - covered_names() - set(NOT_YET_COVERED)
    assert not missing, \
        f"losses of this torch with neither a record nor a not-yet-covered entry: {sorted(missing)}"


def test_coverage_guard_list_has_no_stale_entries(torch_under_test):
    stale = set(NOT_YET_COVERED) & covered_names()
    gone = set(NOT_YET_COVERED) - torch_losses()
    assert not stale, f"covered now, remove from fixtures/coverage.json: {sorted(stale)}"
    assert not gone, f"not in this torch, remove from fixtures/coverage.json: {sorted(gone)}"


@functools.cache
def all_parity_ids():
    """Every value check's id, every gradient check's (loss.dargument-...), every second
    derivative's (loss.dargument@double_backward-..., float64 grid cases), every autocast
    check's (loss@autocast-cpu-..., float32 and bfloat16 inputs) and every vmap check's."""
    arguments = lambda record: list(record.differentiable if record.gradient else ())
    return ([str(CheckId(record.name, device, dtype, case.name, argument))
             for record in RECORDS for argument in ["", *arguments(record)]
             for case in record.cases() for device in ("cpu", "cuda", "mps")
             for dtype in (case.dtypes or record.dtypes)]
            + [str(CheckId(record.name, device, "float64", case.name, argument, "double_backward"))
               for record in RECORDS for argument in arguments(record)
               for case in record.grid_cases() for device in ("cpu", "cuda")]
            + [str(CheckId(record.name, "cpu", dtype, case.name, argument, transform))
               for transform, dtypes, with_gradients in (("autocast", ("float32", "bfloat16"), False),
                                                         ("vmap", ("float64", "float32"), True))
               for record in RECORDS for argument in ["", *(arguments(record) if with_gradients else ())]
               for case in record.cases() for dtype in dtypes])


@pytest.mark.parametrize("entry", LEDGER + COMPILE_LEDGER, ids=lambda entry: entry["id"])
def test_ledger_entry_is_complete_and_names_existing_cases(entry):
    """An entry of the ledger (or of the compile ledger, whose ids are the same checks') says
    what is right, what torch does and where it is reported, and each pattern names a check."""
    for key in ("right_value", "torch_does" if entry in LEDGER else "compile_does", "upstream"):
        assert entry.get(key), f"{entry['id']}: no {key}"
    ids = all_parity_ids()
    for pattern in entry["tests"]:
        assert fnmatch.filter(ids, pattern), \
            f"{entry['id']}: pattern {pattern!r} matches no case"


ALL_OVERRIDES = TOLERANCES["overrides"] + [{**override, "loss": record.name}
                                           for record in RECORDS for override in record.tolerances]


@pytest.mark.parametrize("override", ALL_OVERRIDES, ids=lambda override: override["id"])
def test_tolerance_override_says_why_and_applies_somewhere(override):
    assert len(override.get("reason", "")) > 40, f"{override['id']}: say why, with the measurement"
    assert_cited_files_are_in_the_repository(override["id"], override["reason"])
    assert override["id"] in applied_tolerances(override.get("kind", "value")), \
        f"{override['id']} applies to no case: remove it or fix its patterns"


def assert_cited_files_are_in_the_repository(what, text):
    """A reason's measurement must be readable here: every Markdown file it cites is in docs/
    (checked in a checkout: an installed wheel ships no docs/)."""
    if not (ROOT / "docs").is_dir():
        return
    for cited in re.findall(r"[\w./-]+\.md\b", text):
        assert (ROOT / cited).is_file() or (ROOT / "docs" / cited).is_file(), \
            f"{what}: cites {cited}, which is not in the repository (move the numbers into docs/)"


@pytest.mark.parametrize("entry", LEDGER, ids=lambda entry: entry["id"])
def test_ledger_entry_cites_only_files_in_the_repository(entry):
    assert_cited_files_are_in_the_repository(entry["id"], json.dumps(entry))


@functools.cache
def applied_tolerances(kind):
    """The tolerance entries that apply to some case (and, for derivatives, argument) on cpu or
    cuda, for checks of this kind."""
    from .tolerances_and_ledgers import tolerance_for
    arguments = lambda record: [""] if kind == "value" else record.differentiable
    return {tolerance_for(record.name, device, dtype, case.name, kind=kind, argument=argument).source
            for record in RECORDS for case in record.cases() for argument in arguments(record)
            for device in ("cpu", "cuda") for dtype in (case.dtypes or record.dtypes)}


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("keywords", [{}, {"reduction": "none", "ignore_index": 1}, {"label_smoothing": 0.1}],
                         ids=["defaults", "none-ignore_index", "label_smoothing"])
def test_linear_cross_entropy_module_equals_the_function(bias, keywords):
    """nn.LinearCrossEntropyLoss owns its linear layer: its output equals the function called
    with that layer's weight and bias."""
    skip_if_unavailable(BY_NAME["linear_cross_entropy"])
    torch.manual_seed(0)
    class_weight = torch.rand(6, dtype=torch.float64) + 0.5
    module = nn.LinearCrossEntropyLoss(4, 6, bias=bias, weight=class_weight, dtype=torch.float64, **keywords)
    input, target = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 5, 1, 3])
    by_function = F.linear_cross_entropy(input, module.linear.weight, target, linear_bias=module.linear.bias,
                                         weight=class_weight, **keywords)
    assert torch.equal(module(input, target), by_function)


def test_the_chunked_option_reaches_the_chunked_kernel_or_torch_says_it_does_not(torch_under_test):
    """Every linear_cross_entropy case that passes options= either reaches torch's chunked kernel
    (its spied functions ran) or torch warns that it ignored the option: the option is never a
    silent coverage illusion; and every call torch's own rule admits (class indices, no label
    smoothing, no out_features) reaches the kernel, so the grid covers it."""
    from .golden import torch_output
    from .harness import torch_arguments
    record = BY_NAME["linear_cross_entropy"]
    skip_if_unavailable(record)
    routes = {}
    for case in record.cases():
        if "options=chunked" in case.name:
            notes = torch_output(record, torch_arguments(case, "float64", "cpu")[0]).notes
            routes[case.name] = ("ran chunked" in notes,
                                 any("options" in note and "ignored" in note for note in notes))
    silent = [name for name, (ran, warned) in routes.items() if ran == warned]
    assert routes and not silent, \
        f"options= neither reached the chunked kernel nor was said to be ignored: {silent}"
    admitted = [name for name in routes if name.startswith("index") and "label_smoothing" not in name
                and "out2" not in name]
    assert admitted and all(routes[name][0] for name in admitted), [n for n in admitted if not routes[n][0]]
