"""Train a small MobileNetV2-0.35 transfer model and register it, for export development.

This is a stand-in for the trainer's fine-tuned model while that one trains: raw-pixel input
(28x28x1 float 0..255), resize / grey-to-RGB / ``preprocess_input`` as layers in the graph, a
frozen ImageNet backbone and a softmax head, written in the registry layout of
``docs/contracts.md`` (``model.keras``, ``saved_model/``, ``metadata.json``).

    .venv/bin/python scripts/export_quick_model.py runs/quick [--train-size 20000 --epochs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from edge_runtime.common.fileio import write_json
from trainer import env
from trainer.data import DataConfig, load_dataset, make_splits
from trainer.rundir import library_versions, utc_now


def build(num_classes: int, size: int, alpha: float):
    import keras

    inp = keras.Input((28, 28, 1), name="pixels")
    x = keras.layers.Resizing(size, size, name="resize")(inp)
    x = keras.layers.Concatenate(axis=-1, name="grey_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess_input")(x)
    backbone = keras.applications.MobileNetV2(
        input_shape=(None, None, 3), include_top=False, weights="imagenet", alpha=alpha
    )
    backbone.trainable = False
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="quick_mobilenetv2")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--train-size", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--alpha", type=float, default=0.35)
    args = ap.parse_args()

    env.prepare()
    import keras

    keras.utils.set_random_seed(0)
    cfg = DataConfig(train_size=args.train_size)
    ds = load_dataset(cfg)
    sp = make_splits(ds, cfg)
    model = build(ds.num_classes, args.size, args.alpha)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    t0 = time.perf_counter()
    model.fit(
        sp.x_train.astype("float32"),
        sp.y_train,
        validation_data=(sp.x_val.astype("float32"), sp.y_val),
        epochs=args.epochs,
        batch_size=64,
        verbose=2,
    )
    _, acc = model.evaluate(sp.x_test.astype("float32"), sp.y_test, verbose=0)
    out = args.run_dir / "models" / "quick" / "v1"
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    model.export(str(out / "saved_model"), verbose=False)
    sha = hashlib.sha256((out / "model.keras").read_bytes()).hexdigest()
    write_json(
        out / "metadata.json",
        {
            "schema_version": 1,
            "name": "quick",
            "version": 1,
            "stage": "transfer",
            "labels": list(ds.class_names),
            "input": {
                "height": 28,
                "width": 28,
                "channels": 1,
                "layout": "NHWC",
                "color": "grey",
                "value_range": [0.0, 255.0],
                "polarity": ds.polarity,
                "resize": "pad",
            },
            "output": {"kind": "probabilities", "num_classes": ds.num_classes},
            "metrics": {"accuracy": float(acc)},
            "dataset": ds.describe(),
            "data_config": cfg.to_dict(),
            "config": vars(args) | {"run_dir": str(args.run_dir)},
            "versions": library_versions(),
            "code_version": "scripts/export_quick_model.py",
            "created_utc": utc_now(),
            "model_sha256": sha,
            "train_seconds": round(time.perf_counter() - t0, 1),
        },
    )
    print(f"test accuracy {acc:.4f}; registered {out}")


if __name__ == "__main__":
    main()
