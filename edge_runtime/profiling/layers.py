"""``edgetk bench --check-layers N``: every layer's output on the target against a reference
computed on this machine, to find the first layer where the two part.

The reference file (``.npz``) holds the exact input tensors (already preprocessed and quantized
here, so the target runs the very same numbers and only its runtime can differ) and, per layer,
the reference outputs: the same artifact run here (does the board compute what this machine
computes?) or another artifact of the bundle, matched by tensor name (where does int8 drift
from the fp32 model?). The target dumps its own layers and compares them there; only the table
comes back.

TFLite layers are the operators' outputs, kept by LiteRT's ``experimental_preserve_all_tensors``
on its built-in kernels: a delegate (XNNPACK) computes inside itself and keeps no intermediate
tensors, so the dump runs without it, and ``delegate_output_agrees`` says whether the delegate's
final output equals the dump's. ONNX layers are the nodes' outputs, made graph outputs by an
append to the file (``onnx_graph``) and computed with graph optimizations off (so every node of
the file exists); ``delegate_output_agrees`` then compares with a normally optimized session.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from edge_runtime.errors import ModelError

FORMAT = "edgetk.layers/1"
# What counts as a divergence: any code for the same integer artifact, a relative error above
# 1e-5 for the same float artifact, above 0.1 against another artifact (int8 against fp32).
SAME_FLOAT_REL = 1e-5
CROSS_REL = 0.1


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Integers exactly; floats to a relative 1e-5 (fused kernels round differently)."""
    if a.dtype.kind in "iu":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=SAME_FLOAT_REL, atol=1e-7))


def dump_tflite(path: str | Path, inputs: np.ndarray) -> tuple[list[dict[str, Any]], dict]:
    """Every operator's first output for each input (one image at a time), without delegates.

    Returns the layers (execution order: name, type, dtype, scale, zero point) and
    ``{name: array (N, ...)}``, plus ``__output__``: the final output with the default delegate.
    """
    from edge_runtime.profiling.tflite_graph import TfliteGraph
    from edge_runtime.profiling.tflite_ops import _feed, _interpreter

    content = Path(path).read_bytes()
    graph = TfliteGraph(content, str(path))
    plain = _interpreter(content, 1, keep_all=True)
    details = {d["index"]: d for d in plain.get_tensor_details()}
    layers, seen = [], set()
    for op in graph.ops:
        if not op.outputs or op.name in seen:
            continue
        seen.add(op.name)
        d = details[op.outputs[0]]
        scale, zero = d["quantization"]
        layers.append(
            {
                "index": op.index,
                "name": op.name,
                "type": op.type,
                "tensor": op.outputs[0],
                "dtype": np.dtype(d["dtype"]).name,
                "scale": float(scale),
                "zero_point": int(zero),
            }
        )
    values: dict[str, list[np.ndarray]] = {layer["name"]: [] for layer in layers}
    values["__output__"] = []
    delegated = _interpreter(content, 1)
    out_index = delegated.get_output_details()[0]["index"]
    plain_out = plain.get_output_details()[0]["index"]
    agree = True
    for x in inputs:
        _feed(plain, [x[None]])
        plain.invoke()
        for layer in layers:
            values[layer["name"]].append(plain.get_tensor(layer["tensor"]).copy())
        _feed(delegated, [x[None]])
        delegated.invoke()
        final = delegated.get_tensor(out_index).copy()
        values["__output__"].append(final)
        agree = agree and _same(final, plain.get_tensor(plain_out))
    stacked = {k: np.stack(v) for k, v in values.items()}  # (N, ...) whatever the rank
    stacked["__delegate_agrees__"] = np.array(agree)
    return layers, stacked


