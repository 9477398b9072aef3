"""Run one training stage end to end: data, model, fit, evaluation, figures, registry."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import write_json
from trainer.data import DataConfig, Dataset, load_dataset, make_splits
from trainer.training.config import LRSchedule, Stage, StageConfig, Strategy

log = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"
HISTORY_NAME = "history.json"
GRADCAM_SAMPLES = 1000  # test images handed to Grad-CAM (it picks its examples among them)


@dataclass(frozen=True)
class StageResult:
    """What one stage produced (also written to ``<run_dir>/<stage>/summary.json``)."""

    stage: str
    stage_dir: Path
    model_name: str
    model_version: int
    model_path: Path  # the registry version folder
    metrics: dict[str, Any]  # test accuracy, macro_f1, weighted_f1
    epochs_run: int
    best_epoch: int
    train_seconds: float
    params: int
    latency: dict[str, Any]
    diagnosis: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "stage_dir": str(self.stage_dir),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_path": str(self.model_path),
            "metrics": self.metrics,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "train_seconds": self.train_seconds,
            "params": self.params,
            "latency": self.latency,
            "diagnosis": self.diagnosis,
            **self.extra,
        }


def _strategy(kind: Strategy) -> Any:
    import tensorflow as tf

    if kind is Strategy.MIRRORED:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()  # the default: a GPU when present, else the CPU


def _build(config: StageConfig, ds: Dataset, run_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The model for ``config.stage`` and a record of where it came from."""
    from trainer.models import build_baseline, build_resnet, build_transfer, unfreeze_top
    from trainer.registry import get_model

    # What every builder takes from the config; each adds its own architecture settings.
    shape = (ds.image_shape, ds.num_classes)
    shared = {"dropout": config.dropout, "augment": config.augment, "seed": config.seed}
    if config.stage is Stage.RESNET:
        return build_resnet(
            *shape,
            widths=config.filters,
            blocks_per_stage=config.blocks_per_stage,
            bn_momentum=config.bn_momentum,
            **shared,
        ), {}
    if config.stage is Stage.BASELINE:
        return build_baseline(
            *shape,
            filters=config.filters,
            convs_per_block=config.convs_per_block,
            dense_units=config.dense_units,
            bn_momentum=config.bn_momentum,
            **shared,
        ), {}
    if config.stage is Stage.TRANSFER:
        model = build_transfer(
            *shape,
            backbone=config.backbone,
            alpha=config.alpha,
            image_size=config.image_size,
            weights=config.weights,
            dense_units=config.dense_units,
            **shared,
        )
        return model, {"weights": config.weights}
    source = get_model(run_dir, Stage.TRANSFER.value, config.source_version)
    if source.metadata.get("dataset", {}).get("fingerprint_sha256") not in (None, ds.fingerprint):
        raise ConfigError(
            f"the transfer model {source.path} was trained on other data (fingerprint "
            f"{source.metadata['dataset']['fingerprint_sha256'][:12]}… vs "
            f"{ds.fingerprint[:12]}…); fine-tune with the same --data-* options as the transfer stage"
        )
    model = source.load()
    info = unfreeze_top(model, config.unfreeze_fraction, config.unfreeze_layers)
    # The architecture (backbone, alpha, image size, head, augmentation) is the transfer model's.
    inherited = source.metadata.get("config", {})
    return model, {
        "source_model": str(source.path),
        "source_version": source.version,
        "unfreeze": info,
        "inherited_architecture": {
            k: inherited.get(k)
            for k in ("backbone", "alpha", "image_size", "weights", "dense_units", "augment")
        },
    }


