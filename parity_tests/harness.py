"""Run one case through torch and the reference, and compare them element by element.

The reference is evaluated in float64 on exactly the values torch received (low-precision
inputs rounded, then upcast), so the measured difference is torch's own error in that dtype.
"""
import contextlib
import functools
import importlib
import inspect
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch.torch_version import TorchVersion

from reference.gradients import OTHER_SIDE

from .registry import Twin

TORCH_DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
TORCH_VERSION = TorchVersion(torch.__version__)  # compares with strings such as "2.6"
NUMPY_TO_TORCH = {np.dtype(name): dtype for name, dtype in TORCH_DTYPES.items() if name != "bfloat16"}


class ParityMismatch(AssertionError):
    """torch and the reference disagree: the message holds everything needed to reproduce it;
    `measurement` holds the errors when values were compared (None for a dtype, shape or
    nan/inf placement mismatch)."""

    def __init__(self, message, measurement=None):
        super().__init__(message)
        self.measurement = measurement


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    source: str  # which table entry applied, e.g. "default float16" or an override's id
    normwise: bool = False  # atol counts in units of the largest |expected| (gradients in low precision)

    def allowed(self, expected):
        scale = (float(np.max(np.abs(expected), initial=0.0)) or 1.0) if self.normwise else 1.0
        return self.atol * scale + self.rtol * np.abs(expected)


def measurement(abs_err, rel_err, fraction):
    """The largest differences of one comparison: absolute, relative, and as a fraction of the
    tolerance (above 1 fails)."""
    return {"abs": abs_err, "rel": rel_err, "fraction": fraction}


def lay_out(array, dtype, device, layout):
    """A tensor holding `array` in `dtype` on `device`, contiguous, strided (every other
    element of a wider buffer) or permuted (stored with its axes reversed)."""
    if array.ndim and layout == "strided":
        # the skipped elements hold nan (floats) or the values reversed (integers, which stay
        # valid indices), so a kernel that ignores the stride reads something visibly wrong
        wide = np.repeat(array, 2, axis=-1)
        wide[..., 1::2] = np.nan if array.dtype.kind == "f" else np.flip(array, axis=-1)
        return torch.from_numpy(wide).to(device=device, dtype=dtype)[..., ::2]
    if array.ndim > 1 and layout == "permuted":
        axes = tuple(reversed(range(array.ndim)))
        stored = torch.from_numpy(np.ascontiguousarray(array.transpose(axes)))
        return stored.to(device=device, dtype=dtype).permute(axes)
    return torch.from_numpy(np.array(array, order="C")).to(device=device, dtype=dtype)


def to_torch(value, dtype, device, layout):
    """A NumPy argument as torch receives it: floating arrays in the dtype under test, integer
    and boolean arrays as they are, NumPy dtypes as torch dtypes, a Twin as its torch side;
    anything else unchanged."""
    if isinstance(value, np.ndarray):
        return lay_out(value, TORCH_DTYPES[dtype] if value.dtype.kind == "f" else None, device, layout)
    if isinstance(value, type) and np.dtype(value) in NUMPY_TO_TORCH:
        return NUMPY_TO_TORCH[np.dtype(value)]
    if isinstance(value, Twin):
        return value.torch
    return value


def to_numpy(tensor_or_value, original):
    """What the reference gets: a tensor's exact values in float64 (integers unchanged), a
    Twin's NumPy side, any other argument as the case wrote it."""
    if isinstance(tensor_or_value, torch.Tensor):
        value = tensor_or_value.detach().cpu()
        return (value.double() if value.is_floating_point() else value).numpy()
    return original.reference_side if isinstance(original, Twin) else original


def torch_arguments(case, dtype, device):
    """The case's arguments as torch receives them, and the NumPy arguments they came from."""
    args, kwargs = case.arguments()
    torch_args = [to_torch(arg, dtype, device, case.layout) for arg in args]
    torch_kwargs = {key: to_torch(value, dtype, device, case.layout) for key, value in kwargs.items()}
    return (torch_args, torch_kwargs), (args, kwargs)


