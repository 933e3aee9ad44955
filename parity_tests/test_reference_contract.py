"""The reference's own contract: NumPy only, torch's signatures and warnings, dtype kept, each
public function with its formula, examples and references."""
import ast
import doctest
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference
from reference._blocks import BLOCK, SLICE

from .api_drift import torch_signature
from .harness import compare, run_case, skip_if_unavailable
from .records import BUILT_IN, RECORDS
from .records.inputs import ELEMENTWISE_SIZES
from .registry import Case
from .tolerances_and_ledgers import tolerance_for

REFERENCE_DIR = Path(reference.__file__).parent
PUBLIC_FUNCTIONS = [name for name in reference.__all__ if inspect.isfunction(getattr(reference, name))]


@pytest.mark.parametrize("module", sorted({getattr(reference, name).__module__ for name in PUBLIC_FUNCTIONS}))
def test_reference_docstring_examples_give_their_values(module):
    """What `python -m pytest --doctest-modules reference` runs: each public function's Examples
    (a worked example of the source documents, or a small case worked by hand) print the value
    written under them."""
    results = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0, results


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_each_public_function_has_examples_and_references(name):
    doc = inspect.getdoc(getattr(reference, name))
    assert "\nExamples:\n" in doc and ">>> " in doc and "\nReferences:\n" in doc, name


def test_importing_reference_does_not_import_torch():
    code = "import sys, reference; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REFERENCE_DIR.parent, check=True)
    assert result.stdout.strip() == "False", "importing reference pulled in torch"


@pytest.mark.parametrize("path", sorted(REFERENCE_DIR.glob("*.py")), ids=lambda path: path.name)
def test_reference_imports_only_numpy_and_the_standard_library(path):
    allowed = {"numpy", "warnings", "math"}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        assert all(name.split(".")[0] in allowed for name in names), f"{path.name} imports {names}"


def test_public_names_are_the_records_and_listed_alphabetically():
    assert reference.__all__ == sorted(reference.__all__)
    # AdaptiveLogSoftmaxWithLoss is a module checked by test_adaptive_log_softmax.py
    recorded = {record.reference.__name__ for record in BUILT_IN}
    assert set(reference.__all__) == recorded | {"AdaptiveLogSoftmaxWithLoss"}


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_every_torch_keyword_is_in_the_grid_or_says_why_not(record, torch_under_test):
    skip_if_unavailable(record)
    keywords = {p.name for p in torch_signature(record.torch_fn).parameters.values()
                if p.default is not inspect.Parameter.empty}
    missing = keywords - set(record.keyword_grid) - set(record.untested_keywords)
    assert not missing, f"{record.name}: torch keywords neither in the grid nor explained: {missing}"


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_reference_docstring_states_a_formula(record):
    assert "=" in (record.reference.__doc__ or ""), f"{record.name}: no formula in the docstring"


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_reference_keeps_the_input_dtype(record, dtype):
    for case in record.cases()[:6]:
        args, kwargs = case.arguments()
        floating = lambda value: isinstance(value, np.ndarray) and value.dtype.kind == "f"
        cast = lambda value: value.astype(dtype) if floating(value) else value
        with np.errstate(all="ignore"):
            result = record.reference(*map(cast, args), **{k: cast(v) for k, v in kwargs.items()})
        assert isinstance(result, np.ndarray), f"{case.name}: returned {type(result)}"
        assert result.dtype == kwargs.get("dtype", dtype), f"{case.name}: returned {result.dtype}"


WARNING_CALLS = [
    ("softmax", lambda module, x: module.softmax(x)),
    ("log_softmax 3-D", lambda module, x: module.log_softmax(x.reshape(1, 2, 3))),
    ("cross_entropy legacy", lambda module, x: module.cross_entropy(x, np.array([0, 2]), size_average=False)),
    ("nll_loss legacy", lambda module, x: module.nll_loss(x, np.array([0, 2]), reduce=False)),
    ("mse_loss broadcast target", lambda module, x: module.mse_loss(x, x[0])),
    ("kl_div mean", lambda module, x: module.kl_div(x, x)),
]


class TorchSide:
    """torch.nn.functional with NumPy arrays converted to tensors, to call like `reference`."""

    def __getattr__(self, name):
        import torch
        import torch.nn.functional as F
        as_tensor = lambda value: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
        return lambda *args, **kwargs: getattr(F, name)(*map(as_tensor, args), **kwargs)


def without_torch_size(message):
    """torch.Size([2, 3]) written as the tuple (2, 3), as the reference writes shapes."""
    return re.sub(r"torch\.Size\(\[([^\]]*)\]\)",
                  lambda match: repr(tuple(int(v) for v in match.group(1).split(",") if v.strip())), message)


