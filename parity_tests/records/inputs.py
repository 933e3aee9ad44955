"""What the record families share: input builders (random data of a given shape, in float64 /
int64), the reductions, the elementwise shapes, hand-written and legacy-flag edge cases."""
from hypothesis import strategies as st

from ..registry import BadCall, Case, Shape

REDUCTION = ["mean", "sum", "none"]

ELEMENTWISE_SHAPES = (
    Shape("2d", (4, 5)),
    Shape("1d", (5,)),
    Shape("3d", (2, 3, 4)),
    Shape("scalar", ()),
    Shape("n1", (1, 5)),
    Shape("empty", (0, 5)),
    Shape("2d_strided", (4, 5), "strided"),
    Shape("3d_permuted", (2, 3, 4), "permuted"),
)


def fixed_case(name, args, kwargs, dtypes=None):
    """An edge Case with hand-written arguments (its record stamps the loss's name)."""
    return Case("", name, lambda rng: (args, dict(kwargs)), dtypes=dtypes)


def bad_call(name, args, kwargs, error, argument, **options):
    """A BadCall with hand-written arguments."""
    return BadCall(name, lambda rng: (args, kwargs), error, argument, **options)


# the deprecated flags are not in the keyword grids: the legacy cases below cover them
LEGACY_FLAGS = {"size_average": "the legacy-* cases", "reduce": "the legacy-* cases"}


def legacy_cases(build, dims, variant=""):
    """The deprecated size_average / reduce flags in each combination that changes the result,
    on the arguments `build` makes for `dims`."""
    flags = [(True, None), (False, None), (None, False), (False, True), (True, False)]
    cases = []
    for size_average, reduce in flags:
        kwargs = {key: value for key, value in (("size_average", size_average), ("reduce", reduce))
                  if value is not None}
        name = "legacy-" + "-".join(f"{key}={value}" for key, value in kwargs.items())
        arguments = lambda rng, kwargs=kwargs: (build(rng, dims, variant, {})[0], dict(kwargs))
        cases.append(Case("", name, arguments))
    return cases


def logits(rng, dims, scale=2.0):
    return rng.normal(0.0, scale, dims)


def positive_weight(rng, dims):
    """Weights in [0.5, 2): far enough from 1 that a dropped weight shows."""
    return rng.uniform(0.5, 2.0, dims)


def probabilities(rng, dims, axis):
    """Class probabilities that sum to 1 along `axis`."""
    values = rng.uniform(0.05, 1.0, dims)
    return values / values.sum(axis=axis, keepdims=True)


def class_indices(rng, dims, num_classes, ignore_index=None):
    """Indices in [0, C); where an ignore_index is given, every third entry from the second is set
    to it (mixed ignored and kept). Without one, the call is plain: every target counts."""
    target = rng.integers(0, num_classes, dims)
    if ignore_index is not None:
        target.reshape(-1)[1::3] = ignore_index
    return target


def index_mistakes(call, num_classes, argument="target"):
    """Invalid but plausible class indices in the first entry of a call's target: -2 (negative,
    not the ignore_index) and C (just past the last class); none for an empty target."""
    target = call[argument]
    if target.size == 0:
        return []
    mistakes = []
    for label, value in (("class_index_negative", -2), ("class_index_C", num_classes)):
        changed = target.copy()
        changed.reshape(-1)[0] = value
        mistakes.append((label, argument, changed, {}))
    return mistakes


def broadcast_form(variant, dims, kwargs):
    """Whether to build the 'broadcast' variant, an argument of fewer elements that torch
    broadcasts: on 2-D shapes with default keywords but the reduction (3 cases a shape)."""
    return len(dims) == 2 and not set(kwargs) - {"reduction"} if variant == "broadcast" else True


def class_dims(max_extra_dims=3):
    """Hypothesis shapes (C,) or (N, C, d1, ..., dk): N may be 0, C at least 1."""
    batched = st.tuples(st.integers(0, 4), st.integers(1, 5),
                        st.lists(st.integers(1, 3), max_size=max_extra_dims))
    return st.one_of(st.tuples(st.integers(1, 5)),
                     batched.map(lambda parts: (parts[0], parts[1], *parts[2])))


def any_dims(min_dims=0, max_dims=3):
    """Hypothesis shapes of any rank in [min_dims, max_dims], sizes 0 to 4."""
    return st.lists(st.integers(0, 4), min_size=min_dims, max_size=max_dims).map(tuple)


# Benchmark sizes, in each builder's dims convention: realistic small, medium and large calls.
ELEMENTWISE_SIZES = {"small": (100, 100), "medium": (1000, 1000), "large": (1000, 10000)}  # 1e4, 1e6, 1e7
CLASS_SIZES = {"small": (64, 100), "medium": (4096, 1000), "large": (2048, 32000)}  # large: an LLM vocabulary
SEGMENTATION_SIZES = {**CLASS_SIZES, "segmentation": (8, 21, 128, 128)}
EMBEDDING_SIZES = {"small": (64, 512), "medium": (1024, 512), "large": (4096, 512)}
MARGIN_CLASS_SIZES = {"small": (64, 100), "medium": (1024, 100), "large": (4096, 1000)}
