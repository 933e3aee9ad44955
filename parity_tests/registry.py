"""The loss registry: one small record per function, and the cases generated from it.

A record names the reference and torch callables, how to build inputs for a shape and a choice
of keywords, the keyword grid, the dtypes, and the bad calls. Parity tests, randomized tests,
module checks and benchmarks all iterate the same records.
"""
import dataclasses
import functools
import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")
COMPILED_IN_FULL = "float32"  # the dtype a compile run checks every class of a record in (compile_cases)
LAYOUTS = ("contiguous", "strided", "permuted")


@dataclass(frozen=True)
class Shape:
    """A named input shape; layout says how torch's tensors are laid out in memory."""

    name: str
    dims: tuple
    layout: str = "contiguous"


@dataclass(frozen=True)
class Case:
    """One call: `build(rng)` returns (args, kwargs) as NumPy values in float64 / int64.
    `loss` is the record's name ('' in an edge-case builder: LossRecord stamps it).

    Floating arrays are cast to the dtype under test for torch; the reference gets the same
    rounded values in float64. `dtypes` limits the case to some dtypes (None: all of them).
    """

    loss: str
    name: str
    build: Callable[[np.random.Generator], tuple]
    layout: str = "contiguous"
    dtypes: Optional[tuple] = None
    variant: str = ""  # the record's variant it was built from (an argument kind, e.g. var as a float)
    replay: str = ""  # a random draw's JSON, which rebuilds it (random_cases.replayed)

    @functools.cached_property
    def seed(self):
        """A seed derived from the case's identity, so a case is the same in any run or worker."""
        return zlib.crc32(f"{self.loss}:{self.name}".encode())

    @functools.cached_property
    def built(self):
        return self.build(np.random.default_rng(self.seed))

    def arguments(self):
        """(args, kwargs), built once per Case (an item's cases run in every dtype and device);
        the containers are new on each call, the arrays are shared and must not be written."""
        args, kwargs = self.built
        return tuple(args), dict(kwargs)


@dataclass(frozen=True)
class Twin:
    """An argument that is a function, given to torch and to the reference in matching forms
    (e.g. a distance written with torch ops and the same distance in NumPy); numpy_gradient,
    (u, v) -> (d/du, d/dv), is what the reference's gradients read as the NumPy side's `gradient`."""

    name: str
    torch: Callable
    numpy: Callable
    numpy_gradient: Optional[Callable] = None

    @functools.cached_property
    def reference_side(self):
        """The NumPy side as the reference receives it."""
        return NumpyTwin(self.name, self.numpy, self.numpy_gradient)

    def __repr__(self):
        return self.name


@dataclass(frozen=True)
class NumpyTwin:
    """A Twin's NumPy function, called as it is, with its gradient as an attribute (the form of
    a `distance_function` whose gradient reference.gradients reads)."""

    name: str
    function: Callable
    gradient: Optional[Callable] = None

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return self.name


@dataclass(frozen=True)
class BadCall:
    """An invalid call: the reference must raise `error` naming `argument`; torch must raise
    too, unless `torch_accepts` says why it does not (then the test asserts that it does not)."""

    name: str
    build: Callable[[np.random.Generator], tuple]
    error: type
    argument: str
    torch_accepts: str = ""
    variant: str = ""  # the record's variant (argument kind) the call uses: skipped where torch lacks it
    torch_rejects_since: str = ""  # the torch version that began to reject it (older ones accept it)
    # torch does not check it and may crash the process (the upstream issue): its call runs in a process of
    # its own, and a clean error there means torch now checks it
    torch_crashes: str = ""


