"""torch.compile under test (`--compile BACKEND`): every record's torch function compiled by
dynamo with that backend (inductor; aot_eager_decomp_partition, torch's decompositions without
code generation), checked against the reference as any implementation is, and against torch
eager through the ledger (a compiled output equal to eager's shares eager's known divergence).

A case must prove it ran a compiled graph: the backend is wrapped so that each graph's runs are
counted, and a call that ran none (dynamo fell back to eager, e.g. past its recompile limit)
raises NotCompiled; `fullgraph=True` turns a graph break into an error, reported as NotCompiled
with dynamo's reason. Neither passes. A call dynamo ran eagerly or skipped is first run once
more after `torch._dynamo.reset()`, so that what an earlier call (one that raised) left in
dynamo cannot decide a case. Shapes are dynamic: a compile run's cases
(LossRecord.compile_cases) take one graph per class of calls dynamo specializes on, each case
also run resized on the same graph. Known compile-only divergences are
fixtures/known_compile_divergences.json (strict, like the eager ledger).
"""
import functools
import time

import torch

# dynamo's recompile limit is 8 graphs per function by default: past it, calls silently run
# eagerly. The suite compiles many keyword structures of one function, so it allows many more.
RECOMPILE_LIMIT = 4096


class NotCompiled(RuntimeError):
    """A call under --compile that ran no compiled graph, or could not be compiled whole."""


class Compiler:
    """One backend, wrapped to count what it compiles and runs."""

    def __init__(self, backend):
        from torch._dynamo.backends.registry import lookup_backend
        self.backend = backend
        self.inner = lookup_backend(backend)
        self.graphs = 0  # graphs compiled
        self.compile_seconds = 0.0
        self.graph_runs = 0  # runs of compiled graphs
        self.calls = 0  # calls of compiled functions
        self.resets = 0  # dynamo resets before running again a call that ran no compiled graph

    def __repr__(self):
        return self.backend

    def __call__(self, graph_module, example_inputs):
        started = time.perf_counter()
        compiled = self.inner(graph_module, example_inputs)
        self.graphs += 1
        self.compile_seconds += time.perf_counter() - started

        def run(*args):
            self.graph_runs += 1
            return compiled(*args)
        return run

    def stats(self):
        return {"backend": self.backend, "graphs": self.graphs,
                "compile_seconds": round(self.compile_seconds, 1),
                "calls": self.calls, "graph_runs": self.graph_runs, "resets": self.resets}


@functools.cache
def compiler(backend):
    """The process's Compiler for a backend (one, so that its graphs are counted together)."""
    configure_dynamo()
    return Compiler(backend)


def configure_dynamo():
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit",
                 "accumulated_cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, RECOMPILE_LIMIT)


@functools.cache
def compiled(function, backend):
    """`function` compiled with `backend` (dynamic shapes, the whole graph or an error), called
    so that a call dynamo did not compile runs once more from a fresh dynamo, then raises
    NotCompiled."""
    counting = compiler(backend)
    graph = torch.compile(function, backend=counting, dynamic=True, fullgraph=True)

    def run(args, kwargs):
        """(output, whether a compiled graph ran)."""
        runs = counting.graph_runs
        try:
            output = graph(*args, **kwargs)
        except Exception as error:
            if "found no compiled frames" in str(error):  # fullgraph's word for a frame dynamo skips
                return None, False
            unsupported = (type(error).__module__.startswith("torch._dynamo")
                           or "Unsupported" in type(error).__name__)
            if unsupported:
                message = str(error).strip()
                first_line = message.splitlines()[0] if message else type(error).__name__
                raise NotCompiled(f"not compiled by torch.compile(backend={backend!r}): {first_line}") \
                    from error
            raise
        return output, counting.graph_runs > runs

    @functools.wraps(function)
    def call(*args, **kwargs):
        counting.calls += 1
        output, compiled_run = run(args, kwargs)
        if not compiled_run:  # dynamo ran it eagerly or skipped it: once more from a fresh dynamo, so
            torch._dynamo.reset()  # that what an earlier call (one that raised) left cannot decide this case
            counting.resets += 1
            output, compiled_run = run(args, kwargs)
        if not compiled_run:
            raise NotCompiled("not compiled: the call ran no compiled graph of "
                              f"torch.compile(backend={backend!r}) (dynamo fell back to eager)")
        return output
    return call