@pytest.mark.parametrize("call", WARNING_CALLS, ids=lambda call: call[0])
def test_reference_warns_as_torch_does(call):
    x = np.arange(6.0).reshape(2, 3)
    with pytest.warns(UserWarning) as torch_warnings:
        call[1](TorchSide(), x)
    with pytest.warns(UserWarning) as reference_warnings:
        call[1](reference, x)
    assert [str(w.message) for w in reference_warnings] == \
        [without_torch_size(str(w.message)) for w in torch_warnings]
    assert all(w.filename == __file__ for w in reference_warnings), "the warning should point at the caller"


def test_ctc_reference_rejects_targets_torch_leaves_undefined():
    """Targets >= C are undefined behaviour in torch's CPU kernel (not checked there), so they
    are no parity case; the reference names the problem instead."""
    log_probs = np.log(np.full((4, 2, 3), 1 / 3))
    with pytest.raises(ValueError, match="^targets: "):
        reference.ctc_loss(log_probs, np.array([[1, 3], [2, 1]]), np.array([4, 4]), np.array([2, 2]))


def test_ctc_reference_takes_lengths_as_sequences_as_torch_does():
    import torch
    import torch.nn.functional as F
    log_probs = np.log(np.full((4, 2, 3), 1 / 3)) + np.linspace(-0.2, 0.2, 24).reshape(4, 2, 3)
    targets = np.array([[1, 2], [2, 1]])
    expected = F.ctc_loss(torch.from_numpy(log_probs), torch.from_numpy(targets), (4, 3), (2, 1),
                          reduction="none")
    np.testing.assert_allclose(reference.ctc_loss(log_probs, targets, (4, 3), [2, 1], reduction="none"),
                               expected.numpy(), rtol=1e-12)


ELEMENTWISE = [record for record in BUILT_IN if record.sizes is ELEMENTWISE_SIZES]


BLOCKED = [pytest.param(record, reduction, id=f"{record.name}-{reduction}") for record in ELEMENTWISE
           for reduction in (("none", "sum", "mean") if "reduction" in record.keyword_grid else ("none",))]


@pytest.mark.parametrize("record, reduction", BLOCKED)
def test_blocked_evaluation_matches_torch_beyond_one_block(record, reduction):
    """The parity grid's arrays are smaller than a block, so the reference's block-by-block
    path (reference/_blocks.py) is checked here, on 3 x (BLOCK / 2 + 5) elements, in float64."""
    keywords = {**record.bench_keywords,
                **({} if reduction == "mean" or "reduction" not in record.keyword_grid
                                             else {"reduction": reduction})}
    case = Case(record.name, f"beyond_one_block-{reduction}",
                lambda rng: record.build(rng, (3, BLOCK // 2 + 5), record.variants[0], dict(keywords)))
    actual, expected, _ = run_case(record, case, "float64", "cpu")
    compare(actual, expected, actual.dtype,
            tolerance_for(record.name, "cpu", "float64", case.name), case.name)


@pytest.mark.parametrize("shape, axis", [((2 * SLICE // 100 + 3, 100), 1), ((100, 2 * SLICE // 100 + 3), 0),
                                         ((3, 7, SLICE // 5), 1), ((5, 2, SLICE // 4, 3), 1)])
def test_logsumexp_slice_by_slice_is_the_whole_formula(shape, axis):
    """The parity grid's arrays are smaller than a slice, so logsumexp's slice-by-slice path
    (along_slices in reference/_blocks.py) is checked here against the formula on the whole
    array, bit for bit, with a slice of only -inf (-inf) and one holding +inf (nan) in it."""
    from reference._activations import _logsumexp, logsumexp
    x = np.random.default_rng(0).normal(size=shape)
    along = np.moveaxis(x, axis, -1)  # a view: writes reach x
    along[(0,) * (x.ndim - 1)] = -np.inf
    along[(1,) * (x.ndim - 1) + (0,)] = np.inf
    assert np.array_equal(logsumexp(x, axis), _logsumexp(x, axis), equal_nan=True)


def test_reference_gives_both_one_sided_derivatives_at_a_hinge_kink():
    """hinge_embedding_loss at x = margin (y = -1): 'input' is the left derivative, -1 (the
    gradient torch 2.13's clamp_min passes), 'input@other_side' the right one, 0; off the kink
    there is no other side."""
    def loss(x):
        return float(reference.hinge_embedding_loss(np.array([x]), np.array([-1.0]), margin=1.0,
                                                    reduction="sum"))
    gradients = reference.gradients.hinge_embedding_loss_backward(
        np.array(1.0), np.array([1.0]), np.array([-1.0]), margin=1.0, reduction="sum")
    h = 1e-6
    assert gradients["input"][0] == pytest.approx((loss(1.0) - loss(1.0 - h)) / h) == -1.0
    assert gradients["input@other_side"][0] == pytest.approx((loss(1.0 + h) - loss(1.0)) / h, abs=1e-9) == 0.0
    assert "input@other_side" not in reference.gradients.hinge_embedding_loss_backward(
        np.array(1.0), np.array([0.5]), np.array([-1.0]), margin=1.0, reduction="sum")