def run_torch(record, case, dtype, device, function=None):
    """Call `function` (default: the record's torch function) on torch tensors in `dtype` on
    `device`. Returns (its output, the torch arguments, the NumPy arguments they were made from)."""
    torch_call, numpy_call = torch_arguments(case, dtype, device)
    return (function or record.torch_fn)(*torch_call[0], **torch_call[1]), torch_call, numpy_call


@contextlib.contextmanager
def kernels_spied(record):
    """Within it, the functions of the record's `kernels` ({name: (module, function names)}, e.g.
    linear_cross_entropy's chunked kernel) note their name in the yielded set when called, so that
    a case shows which code path it reached; a module or function this torch lacks is left alone."""
    ran, patched = set(), []
    for name, (module_name, functions) in record.kernels.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for function in functions:
            original = getattr(module, function, None)
            if original is not None:
                def spy(*args, _original=original, _name=name, **kwargs):
                    ran.add(_name)
                    return _original(*args, **kwargs)
                setattr(module, function, spy)
                patched.append((module, function, original))
    try:
        yield ran
    finally:
        for module, function, original in patched:
            setattr(module, function, original)


def reference_arguments(torch_call, numpy_call):
    """(args, kwargs) for the reference: exactly the values torch received, in float64."""
    (torch_args, torch_kwargs), (args, kwargs) = torch_call, numpy_call
    return (list(map(to_numpy, torch_args, args)),
            {key: to_numpy(torch_kwargs[key], kwargs[key]) for key in kwargs})


def run_reference(record, torch_call, numpy_call):
    """The reference in float64 on exactly the values torch received."""
    args, kwargs = reference_arguments(torch_call, numpy_call)
    return np.asarray(record.reference(*args, **kwargs), dtype=np.float64)


def upstream_has_zeros(case):
    """Whether a case's upstream gradient holds zeros: decided by the case's own seed (a third
    of the cases), so that a case is checked the same way whatever runs before it."""
    return case.seed % 3 == 0


def upstream_gradient(shape, seed, with_zeros=False):
    """The gradient flowing into the loss's output: a non-unit scalar (0.7) for a reduced loss,
    else values of both signs and sizes 0.5 to 2; with_zeros sets every other element (or the
    scalar) to 0."""
    if shape == ():
        return np.array(0.0 if with_zeros else 0.7)
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if with_zeros:
        values.reshape(-1)[::2] = 0.0
    return values


@functools.lru_cache(maxsize=None)
def parameter_names(function):
    """The names of a function's parameters, in order (the reference's are torch's)."""
    return tuple(inspect.signature(function).parameters)


def bound_arguments(record, args, kwargs):
    """A call's arguments by name ({name: value}), positional ones named by the reference's signature."""
    return {**dict(zip(parameter_names(record.reference), args)), **kwargs}


def floating(value):
    """Whether a value is a floating torch tensor or NumPy array."""
    return isinstance(value, (torch.Tensor, np.ndarray)) and "float" in str(value.dtype)


def differentiable_call(record, case, dtype, device, function=None):
    """The forward pass both backward checks start from: the arguments the record says torch
    differentiates (where the case passes them as floating tensors) set to require gradients,
    the output of `function` (default: the record's torch function) and the upstream gradient
    (upstream_has_zeros), rounded to the output's dtype. Returns (names, their tensors, output,
    upstream, torch arguments, NumPy arguments)."""
    torch_call, numpy_call = torch_arguments(case, dtype, device)
    args, kwargs = torch_call
    bound = bound_arguments(record, args, kwargs)
    names = differentiated(record, bound)
    tensors = [bound[name].requires_grad_() for name in names]
    output = (function or record.torch_fn)(*args, **kwargs)
    upstream = torch.from_numpy(upstream_gradient(tuple(output.shape), case.seed + 1,
                                                  upstream_has_zeros(case)))
    upstream = upstream.to(device=output.device, dtype=output.dtype)
    return names, tensors, output, upstream, torch_call, numpy_call


