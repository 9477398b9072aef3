"""Small data: compare the candidates by stratified k-fold cross-validation on the training split.

Selection reads the validation split, and the tie rule (exact one-sided McNemar, p >= 0.05) can
only call a lead real when the leader is right on at least ``MIN_DISCORDANT`` images where the
other is wrong (0.5 ** 5 = 0.031). On a split of ``n`` images that is at least 5/n of accuracy
even when the two models disagree nowhere else; above ``MAX_UNDETECTABLE_POINTS`` the split cannot
separate candidates that differ by a few points, every artifact ties, and the smallest ships
whatever it scores. That is the "too small" here: fewer than 500 validation images.

Then each candidate is trained k times (``StratifiedKFold`` over the training split, validation
images included, k = 5 or the smallest class's count), each time scored on the fold it did not
see, so every training image is scored once by every candidate. The candidates are compared on
those pooled out-of-fold answers (k x more images than the validation split): the leader is the
most accurate, and a candidate whose pooled answers are significantly worse (the same McNemar test)
is out of the race. The export gate and the artifact choice then run as on large data, among the
candidates still in it. The test split is not read here.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.fileio import read_json, write_json
from export.significance import mcnemar_p

log = logging.getLogger(__name__)

CROSSVAL_DIR = "crossval"
RECORD_NAME = "crossval.json"
MIN_DISCORDANT = 5  # images an exact one-sided McNemar needs at p < 0.05
MAX_UNDETECTABLE_POINTS = 1.0  # a split that cannot see a lead of this many points is too small
MAX_FOLDS = 5
TIE_ALPHA = 0.05


def smallest_detectable_points(val_images: int) -> float:
    """The smallest accuracy lead (points) a split of ``val_images`` can ever call significant."""
    return float("inf") if val_images <= 0 else 100.0 * MIN_DISCORDANT / val_images


def validation_too_small(val_images: int) -> bool:
    """True when the validation split cannot separate candidates (module docstring)."""
    return val_images > 0 and smallest_detectable_points(val_images) > MAX_UNDETECTABLE_POINTS


def fold_count(y: np.ndarray) -> int:
    """k for a stratified k-fold of labels ``y``: 5, or fewer when a class has fewer images."""
    counts = np.bincount(np.asarray(y, np.int64))
    counts = counts[counts > 0]
    return int(min(MAX_FOLDS, counts.min())) if len(counts) else 0


def training_pool(ds: Any, data_config: Any) -> tuple[np.ndarray, np.ndarray, Any, int, int]:
    """Every training image (the validation split put back), its labels, the split config that
    holds none out, and the main run's training / validation counts."""
    from trainer.data import make_splits

    splits = make_splits(ds, data_config)
    x = np.concatenate([splits.x_train, splits.x_val])
    y = np.concatenate([splits.y_train, splits.y_val]).astype(np.int64)
    cfg = data_config.replace(val_fraction=0.0, train_size=None, test_size=None)
    return x, y, cfg, len(splits.y_train), len(splits.y_val)


def _fold_dataset(
    ds: Any, x: np.ndarray, y: np.ndarray, train: np.ndarray, held: np.ndarray, i: int
):
    """The fold as a Dataset: its training images, and the held-out fold as its 'test' split."""
    from trainer.data import Dataset

    return Dataset(
        x[train],
        y[train],
        x[held],
        y[held],
        ds.class_names,
        name=f"{ds.name}-fold{i}",
        source=f"{ds.source} (cross-validation fold {i})",
        polarity=ds.polarity,
        input_spec=ds.input_spec,
    )


def _keras_predictions(fold_dir: Path, name: str, x: np.ndarray) -> np.ndarray:
    from trainer.evaluation.evaluate import predict_probabilities
    from trainer.registry import get_model

    model = get_model(fold_dir, name).load()
    return np.argmax(predict_probabilities(model, x), axis=1)


def _classical_predictions(spec: Any, x_tr, y_tr, x_held, seed: int) -> np.ndarray:
    from trainer.training.classical import fit_classical, predict_classical

    model, _ = fit_classical(spec, x_tr, y_tr, seed)
    return predict_classical(model, x_held)


