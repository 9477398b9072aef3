"""A TFLite model's operators, and standalone models carved out of it, without TensorFlow.

LiteRT's Python interpreter has no per-op profiler, but ai-edge-litert ships the flatbuffer
schema (``ai_edge_litert.schema_py_generated``): with it a model file reads into plain Python
objects, and any one operator can be written back out as a model of its own, its weights kept
as constants and its activations as the new model's inputs. That is how LiteRT's own accuracy
debugger isolates operators; here the carved models are timed (``tflite_ops``) and the
operator list names the tensors whose values the layer check compares (``layers``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from edge_runtime.errors import BackendUnavailableError, ModelError


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        raise BackendUnavailableError(
            "per-operator profiles of TFLite artifacts need ai-edge-litert (its model schema); "
            "tflite-runtime does not ship it: pip install 'edgetk[edge]'"
        ) from None
    return schema_py_generated


@dataclass(frozen=True)
class TfliteOp:
    """One operator of the main subgraph, in execution order."""

    index: int
    type: str  # builtin name, e.g. CONV_2D (a custom op: its custom code)
    name: str  # its first output tensor's name
    inputs: tuple[int, ...]  # tensor indices; -1 for an omitted optional input
    outputs: tuple[int, ...]


class TfliteGraph:
    """The parsed model: its operators and the means to carve one out."""

    def __init__(self, content: bytes, path: str = "model") -> None:
        self._s = _schema()
        try:
            self._model = self._s.ModelT.InitFromPackedBuf(bytearray(content), 0)
        except Exception as exc:  # a malformed flatbuffer raises whatever the decoder hit
            raise ModelError(f"{path} is not a TFLite model the schema can read ({exc})") from None
        if not self._model.subgraphs:
            raise ModelError(f"{path} has no subgraph")
        self.path = path
        names = {
            v: k for k, v in vars(self._s.BuiltinOperator).items() if k.isupper() and k[0] != "_"
        }
        sg = self._model.subgraphs[0]
        ops = []
        for i, op in enumerate(sg.operators or []):
            code = self._model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            kind = (
                (code.customCode or b"CUSTOM").decode(errors="replace")
                if builtin == self._s.BuiltinOperator.CUSTOM
                else names.get(builtin, f"BUILTIN_{builtin}")
            )
            outs = tuple(int(t) for t in (op.outputs if op.outputs is not None else []))
            first = sg.tensors[outs[0]].name if outs else b""
            ops.append(
                TfliteOp(
                    index=i,
                    type=kind,
                    name=(first or b"").decode(errors="replace") or f"op{i}",
                    inputs=tuple(int(t) for t in (op.inputs if op.inputs is not None else [])),
                    outputs=outs,
                )
            )
        self.ops: tuple[TfliteOp, ...] = tuple(ops)
        self.multiple_subgraphs = len(self._model.subgraphs) > 1

    def tensor_name(self, index: int) -> str:
        name = self._model.subgraphs[0].tensors[index].name
        return (name or b"").decode(errors="replace")

    def is_constant(self, index: int) -> bool:
        t = self._model.subgraphs[0].tensors[index]
        buf = self._model.buffers[t.buffer] if t.buffer < len(self._model.buffers) else None
        return buf is not None and buf.data is not None and len(buf.data) > 0

    def activation_inputs(self, op: TfliteOp) -> list[int]:
        """The operator's inputs that are computed at run time (not weights, not omitted)."""
        return [t for t in op.inputs if t >= 0 and not self.is_constant(t)]

    def _pack(self, model: Any) -> bytes:
        import flatbuffers  # ai-edge-litert's own dependency

        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def single_op_model(self, op: TfliteOp) -> bytes:
        """A model holding only ``op``: its activations are the inputs, its outputs the outputs.

        Only the buffers ``op`` reads are kept; signatures and metadata (which point at the
        original tensors and buffers) are dropped.
        """
        if self.multiple_subgraphs:
            raise ModelError(
                f"{self.path} has {len(self._model.subgraphs)} subgraphs (control flow); "
                "per-operator profiles cover single-subgraph models only"
            )
        s, src = self._s, self._model
        sg = src.subgraphs[0]
        used = [t for t in (*op.inputs, *op.outputs) if t >= 0]
        remap: dict[int, int] = {}
        tensors, buffers = [], [s.BufferT()]  # buffer 0 is the empty sentinel
        for t in used:
            if t in remap:
                continue
            tensor = copy.copy(sg.tensors[t])
            if self.is_constant(t):
                buffers.append(src.buffers[tensor.buffer])
                tensor.buffer = len(buffers) - 1
            else:
                buffers.append(s.BufferT())
                tensor.buffer = len(buffers) - 1
            remap[t] = len(tensors)
            tensors.append(tensor)
        new_op = copy.copy(sg.operators[op.index])
        new_op.inputs = [remap[t] if t >= 0 else -1 for t in op.inputs]
        new_op.outputs = [remap[t] for t in op.outputs]
        new_op.intermediates = None
        graph = s.SubGraphT()
        graph.tensors = tensors
        graph.operators = [new_op]
        graph.inputs = list(dict.fromkeys(remap[t] for t in self.activation_inputs(op)))
        graph.outputs = [remap[t] for t in op.outputs]
        graph.name = b"op"
        model = s.ModelT()
        model.version = src.version
        model.operatorCodes = src.operatorCodes
        model.subgraphs = [graph]
        model.buffers = buffers
        model.description = b"edgetk single-operator model"
        return self._pack(model)


__all__ = ["TfliteGraph", "TfliteOp"]
