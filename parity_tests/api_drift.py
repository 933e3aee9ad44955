"""API drift: each torch loss function's signature against the one its record expects (the
reference's, less the keywords that appeared after the running torch)."""
import inspect


class ApiDrift(AssertionError):
    """torch's signature differs from the one the record expects: parameters added, removed,
    reordered, or with another kind or default."""


def torch_signature(function):
    """inspect.signature, or for a builtin the one its docstring's first line states."""
    try:
        return inspect.signature(function)
    except ValueError:
        header = function.__doc__.strip().splitlines()[0].split("->")[0].strip()
        namespace = {}
        exec(f"def {header}: pass", namespace)
        return inspect.signature(namespace[header.split("(")[0]])


def parameters(signature, drop=("_stacklevel",)):
    """name -> (kind, default), in order, without torch's private parameters."""
    return {p.name: (p.kind, p.default) for p in signature.parameters.values() if p.name not in drop}


def expected_parameters(record, torch_version):
    """The reference's parameters, less the keywords newer than `torch_version`."""
    return {name: spec for name, spec in parameters(inspect.signature(record.reference)).items()
            if not (name in record.keyword_since and torch_version < record.keyword_since[name])}


def describe(name, spec):
    kind, default = spec
    shown = name if default is inspect.Parameter.empty else f"{name}={default!r}"
    return f"{shown} ({kind.description})"


def signature_drift(expected, actual):
    """The differences between two `parameters` dicts, one line each."""
    lines = [f"added {describe(name, actual[name])}" for name in actual if name not in expected]
    lines += [f"removed {describe(name, expected[name])}" for name in expected if name not in actual]
    lines += [f"changed {describe(name, expected[name])} -> {describe(name, actual[name])}"
              for name in expected if name in actual and expected[name] != actual[name]]
    common = [name for name in expected if name in actual]
    if common != [name for name in actual if name in expected]:
        lines.append(f"reordered ({', '.join(common)}) -> ({', '.join(n for n in actual if n in expected)})")
    return lines
