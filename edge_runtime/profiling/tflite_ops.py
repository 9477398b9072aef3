"""Per-operator time of a TFLite artifact, measured by LiteRT on this machine.

Method (docs/edge_runtime.md, "Why is it slow on my board?"): every operator is carved into a
model of its own (``TfliteGraph.single_op_model``) and fed the activations it sees in the real
model (one run of the whole model with every tensor kept, on LiteRT's built-in kernels). Each
single-operator model, the whole model and an operator-free model (the cost of one ``invoke()``
call that does nothing) run in interleaved rounds, with the same thread count and the same
default delegate (XNNPACK) as the benchmark; an operator's time is its model's median minus the
empty model's. What this cannot see: fusion across operators inside the delegate, and cache
effects between neighbours; the record says how far the sum of the operators is from the whole
model's own median, which is how far to trust the split.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.backends.tflite import interpreter_class
from edge_runtime.common.native_stderr import native_stderr_filtered
from edge_runtime.profiling.table import op_table
from edge_runtime.profiling.tflite_graph import TfliteGraph

METHOD = (
    "each operator carved into its own model (its real input activations, same threads and "
    "delegate), interleaved rounds; operator time = lower quartile over the rounds of its model's "
    "invoke() minus that of an operator-free model; whole model read the same way"
)
TARGET_ROUND_NS = 400_000  # each round times a model this long (at least one call)


def _interpreter(
    content: bytes,
    threads: int | None,
    *,
    keep_all: bool = False,
    shapes: list[tuple[int, ...]] | None = None,
) -> Any:
    """An interpreter of ``content``; ``shapes``: its inputs' shapes, set before the first
    allocation (a model cut from a graph with a constant reshape, such as the test-time views'
    [6, -1, C], cannot be allocated at its stored batch-1 shape and resized afterwards)."""
    cls, _ = interpreter_class()
    kwargs: dict[str, Any] = {"model_content": content, "num_threads": threads}
    if keep_all:
        # Intermediate tensors only exist outside a delegate: built-in kernels, every tensor kept.
        from ai_edge_litert.interpreter import OpResolverType

        kwargs.update(
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    with native_stderr_filtered():
        interp = cls(**kwargs)
        for d, shape in zip(interp.get_input_details(), shapes or ()):
            if tuple(d["shape"]) != tuple(shape):
                interp.resize_tensor_input(d["index"], list(shape), strict=False)
        interp.allocate_tensors()
    return interp


def _feed(interp: Any, values: list[np.ndarray]) -> None:
    details = interp.get_input_details()
    resized = False
    for d, v in zip(details, values):
        if tuple(d["shape"]) != v.shape:
            interp.resize_tensor_input(d["index"], list(v.shape), strict=False)
            resized = True
    if resized:
        interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), values):
        interp.set_tensor(d["index"], v)


def activations(content: bytes, graph: TfliteGraph, q: np.ndarray) -> dict[int, np.ndarray]:
    """Every run-time tensor's value for input ``q`` (built-in kernels, all tensors kept)."""
    interp = _interpreter(content, 1, keep_all=True, shapes=[q.shape])
    _feed(interp, [q])
    interp.invoke()
    wanted = {t for op in graph.ops for t in (*graph.activation_inputs(op), *op.outputs)}
    return {t: interp.get_tensor(t).copy() for t in sorted(wanted)}


def _empty_model(graph: TfliteGraph, content: bytes) -> bytes:
    """A model with no operator (its input is its output): the cost of a call that does nothing."""
    s = graph._s
    src = s.ModelT.InitFromPackedBuf(bytearray(content), 0)
    sg = src.subgraphs[0]
    t = sg.tensors[sg.inputs[0]]
    t.buffer = 1
    graph_t = s.SubGraphT()
    graph_t.tensors, graph_t.inputs, graph_t.outputs, graph_t.operators = [t], [0], [0], []
    model = s.ModelT()
    model.version = src.version
    model.operatorCodes, model.subgraphs, model.buffers = [], [graph_t], [s.BufferT(), s.BufferT()]
    return graph._pack(model)


def _round(invoke: Any, reps: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(reps):
        invoke()
    return (time.perf_counter_ns() - t0) / reps


def profile_tflite(
    path: str | Path, q: np.ndarray, threads: int | None, rounds: int = 20, warmup: int = 5
) -> dict[str, Any]:
    """Per-operator times of the model at ``path`` for the quantized input batch ``q``."""
    content = Path(path).read_bytes()
    graph = TfliteGraph(content, str(path))
    values = activations(content, graph, q)
    models: list[tuple[str, Any]] = []
    whole = _interpreter(content, threads, shapes=[q.shape])
    _feed(whole, [q])
    models.append(("whole", whole))
    empty = _interpreter(_empty_model(graph, content), threads, shapes=[q.shape])
    _feed(empty, [q])
    models.append(("empty", empty))
    for op in graph.ops:
        feeds = [values[t] for t in dict.fromkeys(graph.activation_inputs(op))]
        interp = _interpreter(graph.single_op_model(op), threads, shapes=[v.shape for v in feeds])
        _feed(interp, feeds)
        models.append((str(op.index), interp))
    reps = []
    for _, interp in models:
        for _ in range(warmup):
            interp.invoke()
        est = min(_round(interp.invoke, 3) for _ in range(3))
        reps.append(max(1, min(200, math.ceil(TARGET_ROUND_NS / max(est, 1.0)))))
    samples: list[list[float]] = [[] for _ in models]
    for _ in range(rounds):
        for k, (_, interp) in enumerate(models):
            samples[k].append(_round(interp.invoke, reps[k]))
    med = [float(np.percentile(s, 25)) / 1e6 for s in samples]
    whole_ms, empty_ms = med[0], med[1]
    ops = [
        {
            "index": op.index,
            "name": op.name,
            "type": op.type,
            "ms": max(0.0, m - empty_ms),
            "raw_ms": m,
            "spread_ms": float(
                np.percentile(samples[k + 2], 75) - np.percentile(samples[k + 2], 25)
            )
            / 1e6,
        }
        for k, (op, m) in enumerate(zip(graph.ops, med[2:]))
    ]
    return op_table(
        ops,
        whole_ms=whole_ms - empty_ms,
        method=METHOD,
        extra={
            "whole_invoke_ms": whole_ms,
            "empty_invoke_ms": empty_ms,
            "rounds": rounds,
            "kernels": "default delegate (XNNPACK) where it applies, as in the benchmark",
        },
    )


__all__ = ["METHOD", "activations", "profile_tflite"]