def _compile(model: Any, config: StageConfig, steps_per_epoch: int) -> None:
    import keras

    lr: Any = config.learning_rate
    total = config.epochs * steps_per_epoch
    if config.lr_schedule is LRSchedule.COSINE:
        warm = min(config.warmup_steps, total // 2)
        if warm > 0:
            lr = keras.optimizers.schedules.CosineDecay(
                0.0,
                decay_steps=max(1, total - warm),
                alpha=0.01,
                warmup_target=config.learning_rate,
                warmup_steps=warm,
            )
        else:
            lr = keras.optimizers.schedules.CosineDecay(
                config.learning_rate, decay_steps=max(1, total), alpha=0.01
            )
    if config.label_smoothing > 0:
        loss: Any = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    if config.weight_decay > 0:
        optimizer: Any = keras.optimizers.AdamW(lr, weight_decay=config.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(lr)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def _history_summary(history: dict[str, list[float]], monitor: str) -> tuple[int, int]:
    values = history.get(monitor) or history.get("accuracy") or [0.0]
    return len(values), int(np.argmax(values)) + 1


def _file_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_stage(
    run_dir: str | Path,
    config: StageConfig,
    data_config: DataConfig,
    *,
    dataset: Dataset | None = None,
) -> StageResult:
    """Train, evaluate and register one stage; write everything under ``<run_dir>/<stage>/``.

    Writes config.json, augmentation.png, history.csv / history.json, checkpoints/best.keras,
    tensorboard/, learning_curves.png, the evaluation files (metrics.json, confusion matrices,
    misclassified gallery), Grad-CAM grids and summary.json, and registers the model as
    ``<run_dir>/models/<stage>/v<N>/``. A collapsed model is written but NOT registered, and
    :class:`~edge_runtime.common.errors.CollapseError` is raised after everything is on disk.
    ``dataset`` skips loading (callers that run several stages load once).
    """
    from trainer import env

    env.prepare()
    import keras

    from edge_runtime.common.errors import CollapseError
    from trainer.curves import plot_learning_curves
    from trainer.evaluation import evaluate_model, raise_if_collapsed
    from trainer.models import find_augmentation
    from trainer.registry import register_model
    from trainer.rundir import RunDir, code_version, library_versions
    from trainer.seeding import set_global_seed
    from trainer.training.callbacks import make_callbacks
    from trainer.training.data import make_pipeline
    from trainer.training.figures import save_augmentation_grid
    from trainer.training.latency import single_image_latency

    run = RunDir.open(run_dir)
    stage = config.run_name
    stage_dir = run.stage(stage)
    set_global_seed(config.seed)
    ds = dataset if dataset is not None else load_dataset(data_config)
    splits = make_splits(ds, data_config)
    # Issue 9: the data decides which augmentations are allowed; the splits are written as files.
    from trainer.data.augment_policy import restrict_augment
    from trainer.data.split_record import record_splits
    from trainer.training.small_data import scale_for_data

    config = config.replace(
        augment=restrict_augment(config.augment, data_config.allowed_augmentations)
    )
    config, scaled = scale_for_data(config, len(splits.y_train))
    record_splits(run.path, ds, data_config)
    run.write_stage_config(
        stage,
        config,
        data_config=data_config.to_dict(),
        dataset=ds.describe(),
        small_data=[c.to_dict() for c in scaled],
    )
    has_val = len(splits.y_val) > 0
    one_hot = config.label_smoothing > 0

    strategy = _strategy(config.strategy)
    scope = strategy.scope() if config.strategy is Strategy.MIRRORED else contextlib.nullcontext()
    batch = config.batch_size * max(1, strategy.num_replicas_in_sync)
    steps = int(np.ceil(len(splits.y_train) / batch))
    with scope:
        model, origin = _build(config, ds, run.path)
        _compile(model, config, steps)
    log.info("%s: %s parameters (%s trainable)", stage, model.count_params(), _trainable(model))

    save_augmentation_grid(
        find_augmentation(model), splits.x_train, stage_dir / "augmentation.png", seed=config.seed
    )
    kw = {
        "batch_size": batch,
        "num_classes": ds.num_classes,
        "seed": config.seed,
        "one_hot": one_hot,
    }
    callbacks = make_callbacks(stage_dir, config.patience, has_val)
    verbose = 2 if not _isatty() else 1
    t0 = time.perf_counter_ns()
    if config.cached_features:
        # The frozen stage: the head trains on backbone features computed once (cached).
        from trainer.training.head_on_features import fit_head, stage_features

        features = stage_features(run.path, ds, data_config, config)
        feature_seconds = (time.perf_counter_ns() - t0) / 1e9
        raw_history, head_seconds = fit_head(
            model,
            features,
            config,
            callbacks,
            one_hot=one_hot,
            compile_fn=_compile,
            verbose=verbose,
        )
        model.save(stage_dir / "checkpoints" / "best.keras")  # the whole model, not the head
        origin["cached_features"] = {
            "key": features.key,
            "feature_dim": features.feature_dim,
            "feature_seconds": round(feature_seconds, 2),
            "head_seconds": round(head_seconds, 2),
        }
    else:
        train_ds = make_pipeline(splits.x_train, splits.y_train, shuffle=True, **kw)
        val_ds = make_pipeline(splits.x_val, splits.y_val, shuffle=False, **kw) if has_val else None
        raw_history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            shuffle=False,  # the tf.data pipeline shuffles (seeded, every epoch)
            callbacks=callbacks,
            verbose=verbose,
        ).history
    train_seconds = (time.perf_counter_ns() - t0) / 1e9
    history = {k: [float(v) for v in vals] for k, vals in raw_history.items()}
    epochs_run, best_epoch = _history_summary(history, "val_accuracy" if has_val else "accuracy")
    write_json(
        stage_dir / HISTORY_NAME,
        {"history": history, "epochs_run": epochs_run, "best_epoch": best_epoch},
    )
    curves = plot_learning_curves(
        {k: v for k, v in history.items() if k != "epoch_seconds"},
        stage_dir / "learning_curves.png",
        title=f"{stage} learning curves",
    )

    # Validation numbers first: selection between candidates reads these, never the test split's.
    val_metrics = _validation_metrics(model, splits.x_val, splits.y_val, ds.class_names)
    metrics = evaluate_model(
        model, splits.x_test, splits.y_test, ds.class_names, stage_dir, stage=stage
    )
    collapsed = bool(metrics.get("collapse", {}).get("detected"))
    if not collapsed and config.gradcam:
        _gradcam(model, splits.x_test, splits.y_test, ds.class_names, stage_dir / "gradcam")
    latency = single_image_latency(model, splits.x_test[0], runs=config.latency_runs)
    headline = {k: metrics[k] for k in ("accuracy", "macro_f1", "weighted_f1") if k in metrics}
    summary: dict[str, Any] = {
        "stage": stage,
        "kind": config.stage.value,
        "metrics": headline,
        "val_metrics": val_metrics,
        "collapse": metrics.get("collapse"),
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "train_seconds": train_seconds,
        "epoch_seconds": history.get("epoch_seconds", []),
        "params": int(model.count_params()),
        "trainable_params": _trainable(model),
        "weights_bytes_float32": int(model.count_params()) * 4,
        "latency": latency,
        "learning_curves": curves,
        "train_count": int(len(splits.y_train)),
        "val_count": int(len(splits.y_val)),
        "test_count": int(len(splits.y_test)),
        **origin,
    }
    if collapsed:
        write_json(stage_dir / SUMMARY_NAME, {**summary, "registered": None})
        raise_if_collapsed(metrics, stage)
        raise CollapseError(f"stage {stage!r} collapsed: {metrics.get('collapse')}")

    from edge_runtime.manifest import InputSpec

    # The dataset's one preprocessing contract (size, colour, polarity, resize, value range).
    input_spec = InputSpec.from_dict(ds.spec())
    reg = register_model(
        run.path,
        stage,
        model,
        {
            "stage": stage,
            "kind": config.stage.value,
            "labels": list(ds.class_names),
            "input": input_spec.to_dict(),
            "input_spec": input_spec.to_dict(),  # the same contract under the name export reads
            "output": {"kind": "probabilities", "num_classes": ds.num_classes},
            "metrics": headline,
            "val_metrics": val_metrics,
            "params": int(model.count_params()),
            "dataset": ds.describe(),
            "data_config": data_config.to_dict(),
            "config": config.to_dict(),
            "training": {
                "epochs_run": epochs_run,
                "best_epoch": best_epoch,
                "train_seconds": train_seconds,
                **origin,
            },
            "versions": library_versions(),
            "code_version": code_version(),
            "keras_version": keras.__version__,
        },
    )
    summary["model_file_bytes"] = _file_size(reg.model_path)
    summary["saved_model_bytes"] = _file_size(reg.saved_model_path)
    summary["registered"] = {"name": reg.name, "version": reg.version, "path": str(reg.path)}
    write_json(stage_dir / SUMMARY_NAME, summary)
    return StageResult(
        stage=stage,
        stage_dir=stage_dir,
        model_name=reg.name,
        model_version=reg.version,
        model_path=reg.path,
        metrics=headline,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        train_seconds=train_seconds,
        params=int(model.count_params()),
        latency=latency,
        diagnosis=str(curves.get("diagnosis", "")),
        extra={
            k: summary[k] for k in ("model_file_bytes", "saved_model_bytes", "trainable_params")
        },
    )


def _validation_metrics(
    model: Any, x: np.ndarray, y: np.ndarray, names: tuple[str, ...]
) -> dict[str, Any] | None:
    """Accuracy and macro-F1 on the validation split (None when the run holds none out)."""
    if not len(y):
        return None
    from trainer.evaluation.evaluate import predict_probabilities
    from trainer.evaluation.metrics import compute_metrics

    m = compute_metrics(y, None, predict_probabilities(model, x), names)
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "count": int(len(y))}


def _trainable(model: Any) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def _isatty() -> bool:
    import sys

    return sys.stdout.isatty()


def _gradcam(model: Any, x: np.ndarray, y: np.ndarray, names: tuple[str, ...], out: Path) -> None:
    """Grad-CAM grids; a failure here is logged, not fatal (the model itself is fine)."""
    from trainer.gradcam import save_gradcam_grids

    try:
        save_gradcam_grids(model, x[:GRADCAM_SAMPLES], y[:GRADCAM_SAMPLES], list(names), out)
    except Exception as exc:  # noqa: BLE001 - explanatory figures must not sink a trained model
        log.warning(
            "Grad-CAM failed (%s: %s); the stage's model is unaffected", type(exc).__name__, exc
        )