def differentiated(record, bound):
    """The record's differentiable arguments that a call ({name: value}, torch tensors or NumPy
    arrays) passes as floating arrays, less those torch differentiates only in other calls
    (record.differentiable_where, e.g. class weights only with probability targets)."""
    return [name for name in record.differentiable if floating(bound.get(name))
            and (name not in record.differentiable_where or record.differentiable_where[name](bound))]


def reference_gradients(record, upstream, args, kwargs):
    """The reference's gradients, {name: (gradient, the other one-sided derivative where some
    element sits on a kink, else None)}, in float64."""
    found = record.gradient(upstream, *args, **kwargs)
    as_float = lambda value: None if value is None else np.asarray(value, dtype=np.float64)
    return {name: (as_float(value), as_float(found.get(name + OTHER_SIDE)))
            for name, value in found.items() if not name.endswith(OTHER_SIDE)}


def run_backward(record, case, dtype, device, function=None):
    """Autograd's gradients through `function` (default: the record's torch function) and the
    reference's, for each differentiated argument (differentiable_call): {name: (the autograd
    gradient or None where there was none, the reference's in float64, its other one-sided
    derivative at a kink or None)}."""
    return backward_of(record, differentiable_call(record, case, dtype, device, function))


def backward_of(record, forward):
    """run_backward's gradients from a forward pass differentiable_call made."""
    names, tensors, output, upstream, torch_call, numpy_call = forward
    gradients = torch.autograd.grad(output, tensors, upstream, allow_unused=True)
    numpy_args, numpy_kwargs = reference_arguments(torch_call, numpy_call)
    expected = reference_gradients(record, upstream.double().cpu().numpy(), numpy_args, numpy_kwargs)
    return {name: (gradient, *expected[name]) for name, gradient in zip(names, gradients)}


def run_double_backward(record, case, dtype, device, function=None):
    """Hessian-vector products H v along a random direction v, argument by argument: autograd's
    (the gradient taken with create_graph, differentiated again along v) against central
    differences of the reference's analytic gradient, (G(x + h v) - G(x - h v)) / 2h with
    h = 1e-6 max(1, |x|), in float64. {name: (autograd's H v, the reference's)}; a gradient that
    does not depend on its argument (no graph) has H v = 0. For an argument whose gradient is a
    convention central differences cannot see (record.no_finite_differences) the reference's is
    None: torch's second derivative is still taken, so that a missing one is seen."""
    names, tensors, output, upstream, torch_call, numpy_call = \
        differentiable_call(record, case, dtype, device, function)
    gradients = torch.autograd.grad(output, tensors, upstream, create_graph=True, allow_unused=True)
    numpy_args, numpy_kwargs = reference_arguments(torch_call, numpy_call)
    upstream = upstream.detach().double().cpu().numpy()
    rng, results = np.random.default_rng(case.seed + 2), {}
    for name, tensor, gradient in zip(names, tensors, gradients):
        direction = rng.normal(size=tuple(tensor.shape))
        if gradient is None or not gradient.requires_grad:
            hessian_v = torch.zeros_like(tensor)
        else:
            along = torch.from_numpy(direction).to(device=gradient.device, dtype=gradient.dtype)
            hessian_v = torch.autograd.grad(gradient, tensor, along, retain_graph=True, allow_unused=True)[0]
            if hessian_v is None or hessian_v._is_zerotensor():
                hessian_v = torch.zeros_like(tensor)
        if name in record.no_finite_differences:
            results[name] = (hessian_v.detach(), None)
            continue
        value = with_argument(record, numpy_args, numpy_kwargs, name)
        step = finite_difference_step(value)
        moved = []
        for sign in (1.0, -1.0):
            shifted_args, shifted_kwargs = with_argument(record, numpy_args, numpy_kwargs, name,
                                                         np.asarray(value + sign * step * direction))
            moved.append(np.asarray(record.gradient(upstream, *shifted_args, **shifted_kwargs)[name]))
        results[name] = (hessian_v.detach(), (moved[0] - moved[1]) / (2 * step))
    return results


