"""Each stage trains, beats chance on a learnable synthetic task, and registers its model.

The three stages run once (module fixture) on tiny 16x16 images with a tiny MobileNetV2
(weights='none', 32 px): seconds, not minutes. Real weights and real data are the slow tier.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_runtime.common.errors import ModelError
from trainer.data import DataConfig, Dataset
from trainer.models import AugmentConfig
from trainer.training import Stage, StageConfig

CLASSES = ("dark", "horizontal", "vertical")


def synthetic_dataset(n_train: int = 360, n_test: int = 150, seed: int = 0) -> Dataset:
    """Three classes anyone can tell apart: dim noise, horizontal stripes, vertical stripes."""
    rng = np.random.default_rng(seed)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 3
        x = rng.normal(40, 15, (n, 16, 16, 1))
        stripes = (np.arange(16) % 4 < 2).astype(float) * 160
        x[y == 1] += stripes[None, :, None, None]
        x[y == 2] += stripes[None, None, :, None]
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    x_tr, y_tr = make(n_train)
    x_te, y_te = make(n_test)
    return Dataset(x_tr, y_tr, x_te, y_te, CLASSES, name="stripes", source="synthetic")


def tiny(stage: Stage, **kw) -> StageConfig:
    base = {
        "stage": stage,
        "epochs": 10,  # epochs take a fraction of a second here; the stage overhead dominates
        "batch_size": 32,
        "learning_rate": 3e-3,
        "image_size": 32,
        "weights": "none",
        "dense_units": (16,),
        "filters": (8, 16, 16),
        "latency_runs": 5,
        "bn_momentum": 0.9,  # a few dozen steps: moving statistics must keep up
        "gradcam": False,  # trainer.gradcam has its own tests; here it would only cost time
        "augment": AugmentConfig.light(),
    }
    return StageConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, keras_home):
    """All three stages on one run directory (a path with spaces).

    The transfer stage uses the real ImageNet MobileNetV2 (2 MB, from the offline cache; the
    module skips without it): a randomly initialised frozen backbone yields vanishing features
    (~1e-12), so "transfer beats chance" would test nothing but luck.
    """
    from trainer.training import run_stage

    run_dir = tmp_path_factory.mktemp("run") / "run with spaces"
    ds = synthetic_dataset()
    dc = DataConfig(val_fraction=0.2)
    results = {
        "baseline": run_stage(run_dir, tiny(Stage.BASELINE), dc, dataset=ds),
        "transfer": run_stage(
            run_dir,
            tiny(Stage.TRANSFER, epochs=8, learning_rate=3e-3, weights="imagenet"),
            dc,
            dataset=ds,
        ),
        "finetune": run_stage(
            run_dir,
            tiny(Stage.FINETUNE, epochs=3, learning_rate=1e-3, unfreeze_fraction=0.5),
            dc,
            dataset=ds,
        ),
    }
    return run_dir, ds, results


@pytest.mark.slow
def test_transfer_from_random_weights_collapses_loudly(tmp_path) -> None:
    """weights='none' really is random (features vanish): the collapse detector must say so."""
    from edge_runtime.common.errors import CollapseError
    from trainer.training import run_stage

    with pytest.raises(CollapseError, match="collapsed|COLLAPSE|near chance"):
        run_stage(
            tmp_path / "run",
            tiny(Stage.TRANSFER, epochs=1, latency_runs=1),
            DataConfig(val_fraction=0.2),
            dataset=synthetic_dataset(n_train=120, n_test=60),
        )
    assert (tmp_path / "run" / "transfer" / "summary.json").is_file()
    assert not (tmp_path / "run" / "models" / "transfer").exists()  # never registered


@pytest.mark.parametrize("stage", ["baseline", "transfer", "finetune"])
def test_stage_beats_chance_and_writes_its_outputs(trained, stage: str) -> None:
    run_dir, _, results = trained
    r = results[stage]
    assert r.metrics["accuracy"] > 0.8, f"{stage} did not learn: {r.metrics}"  # chance: 1/3
    d = run_dir / stage
    for name in (
        "config.json",
        "augmentation.png",
        "history.csv",
        "history.json",
        "learning_curves.png",
        "metrics.json",
        "confusion_matrix.png",
        "summary.json",
        "checkpoints/best.keras",
    ):
        assert (d / name).exists(), f"{stage}: {name} missing"
    assert any((d / "tensorboard").rglob("*tfevents*"))
    summary = json.loads((d / "summary.json").read_text())
    assert summary["registered"]["version"] == 1
    assert summary["latency"]["runs"] == 5 and summary["latency"]["p50_ms"] > 0
    assert summary["collapse"]["detected"] is False


def test_finetune_starts_from_transfer_and_records_unfreezing(trained) -> None:
    run_dir, _, results = trained
    summary = json.loads((run_dir / "finetune" / "summary.json").read_text())
    assert summary["source_model"].endswith("models/transfer/v1")
    assert summary["unfreeze"]["unfrozen_layers"] == -(-summary["unfreeze"]["backbone_layers"] // 2)
    assert (
        summary["trainable_params"]
        > json.loads((run_dir / "transfer" / "summary.json").read_text())["trainable_params"]
    )


def test_registry_metadata_follows_the_contract(trained) -> None:
    from trainer.registry import get_model, list_models

    run_dir, ds, _ = trained
    m = get_model(run_dir, "finetune")
    meta = m.metadata
    for key in (
        "schema_version",
        "name",
        "version",
        "stage",
        "labels",
        "input",
        "output",
        "metrics",
        "dataset",
        "data_config",
        "config",
        "versions",
        "code_version",
        "created_utc",
        "model_sha256",
    ):
        assert key in meta, key
    assert meta["labels"] == list(CLASSES)
    assert meta["input"]["height"] == 16 and meta["input"]["channels"] == 1
    assert meta["input"]["value_range"] == [0.0, 255.0]
    assert meta["output"] == {"kind": "probabilities", "num_classes": 3}
    assert meta["dataset"]["fingerprint_sha256"] == ds.fingerprint
    assert (m.path / "saved_model" / "saved_model.pb").is_file()
    from edge_runtime.common.fileio import sha256_file

    assert meta["model_sha256"] == sha256_file(m.model_path)
    names = [(e.name, e.version) for e in list_models(run_dir)]
    assert names == [("baseline", 1), ("finetune", 1), ("transfer", 1)]
    with pytest.raises(ModelError, match="has no version v7"):
        get_model(run_dir, "baseline", 7)
    with pytest.raises(ModelError, match="no registered model 'nope'"):
        get_model(run_dir, "nope")


def test_return_on_complexity_table(trained) -> None:
    run_dir, _, _ = trained
    from trainer.training.complexity import write_return_on_complexity

    body = write_return_on_complexity(run_dir)
    assert [r["stage"] for r in body["rows"]] == ["baseline", "transfer", "finetune"]
    md = (run_dir / "return_on_complexity.md").read_text()
    assert "| finetune |" in md and "p50 latency" in md
    for r in body["rows"]:
        assert r["params"] > 0 and r["model_file_bytes"] > 0 and r["latency_p50_ms"] > 0


def test_transfer_head_on_cached_features(trained) -> None:
    """The frozen stage trained on backbone features computed once: the head learns, the cache
    sits in the run directory (shared with the search), and what is saved and registered is the
    whole model, raw pixels in, whose own ``gap`` output is what the head was trained on."""
    import keras

    from trainer.data import make_splits
    from trainer.registry import get_model
    from trainer.training import run_stage
    from trainer.tuning.features import load_cached_features

    run_dir, ds, _ = trained
    dc = DataConfig(val_fraction=0.2)
    cfg = tiny(Stage.TRANSFER, name="head_only", epochs=8, learning_rate=3e-3)
    r = run_stage(run_dir, cfg.replace(weights="imagenet", cached_features=True), dc, dataset=ds)
    assert r.metrics["accuracy"] > 0.8, r.metrics
    info = json.loads((run_dir / "head_only" / "summary.json").read_text())["cached_features"]
    assert info["feature_dim"] > 0 and info["head_seconds"] > 0
    features = load_cached_features(run_dir / "features" / info["key"])
    assert features is not None and features.key == info["key"]
    best = keras.models.load_model(run_dir / "head_only" / "checkpoints" / "best.keras")
    assert tuple(best.input_shape[1:]) == ds.image_shape
    model = get_model(run_dir, "head_only").load()
    x_val = make_splits(ds, dc).x_val[:8].astype("float32")
    gap = keras.Model(model.input, model.get_layer("gap").output)
    # training=False: Keras 3's augmentation layers run on a plain call
    np.testing.assert_allclose(
        np.asarray(gap(x_val, training=False)), features.x_val[:8], rtol=1e-4, atol=1e-4
    )
    # The head's weights are the registered model's: the same probabilities either way.
    from trainer.training.head_on_features import head_model

    np.testing.assert_allclose(
        np.asarray(head_model(model)(features.x_val[:8], training=False)),
        np.asarray(model(x_val, training=False)),
        rtol=1e-4,
        atol=1e-5,
    )


def test_cached_features_is_for_the_transfer_stage_only() -> None:
    from edge_runtime.common.errors import ConfigError

    with pytest.raises(ConfigError, match="cached_features applies to the transfer stage"):
        tiny(Stage.BASELINE, cached_features=True)


def test_finetune_refuses_other_data(trained) -> None:
    from edge_runtime.common.errors import ConfigError
    from trainer.training import run_stage

    run_dir, _, _ = trained
    other = synthetic_dataset(seed=5)
    with pytest.raises(ConfigError, match="was trained on other data"):
        run_stage(
            run_dir,
            tiny(Stage.FINETUNE, epochs=1, unfreeze_layers=3),
            DataConfig(val_fraction=0.2),
            dataset=other,
        )


@pytest.mark.slow
def test_mirrored_strategy_trains(tmp_path) -> None:
    """--strategy mirrored builds and trains under tf.distribute (one CPU replica here)."""
    from trainer.training import run_stage

    r = run_stage(
        tmp_path / "mirrored",
        tiny(Stage.BASELINE, strategy="mirrored"),
        DataConfig(val_fraction=0.2),
        dataset=synthetic_dataset(),
    )
    assert r.metrics["accuracy"] > 0.6


def test_small_data_scaling_is_applied_and_recorded(tmp_path) -> None:
    """run_stage fits a preset to a small training split (trainer/training/small_data.py) and
    writes what it changed into the stage's config.json, which the report reads."""
    import json

    from trainer.training import run_stage

    ds = synthetic_dataset(n_train=100, n_test=30)
    cfg = tiny(Stage.BASELINE, epochs=1, patience=1, min_steps=40)
    run_stage(tmp_path / "run", cfg, DataConfig(val_fraction=0.2), dataset=ds)
    record = json.loads((tmp_path / "run" / "baseline" / "config.json").read_text())
    changed = {c["setting"]: (c["preset"], c["used"]) for c in record["small_data"]}
    # 80 training images: batch 32 -> 16 (5 steps per epoch), 1 epoch -> 8 for 40 steps
    assert changed["batch_size"] == (32, 16) and changed["epochs"] == (1, 8)
    assert record["config"]["batch_size"] == 16 and record["config"]["epochs"] == 8
