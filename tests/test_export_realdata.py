"""Real Fashion-MNIST through ``edgetk export`` (slow tier): a small CNN trained on a subset,
registered, exported to fp32 and int8 TFLite behind the default gate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_runtime.manifest import load_manifest
from edgetk.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_real_data_export_passes_default_gate(keras_home, space_dir, capsys) -> None:
    import keras

    from trainer.data import DataConfig, load_dataset

    data_cfg = DataConfig(train_size=4000, test_size=1000)
    ds = load_dataset(data_cfg)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(ds.x_train.astype(np.float32), ds.y_train, epochs=3, batch_size=64, verbose=0)
    version = space_dir / "run" / "models" / "cnn" / "v1"
    version.mkdir(parents=True)
    model.save(version / "model.keras")
    meta = {
        "name": "cnn",
        "version": 1,
        "labels": list(ds.class_names),
        "input": {"height": 28, "width": 28, "channels": 1},
        "output": {"kind": "probabilities", "num_classes": 10},
        "data_config": data_cfg.to_dict(),
    }
    (version / "metadata.json").write_text(json.dumps(meta))
    out = space_dir / "bundle"
    rc = main(["export", str(version), "--out-dir", str(out),
               "--artifacts", "tflite_fp32,tflite_int8"])  # fmt: skip
    printed = capsys.readouterr()
    assert rc == 0, printed.out + printed.err
    m = load_manifest(out, verify_hashes=True)
    int8 = m.artifact("tflite:int8")
    assert int8.parity["keras_accuracy"] > 0.7  # the model learned something real (chance: 0.1)
    assert int8.parity_passed and m.artifact("tflite:fp32").parity["agreement"] >= 0.999
    # Real pixels span 0..255: the converter's input parameters are ~1.0 / -128.
    assert int8.input.quantization.zero_point == -128
    assert int8.input.quantization.scale == pytest.approx(1.0, rel=1e-2)
    assert m.calibration["source"]["dataset"]["fingerprint_sha256"] == ds.fingerprint
    assert sum(m.calibration["per_class_counts"].values()) == 300