def finite_difference_step(value):
    """The step h of central differences at `value`: 1e-6 max(1, |value|)."""
    return 1e-6 * max(1.0, float(np.abs(value).max(initial=0.0)))


def with_argument(record, args, kwargs, name, value=None):
    """The reference's argument `name` (value None), or (args, kwargs) with it replaced by value."""
    names = parameter_names(record.reference)
    if value is None:
        return args[names.index(name)] if name in names[:len(args)] else kwargs[name]
    if name in names[:len(args)]:
        args = [value if index == names.index(name) else arg for index, arg in enumerate(args)]
        return args, kwargs
    return args, {**kwargs, name: value}


def run_autocast(record, case, dtype, device, policy, function=None):
    """`function` (default: torch's) on inputs in `dtype` under torch.autocast(device, the
    policy's dtype), and the reference on the inputs autocast used: rounded to the autocast
    dtype where the policy says a lower-precision op (a linear layer) takes them. Returns (its
    output, the reference's, the torch arguments)."""
    torch_call, numpy_call = torch_arguments(case, dtype, device)
    with torch.autocast(device_type=device, dtype=TORCH_DTYPES[policy.dtype]):
        actual = (function or record.torch_fn)(*torch_call[0], **torch_call[1])
    def used(value):
        floating = isinstance(value, torch.Tensor) and value.is_floating_point()
        return value.to(TORCH_DTYPES[policy.dtype]) if floating and policy.lower_precision_first else value
    used_call = ([used(arg) for arg in torch_call[0]],
                 {key: used(value) for key, value in torch_call[1].items()})
    return actual, run_reference(record, used_call, numpy_call), torch_call


VMAP_SAMPLES = 3  # samples of a case vmap maps over


class NotBatchable(ValueError):
    """A case whose samples differ in something vmap cannot map (a length tuple, a shape, a scalar)."""


def vmap_samples(case):
    """VMAP_SAMPLES builds of a case, each with its own seed: [(args, kwargs)], and the slots
    (position or keyword) that hold arrays of one shape in every sample, which vmap maps over.
    Raises NotBatchable where anything else differs between the samples."""
    samples = [case.build(np.random.default_rng(case.seed + index)) for index in range(VMAP_SAMPLES)]
    first_args, first_kwargs = samples[0]
    arrays = []
    for slot in [*range(len(first_args)), *first_kwargs]:
        values = [slot_value(sample, slot) for sample in samples]
        if all(isinstance(v, np.ndarray) for v in values) and len({v.shape for v in values}) == 1:
            arrays.append(slot)
        elif any(isinstance(v, np.ndarray) or repr(v) != repr(values[0]) for v in values):
            raise NotBatchable(f"{slot if isinstance(slot, str) else f'argument {slot}'} differs between "
                               "samples")
    return samples, arrays


def slot_value(sample, slot):
    """A sample's (args, kwargs) value at a slot: a position or a keyword."""
    return sample[0][slot] if isinstance(slot, int) else sample[1][slot]