def dump_onnx(path: str | Path, inputs: np.ndarray) -> tuple[list[dict[str, Any]], dict]:
    """Every node's first output for each input, graph optimizations off (so each node of the
    file computes and keeps its own output); ``__output__`` from a normally optimized session."""
    from edge_runtime.backends.onnx import _import_ort
    from edge_runtime.profiling.onnx_graph import read_nodes, with_outputs

    ort = _import_ort(Path(path))
    content = Path(path).read_bytes()
    nodes, graph_outputs = read_nodes(content)
    layers, seen = [], set(graph_outputs)
    for node in nodes:
        if not node.outputs or not node.outputs[0]:
            continue
        layers.append(
            {
                "index": node.index,
                "name": node.outputs[0],
                "type": node.type,
                "scale": 0.0,
                "zero_point": 0,
            }  # fmt: skip
        )
    extra = [layer["name"] for layer in layers if layer["name"] not in seen]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    dump = ort.InferenceSession(
        with_outputs(content, extra), opts, providers=["CPUExecutionProvider"]
    )
    plain_opts = ort.SessionOptions()
    plain_opts.intra_op_num_threads = 1
    plain_opts.log_severity_level = 3
    plain = ort.InferenceSession(str(path), plain_opts, providers=["CPUExecutionProvider"])
    in_name = dump.get_inputs()[0].name
    names = [layer["name"] for layer in layers]
    values: dict[str, list[np.ndarray]] = {n: [] for n in names}
    values["__output__"] = []
    agree = True
    for x in inputs:
        got = dict(zip(names, dump.run(names, {in_name: x[None]})))
        for n in names:
            values[n].append(np.asarray(got[n]))
        final = plain.run([graph_outputs[0]], {in_name: x[None]})[0]
        values["__output__"].append(final)
        agree = agree and _same(final, got.get(graph_outputs[0], final))
    for layer in layers:
        layer["dtype"] = values[layer["name"]][0].dtype.name if len(inputs) else "?"
    stacked = {k: np.stack(v) for k, v in values.items()}
    stacked["__delegate_agrees__"] = np.array(agree)
    return layers, stacked


def dump_layers(path: str | Path, fmt: str, inputs: np.ndarray) -> tuple[list[dict], dict]:
    if fmt == "onnx":
        return dump_onnx(path, inputs)
    if fmt != "tflite":
        raise ModelError(f"--check-layers covers TFLite and ONNX artifacts; {path} is {fmt}")
    return dump_tflite(path, inputs)


def write_reference(
    out: Path, artifact: str, reference: str, inputs: np.ndarray, layers: list, values: dict
) -> Path:
    """The reference file the target compares against (atomic write)."""
    meta = {"format": FORMAT, "artifact": artifact, "reference": reference, "layers": layers}
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        __inputs__=inputs,
        **{f"L{k}": values[layer["name"]] for k, layer in enumerate(layers)},
    )
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(out)
    return out


