"""What the suite checks: `--losses` adds the user's records, `--impl` swaps torch for another
implementation of torch.nn.functional's losses (a module with the same names and signatures)."""
import dataclasses
import importlib

from .registry import BY_NAME, REGISTRY


def load_losses(module_names):
    """Import the modules that register losses (after the built-in records)."""
    from . import records  # noqa: F401  (the built-in losses come first)
    for name in module_names:
        importlib.import_module(name)


def use_implementation(module_name):
    """Point every record at the module's function of the record's name; a record whose
    function the module lacks becomes unavailable, its cases skipped as not covered. The nn
    module comparison is dropped (the modules are torch's). Returns the names not covered."""
    module = importlib.import_module(module_name)
    missing = []
    for index, record in enumerate(REGISTRY):
        name = record.reference.__name__
        function = getattr(module, name, None)
        if function is None:
            missing.append(record.name)
        REGISTRY[index] = BY_NAME[record.name] = dataclasses.replace(
            record, torch_fn=function, module=None, since="2.2", keyword_since={},
            requires=f"not covered: {module_name} has no {name}")
    return missing