@dataclass(frozen=True, repr=False)
class LossRecord:
    """Everything the harness needs to check one function of torch.nn.functional."""

    name: str
    reference: Callable
    torch_fn: Callable
    build: Callable  # build(rng, dims, variant, kwargs) -> (args, kwargs), or None if invalid
    shapes: tuple  # Shape; the first gets the full keyword product, the rest a reduced grid
    keyword_grid: dict  # keyword -> values, default first and richest last
    variants: tuple = ("",)  # e.g. index / probability targets
    edge_cases: Callable[[], list] = lambda: []
    dtypes: tuple = FLOAT_DTYPES
    bad_calls: tuple = ()
    module: Any = None  # the nn module that must agree with the function
    random_dims: Any = None  # hypothesis strategy of shapes for randomized cases
    untested_keywords: dict = field(default_factory=dict)  # keyword -> why the grid omits it
    since: str = "2.2"  # the torch version the function appeared in (2.2: the oldest supported)
    keyword_since: dict = field(default_factory=dict)  # keyword -> the torch version it appeared in
    variant_since: dict = field(default_factory=dict)  # variant -> the torch version that took it (for the
    # message: whether the running torch takes a variant is found by calling it, harness.variant_refused)
    requires: str = ""  # why torch_fn may be None, e.g. "torchvision is not installed"
    tolerances: tuple = ()  # overrides as in fixtures/tolerances.json, without "loss"; checked first
    gradient: Any = None  # reference gradient(grad_output, *args, **kwargs) -> {argument: gradient}
    differentiable: tuple = ()  # the arguments torch differentiates, by name (e.g. input, target)
    # argument -> predicate on a call's arguments ({name: value}): an argument torch differentiates only in
    # some calls (class weights with probability targets)
    differentiable_where: dict = field(default_factory=dict)
    # argument -> why the finite-difference self-check cannot check its gradient (a convention of torch's,
    # or a jump in the forward)
    no_finite_differences: dict = field(default_factory=dict)
    # name -> (module, function names): torch's functions whose call shows a case reached that code path
    # (e.g. the chunked kernel), recorded per case (harness.kernels_spied)
    kernels: dict = field(default_factory=dict)
    # call ({name: value}) -> [(label, argument, invalid value, BadCall options)]: invalid but plausible
    # values (a class index of -2 or C, a length past the input) tried on every shape's default case
    mistakes: Any = None
    sizes: dict = field(default_factory=dict)  # benchmark size name -> dims for build (default: derived)
    bench_keywords: dict = field(default_factory=dict)  # non-default keywords of the benchmark calls

    def __repr__(self):
        return f"LossRecord({self.name})"

    def unavailable(self, torch_version, kwargs=()):
        """Why this torch cannot run the function, or a call with these keywords: the feature
        appeared in a later version, or it is missing. '' when it can. `torch_version` compares
        with strings."""
        if self.torch_fn is None and self.requires:
            return f"{self.name}: {self.requires}"
        if torch_version < self.since:
            return f"{self.name} appeared in torch {self.since}; this is torch {torch_version}"
        newer = sorted(f"{key}= (torch {self.keyword_since[key]})" for key in kwargs
                       if key in self.keyword_since and torch_version < self.keyword_since[key])
        return f"{self.name}: {', '.join(newer)} newer than torch {torch_version}" if newer else ""

    def variant_message(self, variant, torch_version, error):
        """Why this torch cannot run the cases of a variant (an argument kind): torch's own error on
        the variant's first case, and the version that took it where the record says."""
        since = f" (torch {self.variant_since[variant]} does)" if variant in self.variant_since else ""
        first_line = str(error).splitlines()[0] if str(error) else ""
        return (f"{self.name}: torch {torch_version} does not take its {variant!r} cases{since}: "
                f"{type(error).__name__}: {first_line}")

    def all_bad_calls(self):
        """The record's bad calls, its mistakes on every shape's default case, and an unknown
        reduction on its first case for every record with a `reduction` keyword."""
        calls = self.bad_calls + self.mistaken_calls()
        if "reduction" not in self.keyword_grid:
            return calls
        first = self.cases()[0]

        def build(rng):
            args, kwargs = first.arguments()
            return args, {**kwargs, "reduction": "average"}
        return calls + (BadCall("unknown_reduction", build, ValueError, "reduction"),)

    def mistaken_calls(self):
        """BadCalls `<mistake>-<shape>`: each of the record's mistakes on the default case of
        every shape (its first variant that builds one), named by shape, raising ValueError."""
        if self.mistakes is None:
            return ()
        from .harness import bound_arguments, with_argument
        calls = []
        for shape in self.shapes:
            for case in self.default_cases(shape)[:1]:
                args, kwargs = case.arguments()
                for label, argument, value, options in self.mistakes(bound_arguments(self, args, kwargs)):
                    mistaken = with_argument(self, args, kwargs, argument, value)
                    build = lambda rng, call=mistaken: (call[0], dict(call[1]))
                    calls.append(BadCall(f"{label}-{shape.name}", build, ValueError, argument,
                                         variant=case.variant, **options))
        return tuple(calls)

    @functools.cached_property
    def defaults(self):
        """Each keyword's default: the first value of its grid."""
        return {key: values[0] for key, values in self.keyword_grid.items()}

    @functools.cached_property
    def richest(self):
        """Each keyword's richest value: the last of its grid."""
        return {key: values[-1] for key, values in self.keyword_grid.items()}

    def default_cases(self, shape):
        """The cases of a shape at default keywords, one per variant that builds one."""
        return self.cases_of([(shape, self.defaults)])

    def cases(self):
        """The fixed grid, then the record's edge cases."""
        return self.grid_cases() + self.own_edge_cases()

    def own_edge_cases(self):
        """The record's edge cases, each stamped with the record's name (their builders need not name it)."""
        return [dataclasses.replace(case, loss=self.name) for case in self.edge_cases()]

    def grid_cases(self):
        """Every keyword combination on the first shape, then each further shape and variant
        with every reduction at default and at richest keywords (random data, away from kinks)."""
        reductions = self.keyword_grid.get("reduction", [None])
        choices = [(self.shapes[0], dict(zip(self.keyword_grid, combo)))
                   for combo in itertools.product(*self.keyword_grid.values())]
        choices += [(shape, with_reduction(base, reduction)) for shape in self.shapes[1:]
                    for base, reduction in itertools.product((self.defaults, self.richest), reductions)]
        return self.cases_of(choices)

    def compile_cases(self):
        """The cases of a compile run (--compile): torch.compile compiles a graph per class of
        calls it specializes on (rank, a size of 0 or 1, layout, dtype, keyword values), so the
        grid's cases would each cost a graph. Fewer classes: on the first shape, every reduction
        at default and at richest keywords, in every dtype (what a dtype changes in a compiled
        graph: its upcasts and its reductions' accumulation); in float32 alone (COMPILED_IN_FULL,
        or the record's first dtype), each other keyword value alone on the first shape, on each
        further shape the default keywords at the default reduction and the richest unreduced,
        and the edge cases (those not limited to other dtypes). Each grid case also runs at a
        size one larger in every dim above 1 (`resized-<case>`: the same class, its graph reused
        by dynamic shapes, checked at a size it was not traced at)."""
        reductions = self.keyword_grid.get("reduction", [None])
        first = self.shapes[0]
        every_dtype = [(first, with_reduction(base, reduction))
                       for base in (self.defaults, self.richest) for reduction in reductions]
        one_dtype = [(first, {**self.defaults, key: value}) for key, values in self.keyword_grid.items()
                     if key != "reduction" for value in values[1:]]
        further = ((self.defaults, reductions[0]), (self.richest, reductions[-1]))
        one_dtype += [(shape, with_reduction(base, reduction)) for shape in self.shapes[1:]
                      for base, reduction in further]
        one_dtype = [choice for choice in one_dtype if choice not in every_dtype]
        full = COMPILED_IN_FULL if COMPILED_IN_FULL in self.dtypes else self.dtypes[0]
        in_full = lambda cases: [dataclasses.replace(case, dtypes=(full,))
                                 if full in (case.dtypes or self.dtypes) else case for case in cases]
        grown = lambda shape: dataclasses.replace(shape, dims=tuple(size + (size > 1) for size in shape.dims))
        resized = lambda choices: [
            dataclasses.replace(case, name=f"resized-{case.name}")
            for case in self.cases_of([(grown(shape), choice) for shape, choice in choices])]
        return (self.cases_of(every_dtype) + in_full(self.cases_of(one_dtype)) + resized(every_dtype)
                + in_full(resized(one_dtype)) + in_full(self.own_edge_cases()))

    def cases_of(self, choices):
        """The Cases of (shape, keyword choice) pairs, each pair once, in every variant; a
        combination `build` refuses is left out."""
        unique = dict.fromkeys((shape, tuple(choice.items())) for shape, choice in choices)
        cases = [self.case(shape, variant, dict(choice))
                 for variant in self.variants for shape, choice in unique]
        return [case for case in cases if case is not None]

    def case(self, shape, variant, choice):
        """The Case for one shape, variant and keyword choice. `build` receives only the
        keywords that differ from the defaults, so defaults are tested as omitted arguments;
        it returns None where the combination is not a valid call."""
        given = {key: value for key, value in choice.items() if value != self.defaults[key]}
        if self.build(np.random.default_rng(0), shape.dims, variant, dict(given)) is None:
            return None
        name = "-".join(part for part in (variant, shape.name, keyword_label(choice, self.defaults)) if part)
        return Case(self.name, name,
                    lambda rng: self.build(rng, shape.dims, variant, dict(given)),
                    layout=shape.layout, variant=variant)


