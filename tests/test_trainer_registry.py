"""Registry: versioned, atomic folders; a saved model predicts identically in a fresh process
that imports only TensorFlow / Keras (no trainer code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edge_runtime.common.errors import ModelError


@pytest.fixture(scope="module")
def model():
    from trainer import env

    env.prepare()
    from trainer.models import AugmentConfig, build_transfer

    # Random (weights='none') is fine here: this is about serialization, not accuracy. The
    # augmentation layers are included because they must be the identity after reloading too.
    return build_transfer(
        (16, 16, 1), 3, image_size=32, weights="none", dense_units=(8,), augment=AugmentConfig()
    )


def _meta() -> dict:
    return {"stage": "transfer", "labels": ["a", "b", "c"], "metrics": {"accuracy": 0.5}}


@pytest.fixture(scope="module")
def small():
    from trainer.models import build_baseline

    # A tiny CNN: versioning does not need the MobileNetV2 graph, and exports it in seconds.
    return build_baseline((16, 16, 1), 3, filters=(4, 4, 4), dense_units=(4,))


def test_versions_count_up_and_are_complete(small, space_dir) -> None:
    from trainer.registry import format_table, list_models, register_model

    model = small

    first = register_model(space_dir, "transfer", model, _meta())
    second = register_model(space_dir, "transfer", model, _meta())
    assert (first.version, second.version) == (1, 2)
    assert second.path == space_dir / "models" / "transfer" / "v2"
    for v in (first, second):
        assert v.model_path.is_file() and (v.saved_model_path / "saved_model.pb").is_file()
        meta = json.loads((v.path / "metadata.json").read_text())
        assert meta["version"] == v.version and meta["name"] == "transfer"
    # No temporary folders are left behind.
    assert sorted(p.name for p in (space_dir / "models" / "transfer").iterdir()) == ["v1", "v2"]
    table = format_table(list_models(space_dir))
    assert "transfer  v2" in table and "0.5000" in table


def test_bad_name_is_refused(small, tmp_path) -> None:
    from trainer.registry import register_model

    with pytest.raises(ModelError, match="may only hold letters"):
        register_model(tmp_path, "../escape", small, _meta())


def test_failed_save_leaves_no_version(tmp_path) -> None:
    from trainer.registry import register_model

    class Broken:
        def save(self, path):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        register_model(tmp_path, "baseline", Broken(), _meta())
    assert list((tmp_path / "models" / "baseline").iterdir()) == []


def test_round_trip_in_a_fresh_process_without_trainer(model, space_dir) -> None:
    from trainer.registry import register_model

    reg = register_model(space_dir, "transfer", model, _meta())
    x = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 1)).astype("float32")
    np.save(space_dir / "x.npy", x)
    np.save(space_dir / "want.npy", np.asarray(model(x, training=False)))
    child = textwrap.dedent(
        """
        import sys
        import numpy as np
        import tensorflow as tf
        import keras
        folder, data = sys.argv[1], sys.argv[2]
        x = np.load(data + "/x.npy")
        want = np.load(data + "/want.npy")
        m = keras.models.load_model(folder + "/model.keras", compile=False)
        got = np.asarray(m.predict(x, verbose=0))
        sm = tf.saved_model.load(folder + "/saved_model")
        got_sm = np.asarray(sm.serve(tf.constant(x)))
        assert not any(k == "trainer" or k.startswith("trainer.") for k in sys.modules)
        assert not any(k == "edgetk" or k.startswith("edgetk.") for k in sys.modules)
        print("DIFF", float(np.abs(got - want).max()), float(np.abs(got_sm - want).max()))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", child, str(reg.path), str(space_dir)],
        cwd=space_dir,  # not the checkout: the trainer package cannot be imported by accident
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("DIFF"))
    keras_diff, saved_model_diff = (float(v) for v in line.split()[1:])
    assert keras_diff < 1e-6
    assert saved_model_diff < 1e-5
