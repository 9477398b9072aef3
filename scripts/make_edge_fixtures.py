"""Build the tiny test bundle under tests/fixtures/ (run once; the output is committed).

A 28x28x1 raw-pixel CNN (0..255 in, the 1/255 scaling is a layer of the graph) learns four
light-on-dark synthetic patterns in a few seconds, then is exported as float32 TFLite, full-integer
int8 TFLite (int8 input: scale 1, zero point -128, raw pixels go straight in) and float32 ONNX, with
a manifest written through ``edge_runtime.manifest``. This script may use TensorFlow because it is
not part of edge_runtime; the runtime tests that use its output never import TensorFlow.

    .venv/bin/python scripts/make_edge_fixtures.py [--out tests/fixtures]
"""

from __future__ import annotations

import argparse
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

LABELS = ("horizontal", "vertical", "box", "cross")
SIZE = 28


def draw(kind: int, rng: np.random.Generator) -> np.ndarray:
    """One 28x28 uint8 light-on-dark pattern of class ``kind``, jittered and noisy."""
    img = np.zeros((SIZE, SIZE), np.float32)
    c = rng.integers(9, 19, size=2)
    half = int(rng.integers(6, 10))
    t = int(rng.integers(2, 4))
    y0, y1 = max(0, c[0] - half), min(SIZE, c[0] + half)
    x0, x1 = max(0, c[1] - half), min(SIZE, c[1] + half)
    if kind == 0:
        img[c[0] - t // 2 : c[0] - t // 2 + t, x0:x1] = 1
    elif kind == 1:
        img[y0:y1, c[1] - t // 2 : c[1] - t // 2 + t] = 1
    elif kind == 2:
        img[y0:y1, x0:x1] = 1
        img[y0 + t : y1 - t, x0 + t : x1 - t] = 0
    else:
        img[c[0] - t // 2 : c[0] - t // 2 + t, x0:x1] = 1
        img[y0:y1, c[1] - t // 2 : c[1] - t // 2 + t] = 1
    level = rng.uniform(170, 255)
    noisy = img * level + rng.normal(0, 12, img.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(LABELS)
    x = np.stack([draw(int(k), rng) for k in y])[..., None]
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures"))
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx
    from ai_edge_litert.interpreter import Interpreter

    from edge_runtime.common.fileio import sha256_file, write_bytes
    from edge_runtime.manifest import (
        Artifact,
        InputSpec,
        Manifest,
        OutputSpec,
        Quantization,
        TensorSpec,
        write_manifest,
    )

    keras.utils.set_random_seed(0)
    x, y = dataset(2400, seed=1)
    xt, yt = dataset(400, seed=2)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1), name="pixels"),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(12, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(len(LABELS), activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x.astype("float32"), y, epochs=8, batch_size=64, verbose=0)
    acc = float(model.evaluate(xt.astype("float32"), yt, verbose=0)[1])
    print(f"keras test accuracy on synthetic patterns: {acc:.3f}")

    bundle = args.out / "tiny_bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.mkdir(parents=True)

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    write_bytes(bundle / "model_fp32.tflite", conv.convert())

    def representative():
        for i in range(0, 400, 4):
            yield [x[i : i + 1].astype("float32")]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    write_bytes(bundle / "model_int8.tflite", conv.convert())

    spec = (tf.TensorSpec((None, SIZE, SIZE, 1), tf.float32, name="pixels"),)
    # tf2onnx's from_keras does not understand Keras 3 models; a traced function converts cleanly.
    fn = tf.function(lambda pixels: model(pixels, training=False), input_signature=spec)
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
    write_bytes(bundle / "model_fp32.onnx", proto.SerializeToString())

    def tflite_specs(path: Path) -> tuple[TensorSpec, TensorSpec]:
        it = Interpreter(model_path=str(path))
        out = []
        for d in (it.get_input_details()[0], it.get_output_details()[0]):
            scale, zp = d["quantization"]
            out.append(
                TensorSpec(
                    name=d["name"],
                    shape=tuple(int(v) for v in d["shape_signature"]),
                    dtype=np.dtype(d["dtype"]).name,
                    quantization=Quantization(float(scale), int(zp)) if scale else None,
                )
            )
        return out[0], out[1]

    def onnx_specs(path: Path) -> tuple[TensorSpec, TensorSpec]:
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        i, o = s.get_inputs()[0], s.get_outputs()[0]
        shp = lambda a: tuple(d if isinstance(d, int) else -1 for d in a.shape)  # noqa: E731
        return (
            TensorSpec(name=i.name, shape=shp(i), dtype="float32"),
            TensorSpec(name=o.name, shape=shp(o), dtype="float32"),
        )

    artifacts = []
    for file, fmt, precision, specs in (
        ("model_int8.tflite", "tflite", "int8", tflite_specs),
        ("model_fp32.tflite", "tflite", "fp32", tflite_specs),
        ("model_fp32.onnx", "onnx", "fp32", onnx_specs),
    ):
        path = bundle / file
        inp, outp = specs(path)
        artifacts.append(
            Artifact(
                file=file,
                format=fmt,
                precision=precision,
                sha256=sha256_file(path),
                size_bytes=path.stat().st_size,
                input=inp,
                output=outp,
                notes="test fixture: tiny CNN on synthetic patterns",
            )
        )
    manifest = Manifest(
        name="tiny-patterns",
        labels=LABELS,
        input=InputSpec(
            height=SIZE, width=SIZE, channels=1, color="grey", polarity="light_on_dark"
        ),
        output=OutputSpec(kind="probabilities", num_classes=len(LABELS)),
        artifacts=tuple(artifacts),
        default_artifact="model_int8.tflite",
        source_model={"name": "tiny-patterns", "keras_test_accuracy": round(acc, 4)},
        versions={"tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__},
        created_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    write_manifest(bundle, manifest)

    # A fixed labelled image set (ROOT/<class>/*.png): folder-evaluation tests and the arm64 check.
    from PIL import Image

    images = args.out / "images"
    shutil.rmtree(images, ignore_errors=True)
    xi, yi = dataset(24, seed=3)
    for n, (img, k) in enumerate(zip(xi, yi)):
        d = images / LABELS[k]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[..., 0]).save(d / f"{n:02d}.png")
    print(f"wrote {bundle} and {images}")


if __name__ == "__main__":
    main()