def with_reduction(keywords, reduction):
    """A keyword choice with its reduction (None: the function has no reduction keyword)."""
    return {**keywords, **({"reduction": reduction} if reduction else {})}


def keyword_label(choice, defaults):
    """A readable id for a keyword choice: non-default keywords, then the reduction."""
    parts = []
    for key, value in choice.items():
        if key == "reduction" or value == defaults.get(key):
            continue
        shown = value.__name__ if isinstance(value, type) else value
        parts.append(key if value == "random" else f"{key}={shown}")
    if "reduction" in choice:
        parts.append(str(choice["reduction"]))
    return "-".join(parts)



REGISTRY = []  # every record the suite checks: the built-in losses, then any registered by the user
BY_NAME = {}


def register_loss(record):
    """Add a loss to the suite. The parity grid, randomized cases, bad calls, signature and
    keyword checks, golden records and the measured table then cover it, on every dtype and
    device. Call it from a module that `--losses MODULE` names or that a conftest.py imports."""
    if not isinstance(record, LossRecord):
        raise TypeError(f"record: expected a LossRecord, got {type(record).__name__}")
    if record.name in BY_NAME:
        raise ValueError(f"record: a loss named {record.name!r} is registered already")
    REGISTRY.append(record)
    BY_NAME[record.name] = record
    return record