def run_vmap(record, case, dtype, device, function=None):
    """The loss of VMAP_SAMPLES samples through torch.func.vmap, and its per-sample gradients
    vmap(grad(sum(upstream * loss))) for each differentiable argument, against the reference
    applied sample by sample on the rounded values. Returns ((vmap's output, the reference's
    stacked), {name: (vmap's gradient, the reference's stacked, its other side at kinks or None)},
    the batching rules vmap lacked (its fallback warnings))."""
    samples, arrays = vmap_samples(case)
    stacked = [to_torch(np.stack([slot_value(sample, slot) for sample in samples]), dtype,
                        device, case.layout)
               for slot in arrays]
    fixed_args = [to_torch(arg, dtype, device, case.layout) for arg in samples[0][0]]
    fixed_kwargs = {key: to_torch(value, dtype, device, case.layout) for key, value in samples[0][1].items()}
    slot_names = [slot if isinstance(slot, str) else parameter_names(record.reference)[slot]
                  for slot in arrays]

    def call_of(tensors):
        args, kwargs = list(fixed_args), dict(fixed_kwargs)
        for slot, tensor in zip(arrays, tensors):
            if isinstance(slot, int):
                args[slot] = tensor
            else:
                kwargs[slot] = tensor
        return args, kwargs

    def loss(*tensors):
        args, kwargs = call_of(tensors)
        return (function or record.torch_fn)(*args, **kwargs)

    first = bound_arguments(record, *samples[0])
    differentiable = [index for index, name in enumerate(slot_names)
                      if stacked[index].is_floating_point() and name in differentiated(record, first)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        actual = torch.func.vmap(loss)(*stacked)
        upstream = torch.from_numpy(upstream_gradient(tuple(actual.shape[1:]), case.seed + 1)).to(actual)
        scalar = lambda *tensors: (loss(*tensors) * upstream).sum()
        gradients = torch.func.vmap(torch.func.grad(scalar, argnums=tuple(differentiable)))(*stacked) \
            if differentiable and record.gradient else ()
    fallbacks = sorted({str(w.message).split("batching rule for ")[1].split(".")[0].split(" ")[0]
                        for w in caught if "batching rule for " in str(w.message)})
    expected, expected_gradients = [], []
    for index, sample in enumerate(samples):
        torch_call = call_of([tensor[index] for tensor in stacked])
        args, kwargs = reference_arguments(torch_call, sample)
        expected.append(np.asarray(record.reference(*args, **kwargs), dtype=np.float64))
        if gradients:
            expected_gradients.append(reference_gradients(record,
                                                          upstream.double().cpu().numpy(), args, kwargs))
    names = [slot_names[index] for index in differentiable]
    stacked_side = lambda name, side: np.stack([g[name][side] if g[name][side] is not None else g[name][0]
                                                for g in expected_gradients])
    return ((actual, np.stack(expected)),
            {name: (gradient, stacked_side(name, 0),
                    stacked_side(name, 1) if any(g[name][1] is not None for g in expected_gradients)
                    else None)
             for name, gradient in zip(names, gradients)}, fallbacks)


def run_case(record, case, dtype, device, function=None):
    """Call `function` (default: torch's) in `dtype` on `device` and the reference in float64 on
    the same values. Returns (its output, the reference's output, the torch arguments)."""
    actual, torch_call, numpy_call = run_torch(record, case, dtype, device, function)
    return actual, run_reference(record, torch_call, numpy_call), torch_call


def selected_cases(records, devices, dtypes, grid_only=False, compiling=False):
    """(record, case, device, dtype) for every combination the records support on these
    devices and dtypes (of the grids alone with grid_only: no edge cases; compiling: the
    cases of a compile run, LossRecord.compile_cases)."""
    for record in records:
        cases = record.grid_cases() if grid_only else record.compile_cases() if compiling else record.cases()
        for device in devices:
            for dtype in dtypes:
                if dtype not in record.dtypes or (device, dtype) in DEVICE_UNSUPPORTED:
                    continue
                for case in cases:
                    if case.dtypes is None or dtype in case.dtypes:
                        yield record, case, device, dtype


def skip_if_unavailable(record, kwargs=(), variant=""):
    """Skip the calling test where the running torch lacks the function, these keywords or the variant."""
    why = unavailable(record, kwargs, variant)
    if why:
        pytest.skip(why)


def unavailable(record, kwargs=(), variant=""):
    """Why the running torch cannot run the record (or a call with these keywords, of this
    variant), or '': detected from the running torch (the function is missing, its signature
    lacks a keyword, or it refuses the variant: variant_refused); the versions in the record
    (since=, keyword_since=, variant_since=) only word the message."""
    if record.torch_fn is None:
        return record.unavailable(TORCH_VERSION) or \
            f"{record.name}: torch {TORCH_VERSION} has no such function"
    accepted = accepted_keywords(record.torch_fn)
    missing = [key for key in kwargs if accepted is not None and key not in accepted]
    if missing:
        return record.unavailable(TORCH_VERSION, missing) or \
            f"{record.name}: torch {TORCH_VERSION} takes no {', '.join(key + '=' for key in missing)}"
    return variant_refused(record, variant) if variant in record.variant_since else ""


FIRST_CALLS = {}  # (loss, variant, dtype, device) -> the error torch raised on that first case, or None


def first_call_error(record, variant, dtype, device):
    """The error the running torch raises on the record's first grid case (of `variant`, or of
    any variant where None) in `dtype` on `device`, or None where it runs it: asked once per process."""
    key = (record.name, variant, dtype, device)
    if key not in FIRST_CALLS:
        first = next(case for case in record.grid_cases() if variant is None or case.variant == variant)
        try:
            run_torch(record, first, dtype, device)
            FIRST_CALLS[key] = None
        except Exception as error:  # torch's own message says what it lacks
            FIRST_CALLS[key] = error
    return FIRST_CALLS[key]


def variant_refused(record, variant):
    """Why the running torch refuses a variant the record says some torch versions lack
    (variant_since: e.g. gaussian_nll_loss's var as a Python float), or '': torch's answer to
    the variant's first grid case in float64 on the CPU."""
    error = first_call_error(record, variant, "float64", "cpu")
    return "" if error is None else record.variant_message(variant, TORCH_VERSION, error)


def lacks_keywords(record):
    """Whether the running torch's function lacks a keyword of the reference's (then each case's
    keywords are checked: a case that passes one is unavailable)."""
    accepted = accepted_keywords(record.torch_fn) if record.torch_fn is not None else None
    return accepted is not None and not set(parameter_names(record.reference)) <= accepted


@functools.lru_cache(maxsize=None)
def accepted_keywords(function):
    """The names a function takes as keywords, or None where it takes any (**kwargs, or no
    signature to read)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY)


def expected_dtype(torch_kwargs, dtype):
    """The output dtype torch should give: the `dtype` keyword when given, else the input's."""
    return torch_kwargs.get("dtype") or TORCH_DTYPES[dtype]


def describe_call(record, args, kwargs):
    """`cross_entropy(input float16 (4, 5) non-contiguous, target int64 (4,), reduction='sum')`,
    positional arguments named as in the record's signature."""
    def show(value):
        if isinstance(value, torch.Tensor):
            layout = "" if value.is_contiguous() else " non-contiguous"
            return f"{str(value.dtype).removeprefix('torch.')} {tuple(value.shape)}{layout}"
        return repr(value)
    shown = [f"{name} {show(value)}" for name, value in zip(parameter_names(record.reference), args)]
    shown += [f"{key}={show(value)}" for key, value in kwargs.items()]
    return f"{record.name}({', '.join(shown)})"


def overflow_limit(dtype):
    """The smallest magnitude that rounds to inf in `dtype`: its largest finite value plus half
    a unit in the last place there."""
    info = torch.finfo(dtype)
    exponent, digits = math.frexp(info.max)[1], 1 - round(math.log2(info.eps))
    return info.max + 2.0 ** (exponent - digits - 1)  # float64: inf


OVERFLOW_LIMITS = {dtype: overflow_limit(dtype) for dtype in TORCH_DTYPES.values()}


def saturate(expected, dtype):
    """The reference's values as the output dtype can hold them: a value beyond the dtype's
    range is +-inf there, so torch's overflow is only an error where the true value fits."""
    overflows = np.abs(expected) >= OVERFLOW_LIMITS.get(dtype, np.inf)
    return np.where(overflows, np.copysign(np.inf, expected), expected) if overflows.any() else expected


def compare(actual, expected, expected_dtype, tolerance, context, label="torch", against="reference",
            alternative=None):
    """Check dtype, shape, nan and inf placement, then values within the tolerance.
    Returns the measurement; raises ParityMismatch with `context` (a string, or a function
    that makes it, called only on a mismatch) and the worst element. `label` names what gave
    `actual` in the message (the implementation under test), `against` what gave `expected`.
    With `alternative` (the other one-sided derivative at a kink), an element may be either
    one or between them: at a point the mathematics leaves open, any of them is right."""
    def fail(problem, measured=None):
        raise ParityMismatch(f"{problem}\n  {context() if callable(context) else context}", measured)

    if actual.dtype != expected_dtype:
        fail(f"{label} returned dtype {actual.dtype}, expected {expected_dtype}")
    got = actual.detach().cpu().double().numpy()
    if got.shape != expected.shape:
        fail(f"{label} returned shape {got.shape}, the {against} {expected.shape}")
    if got.size == 0:
        return measurement(0.0, 0.0, 0.0)
    if alternative is not None:
        low, high = np.fmin(expected, alternative), np.fmax(expected, alternative)
        expected = np.where(np.isfinite(got) & (low != high), np.clip(got, low, high), expected)
    expected = saturate(expected, expected_dtype)
    finite = np.isfinite(expected)
    all_finite = finite.all()
    if not (all_finite and np.isfinite(got).all()):
        for kind, where in (("nan", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
            differ = where(got) != where(expected)
            if differ.any():
                index = tuple(int(i) for i in np.argwhere(differ)[0])
                fail(f"{kind} in different places: first at index {index}: "
                     f"{label} {float(got[index])!r}, {against} {float(expected[index])!r} "
                     f"({int(differ.sum())} of {got.size} elements)")
        got, expected = np.where(finite, got, 0.0), np.where(finite, expected, 0.0)
    diff = np.abs(got - expected)
    largest = float(diff.max())
    if largest == 0:
        return measurement(0.0, 0.0, 0.0)
    allowed = tolerance.allowed(expected) if all_finite else \
        np.where(finite, tolerance.allowed(expected), 1.0)
    ratio = diff / allowed
    magnitude = np.abs(expected)
    nonzero = magnitude > 0
    relative = float("inf") if (diff > 0)[~nonzero].any() else \
        float(np.max(np.divide(diff, magnitude, where=nonzero, out=np.zeros_like(diff))))
    worst = np.unravel_index(np.argmax(ratio), ratio.shape)
    measured = measurement(largest, relative, float(ratio[worst]))
    if measured["fraction"] > 1:
        index = tuple(int(i) for i in worst)
        fail(f"value differs beyond tolerance at index {index}: {label} {float(got[worst])!r}, "
             f"{against} {float(expected[worst])!r}, |diff| {diff[worst]:.3e} > allowed "
             f"{allowed[worst]:.3e} (rtol {tolerance.rtol:g}, atol {tolerance.atol:g} from "
             f"{tolerance.source}); {int((ratio > 1).sum())} of {ratio.size} elements outside",
             measured)
    return measured


def fraction_of_tolerance(actual, expected, expected_dtype, tolerance, alternative=None):
    """compare's largest error as a fraction of the tolerance, also where it exceeds it; inf for a
    dtype, shape or nan/inf placement mismatch (no fraction to give)."""
    try:
        return compare(actual, expected, expected_dtype, tolerance, "", alternative=alternative)["fraction"]
    except ParityMismatch as mismatch:
        return mismatch.measurement["fraction"] if mismatch.measurement else float("inf")


def present_devices():
    """The devices torch can use here: cpu always, cuda and mps when present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


ABSENT_DEVICE_REASONS = {
    "cuda": "torch.cuda.is_available() is False: no CUDA device or a CPU-only torch build",
    "mps": "torch.backends.mps.is_available() is False: not an Apple-silicon build",
}
# dtypes a device lacks for every loss; the kernels torch lacks are discovered (runner.NOT_IMPLEMENTED)
DEVICE_UNSUPPORTED = {("mps", "float64"): "MPS has no float64"}
