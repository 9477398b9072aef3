"""An ONNX model's nodes, and the same model with every node's output made a graph output,
without the ``onnx`` package (a board with the ``onnx`` extra has only ONNX Runtime).

The protobuf wire format is enough: ``ModelProto.graph`` is field 7, ``GraphProto.node`` field 1
and ``GraphProto.output`` field 12; ``NodeProto.output`` field 2, ``name`` 3, ``op_type`` 4;
``ValueInfoProto.name`` field 1. A second ``graph`` field appended to the file is merged into the
first by any protobuf parser (repeated fields concatenate), so adding outputs is an append.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_runtime.errors import ModelError


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(buf):
            raise ModelError("truncated protobuf varint")
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value): ints for varints/fixed, bytes for length-delimited."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = int.from_bytes(buf[i : i + 8], "little"), i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = int.from_bytes(buf[i : i + 4], "little"), i + 4
        else:
            raise ModelError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len_field(field: int, payload: bytes) -> bytes:
    return _encode_varint(field << 3 | 2) + _encode_varint(len(payload)) + payload


@dataclass(frozen=True)
class OnnxNode:
    index: int
    name: str
    type: str
    outputs: tuple[str, ...]


def read_nodes(content: bytes) -> tuple[list[OnnxNode], list[str]]:
    """The main graph's nodes in file order (ONNX requires topological order) and its outputs."""
    graphs = [v for f, w, v in _fields(content) if f == 7 and w == 2]
    if not graphs:
        raise ModelError("not an ONNX model (no graph)")
    nodes, outputs = [], []
    for graph in graphs:
        for f, w, v in _fields(graph):
            if f == 1 and w == 2:
                outs, name, kind = [], "", ""
                for nf, nw, nv in _fields(v):
                    if nw != 2:
                        continue
                    if nf == 2:
                        outs.append(bytes(nv).decode(errors="replace"))
                    elif nf == 3:
                        name = bytes(nv).decode(errors="replace")
                    elif nf == 4:
                        kind = bytes(nv).decode(errors="replace")
                nodes.append(OnnxNode(len(nodes), name or f"node{len(nodes)}", kind, tuple(outs)))
            elif f == 12 and w == 2:
                outputs += [
                    bytes(nv).decode(errors="replace") for nf, nw, nv in _fields(v) if nf == 1
                ]
    return nodes, outputs


def with_outputs(content: bytes, names: list[str]) -> bytes:
    """The model with ``names`` added to its graph outputs (types left for the runtime to infer)."""
    extra = b"".join(_len_field(12, _len_field(1, n.encode())) for n in names)
    return content + _len_field(7, extra)


__all__ = ["OnnxNode", "read_nodes", "with_outputs"]