def read_reference(path: str | Path) -> tuple[dict, np.ndarray, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(bytes(z["__meta__"]).decode())
        if meta.get("format") != FORMAT:
            raise ModelError(f"{path} is not an edgetk layer reference ({FORMAT})")
        values = {layer["name"]: z[f"L{k}"] for k, layer in enumerate(meta["layers"])}
        return meta, z["__inputs__"], values


def _real(a: np.ndarray, layer: dict) -> np.ndarray:
    if a.dtype.kind in "iu" and layer["scale"]:
        return (a.astype(np.float64) - layer["zero_point"]) * layer["scale"]
    return a.astype(np.float64)


def compare(
    target_layers: list[dict],
    target: dict[str, np.ndarray],
    ref_layers: list[dict],
    reference: dict[str, np.ndarray],
    same_artifact: bool,
) -> dict[str, Any]:
    """Per layer (target's order, those the reference has): max difference (in quantization steps
    when both are the same integer tensor), relative error, cosine; and the first divergent one."""
    ref_by_name = {layer["name"]: layer for layer in ref_layers}
    rows = []
    for layer in target_layers:
        ref = ref_by_name.get(layer["name"])
        if ref is None:
            continue
        t, r = target[layer["name"]], reference[layer["name"]]
        if t.shape != r.shape:
            rows.append({**_ident(layer), "error": f"shape {list(t.shape)} vs {list(r.shape)}"})
            continue
        tr, rr = _real(t, layer), _real(r, ref)
        diff = tr - rr
        norm = float(np.linalg.norm(rr))
        rel = float(np.linalg.norm(diff) / norm) if norm > 0 else float(np.linalg.norm(diff))
        denom = float(np.linalg.norm(tr) * norm)
        cosine = float(np.sum(tr * rr) / denom) if denom > 0 else (1.0 if rel == 0 else 0.0)
        row: dict[str, Any] = {
            **_ident(layer),
            "max_abs": float(np.abs(diff).max()) if diff.size else 0.0,
            "rel_error": rel,
            "cosine": cosine,
            "identical": bool(np.array_equal(t, r)),
        }
        integer = same_artifact and t.dtype.kind in "iu" and t.dtype == r.dtype
        if integer:
            steps = np.abs(t.astype(np.int64) - r.astype(np.int64))
            row["max_steps"] = int(steps.max()) if steps.size else 0
            row["differing_fraction"] = float(np.mean(steps > 0)) if steps.size else 0.0
            row["diverges"] = row["max_steps"] > 0
        else:
            row["diverges"] = rel > (SAME_FLOAT_REL if same_artifact else CROSS_REL)
        rows.append(row)
    first = next((r for r in rows if r.get("diverges") or r.get("error")), None)
    return {
        "layers": rows,
        "compared": len(rows),
        "identical": all(r.get("identical") for r in rows) and bool(rows),
        "first_divergent": first,
        "threshold": (
            f"any differing code (integer), relative error > {SAME_FLOAT_REL:g} (float)"
            if same_artifact
            else f"relative error > {CROSS_REL:g}"
        ),
    }


def _ident(layer: dict) -> dict:
    return {"index": layer["index"], "name": layer["name"], "type": layer["type"]}


def check_against(
    reference_file: str | Path, artifact_path: str | Path, fmt: str | None = None
) -> dict:
    """On the target: dump ``artifact_path``'s layers for the reference's inputs and compare
    (``fmt`` from the file's suffix when not given)."""
    fmt = fmt or ("onnx" if str(artifact_path).endswith(".onnx") else "tflite")
    meta, inputs, ref_values = read_reference(reference_file)
    layers, values = dump_layers(artifact_path, fmt, inputs)
    same = meta["reference"] == meta["artifact"]
    result = compare(layers, values, meta["layers"], ref_values, same)
    result.update(
        artifact=meta["artifact"],
        reference=meta["reference"],
        images=int(len(inputs)),
        delegate_output_agrees=bool(values["__delegate_agrees__"]),
    )
    return result


def layer_inputs(bundle: str | Path, artifact: str, images: list[np.ndarray]) -> np.ndarray:
    """The decoded images as the artifact's input tensor (preprocessed and quantized here)."""
    from edge_runtime.predictor import Predictor

    predictor = Predictor.from_bundle(bundle, artifact, 1)
    try:
        batch = np.stack([predictor.preprocess(img) for img in images])
        return predictor.backend.quantize_input(batch)
    finally:
        predictor.close()


def make_reference(
    bundle: str | Path,
    artifact: str,
    images: list[np.ndarray],
    out: Path,
    reference_artifact: str | None = None,
) -> Path:
    """Compute, on this machine, the reference file for ``artifact`` (against itself, or against
    ``reference_artifact`` of the same bundle, fed the same images through its own input)."""
    from edge_runtime.manifest import load_manifest

    manifest = load_manifest(bundle)
    art = manifest.artifact(artifact)
    ref = manifest.artifact(reference_artifact) if reference_artifact else art
    if ref.format != art.format:
        raise ConfigError(
            f"--layers-reference {ref.file} is {ref.format} but {art.file} is {art.format}: "
            "layers are matched by name within one format; pick a reference of the same format"
        )
    inputs = layer_inputs(bundle, art.file, images)
    ref_inputs = inputs if ref is art else layer_inputs(bundle, ref.file, images)
    layers, values = dump_layers(Path(bundle) / ref.file, ref.format, ref_inputs)
    return write_reference(out, art.file, ref.file, inputs, layers, values)


def format_layers(result: dict[str, Any], where: str = "") -> str:
    """One line when the target agrees bit for bit; else the first divergent layer and a table."""
    if result.get("error"):
        return f"{where}{result.get('artifact', '?')}: layer check ERROR {result['error']}"
    head = f"{where}{result['artifact']} vs {result['reference']} here, {result['images']} image(s)"
    if result["identical"]:
        return f"{head}: all {result['compared']} layers agree bit for bit"
    first = result["first_divergent"]
    lines = []
    if first is None:
        lines.append(f"{head}: no layer beyond the threshold ({result['threshold']})")
    else:
        lines.append(
            f"{head}: first divergent layer #{first['index']} {first['name']} ({first['type']})"
            + (f", {first['max_steps']} quantization step(s)" if "max_steps" in first else "")
            + (f", relative error {first['rel_error']:.3g}" if "rel_error" in first else "")
        )
    if not result.get("delegate_output_agrees", True):
        lines.append("  note: the default delegate's final output differs from the dump's")
    lines.append(f"  {'#':>3} {'layer':<48} {'type':<16} {'steps':>5} {'rel err':>9} {'cosine':>8}")
    for r in result["layers"]:
        if r.get("error"):
            lines.append(f"  {r['index']:>3} {r['name'][-48:]:<48} ERROR {r['error']}")
            continue
        mark = " <" if r is first else ""
        lines.append(
            f"  {r['index']:>3} {r['name'][-48:]:<48} {r['type'][:16]:<16} "
            f"{r.get('max_steps', '-')!s:>5} {r['rel_error']:>9.3g} {r['cosine']:>8.5f}{mark}"
        )
    return "\n".join(lines)


__all__ = [
    "FORMAT",
    "check_against",
    "compare",
    "dump_layers",
    "format_layers",
    "layer_inputs",
    "make_reference",
    "read_reference",
    "write_reference",
]
