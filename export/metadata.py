"""Write the input contract into the artifact files themselves (``edge_runtime.embedded``).

One ``EmbeddedContract`` per artifact, built from the same objects the manifest is written from,
goes into the file before it is hashed: the manifest's sha256 and size describe the final bytes,
metadata included. Embedding changes no tensor and no operator; ``embed`` is followed in the gate
by a check that the file answers exactly as it did before (``export.bundle._judge``).

- TFLite: a named entry of the model's ``metadata`` list, written through the TFLite schema's
  object API (``ai_edge_litert.schema_py_generated``), the way the converter itself records its
  ``min_runtime_version`` and conversion metadata.
- ONNX: ``metadata_props`` written with the ``onnx`` package, read back by ONNX Runtime's
  ``get_modelmeta()``: the edgetk contract as JSON plus plain keys other tools show as they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ModelError
from edge_runtime.common.fileio import write_bytes
from edge_runtime.embedded import KEY, EmbeddedContract
from edge_runtime.manifest import InputSpec, OutputSpec, TensorSpec

TFLITE_IDENTIFIER = b"TFL3"


def build_contract(
    *,
    name: str,
    labels: tuple[str, ...],
    spec: InputSpec,
    output: OutputSpec,
    fmt: str,
    precision: str,
    tensor_input: TensorSpec,
    tensor_output: TensorSpec,
    provenance: dict[str, Any],
    parity: dict[str, Any],
) -> EmbeddedContract:
    """The contract of one artifact; ``parity`` is cut to the verdict and headline numbers."""
    keep = ("passed", "accuracy", "keras_accuracy", "agreement", "images")
    return EmbeddedContract(
        name=name,
        labels=tuple(labels),
        input=spec,
        output=output,
        format=fmt,
        precision=precision,
        tensor_input=tensor_input,
        tensor_output=tensor_output,
        provenance=provenance,
        parity={k: parity[k] for k in keep if k in parity},
    )


def onnx_props(contract: EmbeddedContract) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX artifact: plain keys, and the whole contract."""
    spec = contract.input
    mean, std = spec.normalization()
    return {
        "labels": json.dumps(list(contract.labels)),
        "image_size": json.dumps([spec.height, spec.width]),
        "color_space": "GRAYSCALE" if spec.color == "grey" else "RGB",
        "input_layout": spec.layout,
        "normalization_mean": json.dumps([round(m, 6) for m in mean]),
        "normalization_std": json.dumps([round(s, 6) for s in std]),
        "output_score_type": contract.output.kind,
        "producer": "edgetk",
        KEY: contract.to_json().decode(),
    }


def embed_tflite(data: bytes, payload: bytes, name: str = KEY) -> bytes:
    """``data`` (a TFLite flatbuffer) with a metadata entry ``name`` holding ``payload``."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # flatbuffers raises plain errors on a damaged file
        raise ModelError(f"cannot read the TFLite model to embed its metadata: {exc}") from None
    entries = [m for m in (model.metadata or []) if m.name != name.encode() and m.name != name]
    buf = schema.BufferT()
    buf.data = np.frombuffer(payload, np.uint8)
    model.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*entries, entry]
    builder = flatbuffers.Builder(len(data) + len(payload) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    return bytes(builder.Output())


def embed_onnx(path: Path, props: dict[str, str]) -> None:
    """Set ``props`` as the ONNX model's ``metadata_props`` (other keys kept), in place."""
    import onnx

    model = onnx.load(str(path))
    merged = {p.key: p.value for p in model.metadata_props} | props
    del model.metadata_props[:]
    for k, v in merged.items():
        model.metadata_props.add(key=k, value=v)
    write_bytes(path, model.SerializeToString())


def embed(path: str | Path, fmt: str, contract: EmbeddedContract) -> None:
    """Write ``contract`` into the artifact at ``path`` (atomically)."""
    p = Path(path)
    if fmt == "tflite":
        write_bytes(p, embed_tflite(p.read_bytes(), contract.to_json()))
    elif fmt == "onnx":
        embed_onnx(p, onnx_props(contract))
    else:
        raise ModelError(f"no metadata writer for format {fmt!r}")


__all__ = ["build_contract", "embed", "embed_onnx", "embed_tflite", "onnx_props"]