def run_crossval(
    run_dir: Path,
    ds: Any,
    data_config: Any,
    candidates: list[Any],
    stage_config: Any,
    classical_spec: Any,
    seed: int,
) -> dict[str, Any]:
    """Cross-validate ``candidates`` on ``ds``'s training split; write ``<run>/crossval.json``.

    ``stage_config(name)`` / ``classical_spec(name)``: the candidate's settings in this run (the
    same the main training used). Each fold trains in ``<run>/crossval/fold<i>/`` (its own
    registry, so fine-tune starts from that fold's transfer model).
    """
    from sklearn.model_selection import StratifiedKFold

    from edge_runtime.common.errors import CollapseError
    from trainer.training.runner import run_stage

    x, y, fold_cfg, _, n_val = training_pool(ds, data_config)
    k = fold_count(y)
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 images per class; got k={k}")
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    names = [c.name for c in candidates]
    shippable = {c.name for c in candidates if not c.is_classical}
    oof = {n: np.full(len(y), -1, np.int64) for n in names}
    per_fold: dict[str, list[float]] = {n: [] for n in names}
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    collapsed: dict[str, str] = {}
    t_all = time.perf_counter()
    for i, (tr, held) in enumerate(skf.split(np.zeros(len(y)), y), start=1):
        fold_dir = Path(run_dir) / CROSSVAL_DIR / f"fold{i}"
        fold_ds = _fold_dataset(ds, x, y, tr, held, i)
        for c in candidates:
            if c.name in collapsed:
                continue
            if c.kind == "finetune" and "transfer" in collapsed:
                # A fine-tune starts from the fold's transfer model: there is none to start from.
                collapsed[c.name] = (
                    f"fold {i}: its transfer source collapsed ({collapsed['transfer']})"
                )
                log.warning(
                    "cross-validation: %s skipped in fold %d (no transfer model)", c.name, i
                )
                continue
            t0 = time.perf_counter()
            if c.is_classical:
                pred = _classical_predictions(classical_spec(c.name), x[tr], y[tr], x[held], seed)
            else:
                cfg = stage_config(c.name).replace(gradcam=False, latency_runs=3)
                try:
                    run_stage(fold_dir, cfg, fold_cfg, dataset=fold_ds)
                except CollapseError as exc:
                    collapsed[c.name] = f"fold {i}: {exc}"
                    log.warning("cross-validation: %s collapsed in fold %d", c.name, i)
                    continue
                pred = _keras_predictions(fold_dir, c.name, x[held])
            seconds[c.name] += time.perf_counter() - t0
            oof[c.name][held] = pred
            per_fold[c.name].append(float(np.mean(pred == y[held])))
            log.info("cross-validation fold %d/%d: %s %.4f", i, k, c.name, per_fold[c.name][-1])
    scores = {}
    for n in names:
        if n in collapsed:
            continue
        correct = oof[n] == y
        folds = per_fold[n]
        scores[n] = {
            "accuracy": float(np.mean(correct)),
            "images": int(len(y)),
            "fold_accuracy": folds,
            "fold_mean": float(np.mean(folds)),
            "fold_std": float(np.std(folds, ddof=1)) if len(folds) > 1 else 0.0,
            "seconds": round(seconds[n], 1),
            "correct": correct,
        }
    record = {
        "schema": 1,
        "why": (
            f"the validation split holds {n_val} images: the smallest lead it can call "
            f"significant is {smallest_detectable_points(n_val):.1f} points (more than "
            f"{MAX_UNDETECTABLE_POINTS:g}), so the candidates are compared by {k}-fold "
            f"cross-validation on all {len(y)} training images instead"
        ),
        "folds": k,
        "images": int(len(y)),
        "validation_images": int(n_val),
        "seed": seed,
        "seconds": round(time.perf_counter() - t_all, 1),
        "collapsed": collapsed,
        # The race is between the candidates that can ship (Keras models with exports); the
        # classical anchor is scored for the record.
        **_race({n: s for n, s in scores.items() if n in shippable}),
        "scores": {n: {k2: v for k2, v in s.items() if k2 != "correct"} for n, s in scores.items()},
    }
    write_json(Path(run_dir) / RECORD_NAME, record)
    return record


def _race(scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The leader on pooled out-of-fold accuracy and who stays in the race with it."""
    if not scores:
        return {"leader": None, "in_race": [], "out_of_race": {}}
    leader = max(scores, key=lambda n: scores[n]["accuracy"])
    lc = scores[leader]["correct"]
    in_race, out = [], {}
    for n, s in scores.items():
        p = (
            1.0
            if n == leader
            else mcnemar_p(int(np.sum(lc & ~s["correct"])), int(np.sum(s["correct"] & ~lc)))
        )
        s["p_vs_leader"] = round(p, 4)
        if p >= TIE_ALPHA:
            in_race.append(n)
        else:
            out[n] = (
                f"{100 * s['accuracy']:.2f} % against the leader's {100 * scores[leader]['accuracy']:.2f} % "
                f"on {s['images']} out-of-fold images (exact McNemar p = {p:.3g} < {TIE_ALPHA})"
            )
    return {"leader": leader, "in_race": in_race, "out_of_race": out}


def load_record(run_dir: Path) -> dict[str, Any] | None:
    """``<run>/crossval.json`` when this run cross-validated, else None."""
    path = Path(run_dir) / RECORD_NAME
    return read_json(path) if path.is_file() else None


__all__ = [
    "RECORD_NAME",
    "fold_count",
    "load_record",
    "run_crossval",
    "smallest_detectable_points",
    "validation_too_small",
]
