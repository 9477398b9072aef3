"""How often the parity gate's verdict is noise: the budget-only rule against the paired rule.

Trains a small CNN on a Fashion-MNIST training subset (a few epochs: the model only has to be a
real one), exports float32 TFLite and full-integer int8 TFLite with the export library, runs
every artifact on the 10,000 test images with the device runtime, and then judges each artifact
on many stratified random subsets of the test set of each size n with both rules:

- budget only: a check fails when its point estimate is over budget (the gate before issue 9);
- paired: over budget AND real at the gate's confidence (``export.significance``).

Two deliberately broken artifacts show the paired rule still fails what is broken: the float32
model fed 0..1 instead of 0..255 pixels (a wrong input scale), and int8 calibrated on near-black
images. Writes ``benchmarks/gate/sample_size.json`` and ``.md`` from this run's numbers.

    KERAS_HOME=../shared/keras-home .venv/bin/python scripts/gate_sample_size.py
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_common import provenance  # noqa: E402


def machine() -> dict[str, Any]:
    import psutil

    from edge_runtime.bench.device import cpu_model

    return {
        "description": "shared 2-core x86_64 VM (other jobs ran beside it)",
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def small_cnn():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out)


def artifact_outputs(args: argparse.Namespace) -> dict[str, Any]:
    """Keras and artifact probabilities on the full test set, and the training facts."""
    import keras

    from calibration import CalibrationConfig, build_calibration_set, tflite_representative_dataset
    from export.runners import predict_tflite
    from export.tflite_export import convert_tflite, write_saved_model
    from trainer.data.split import stratified_subset

    (x_tr, y_tr), (x_te, y_te) = keras.datasets.fashion_mnist.load_data()
    x_tr, x_te = x_tr[..., None], x_te[..., None]
    idx = stratified_subset(y_tr, args.train_images, 0)
    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter_ns()
    model.fit(x_tr[idx].astype("float32"), y_tr[idx], epochs=args.epochs, batch_size=128, verbose=0)
    train_s = (time.perf_counter_ns() - t0) / 1e9
    ref = model.predict(x_te.astype("float32"), batch_size=256, verbose=0)
    calib = build_calibration_set(x_tr[idx], y_tr[idx], CalibrationConfig(size=300))
    dark = build_calibration_set(x_tr[idx] // 64, y_tr[idx], CalibrationConfig(size=300))
    with tempfile.TemporaryDirectory() as tmp:
        sm = write_saved_model(model, Path(tmp) / "sm", (28, 28, 1))
        fp32 = convert_tflite(sm, "fp32", None)
        int8 = convert_tflite(sm, "int8", tflite_representative_dataset(calib))
        int8_dark = convert_tflite(sm, "int8", tflite_representative_dataset(dark))
    x = x_te.astype(np.float32)
    return {
        "y": y_te.astype(np.int64),
        "keras": ref,
        "artifacts": {
            "tflite_fp32": ("fp32", predict_tflite(fp32, x)),
            "tflite_int8": ("int8", predict_tflite(int8, x)),
            "fp32, wrong input scale (0..1)": ("fp32", predict_tflite(fp32, x / 255.0)),
            "int8, calibrated on near-black images": ("int8", predict_tflite(int8_dark, x)),
        },
        "train": {"images": int(len(idx)), "epochs": args.epochs, "seconds": round(train_s, 1)},
    }


def judge_subsets(data: dict[str, Any], sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    from export import GateConfig, check_parity
    from trainer.data.split import stratified_subset

    gate = GateConfig.default()
    labels = tuple(str(i) for i in range(10))
    y, ref = data["y"], data["keras"]
    budgets = {"fp32": ["fp32"], "int8": ["int8", "int8_mixed"]}
    rows = []
    for name, (precision, probs) in data["artifacts"].items():
        full = check_parity(name, precision, ref, probs, y, labels, gate.for_precision(precision))
        for budget in budgets[precision]:
            t = gate.for_precision(budget)
            for n in sizes:
                old = new = 0
                reps = 1 if n >= len(y) else repeats
                for r in range(reps):
                    idx = np.arange(len(y)) if n >= len(y) else stratified_subset(y, n, 1000 + r)
                    args = (name, budget, ref[idx], probs[idx], y[idx], labels, t)
                    old += not check_parity(*args).passed
                    new += not check_parity(*args, confidence=gate.confidence).passed
                rows.append(
                    {
                        "artifact": name,
                        "budget": budget,
                        "full_set_accuracy_delta": full.metrics["accuracy_delta"],
                        "full_set_agreement": full.metrics["agreement"],
                        "n": int(min(n, len(y))),
                        "subsets": reps,
                        "fail_rate_budget_only": old / reps,
                        "fail_rate_paired": new / reps,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def markdown(record: dict[str, Any]) -> str:
    m, tr = record["machine"], record["train"]
    lines = [
        "# Parity gate: how often a verdict is noise",
        "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, {m['memory_gib']} GiB "
        f"({m['description']}). Produced by `{record.get('command', 'scripts/gate_sample_size.py')}` "
        f"on {record['created_utc']}.",
        "",
        f"Model: a small CNN trained on {tr['images']:,} Fashion-MNIST training images for "
        f"{tr['epochs']} epochs ({100 * record['keras_accuracy']:.2f} % on the 10,000 test images). "
        f"Each artifact ran once on the 10,000 test images; each row judges it on "
        f"stratified random subsets of n test images (the number of subsets is given) with the "
        f"budget-only rule and with the paired rule at {100 * record['confidence']:g} % confidence.",
        "",
        "| artifact | budget | Δ acc on 10,000 (pts) | agreement on 10,000 | n | subsets | "
        "fails, budget only | fails, paired |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in record["rows"]:
        lines.append(
            f"| {r['artifact']} | {r['budget']} | {100 * r['full_set_accuracy_delta']:+.2f} | "
            f"{100 * r['full_set_agreement']:.2f} % | {r['n']:,} | {r['subsets']} | "
            f"{100 * r['fail_rate_budget_only']:.1f} % | {100 * r['fail_rate_paired']:.1f} % |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train-images", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--sizes", default="30,48,100,300,10000")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "gate")
    args = ap.parse_args()
    from edge_runtime.common.fileio import write_json, write_text
    from export import GateConfig
    from trainer import env

    env.prepare()
    described = machine()  # first: a missing module fails now, not after the long part
    data = artifact_outputs(args)
    sizes = [int(v) for v in args.sizes.split(",")]
    rows = judge_subsets(data, sizes, args.repeats)
    record = {
        **provenance(__file__),
        "machine": described,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train": data["train"],
        "keras_accuracy": float(np.mean(np.argmax(data["keras"], 1) == data["y"])),
        "confidence": GateConfig.default().confidence,
        "repeats": args.repeats,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "sample_size.json", record)
    write_text(args.out / "sample_size.md", markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
