"""The classical anchor: a scikit-learn model on raw pixels, the simplest thing that works.

Every report states what the deep candidates buy over it. It is trained on a stated, stratified
subset of the training split (kernel methods scale quadratically or worse), scored on the same
validation and test splits as the deep candidates, and never exported: it is a yardstick.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.fileio import write_json
from trainer.candidates import ClassicalSpec
from trainer.data import DataConfig, Dataset, make_splits

log = logging.getLogger(__name__)


def stratified_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of about ``n`` items with the class proportions of ``y`` (all of them if fewer)."""
    if n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked: list[np.ndarray] = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = max(1, int(round(n * len(idx) / len(y))))
        picked.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    return np.sort(np.concatenate(picked))


def _features(x: np.ndarray) -> np.ndarray:
    # Raw pixels scaled to 0..1, flattened: no feature engineering, that is the point.
    return x.reshape(len(x), -1).astype(np.float32) / 255.0


def _estimator(spec: ClassicalSpec, seed: int) -> Any:
    if spec.model == "rbf_svc":
        from sklearn.svm import SVC

        return SVC(C=spec.C, kernel="rbf", gamma="scale", random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=spec.C, max_iter=300, random_state=seed)


def fit_classical(spec: ClassicalSpec, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, int]:
    """The anchor fitted on ``spec.train_subset`` stratified images of ``x`` / ``y``: (model,
    images it saw)."""
    idx = stratified_subset(y, spec.train_subset, seed)
    model = _estimator(spec, seed)
    model.fit(_features(x[idx]), y[idx])
    return model, len(idx)


def predict_classical(model: Any, x: np.ndarray) -> np.ndarray:
    """Class indices of raw-pixel images ``x``."""
    return np.asarray(model.predict(_features(x)), np.int64)


def _score(model: Any, x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    from trainer.evaluation.metrics import compute_metrics

    pred = predict_classical(model, x)
    m = compute_metrics(y, pred, None, names)
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "count": int(len(y))}


def run_classical(
    run_dir: str | Path,
    name: str,
    spec: ClassicalSpec,
    data_config: DataConfig,
    dataset: Dataset,
    seed: int = 42,
) -> dict[str, Any]:
    """Fit the anchor, score it on validation and test, write ``<run_dir>/<name>/summary.json``."""
    splits = make_splits(dataset, data_config)
    t0 = time.perf_counter_ns()
    model, seen = fit_classical(spec, splits.x_train, splits.y_train, seed)
    train_seconds = (time.perf_counter_ns() - t0) / 1e9
    names = dataset.class_names
    val = _score(model, splits.x_val, splits.y_val, names) if len(splits.y_val) else None
    test = _score(model, splits.x_test, splits.y_test, names)
    one = _features(splits.x_test[:1])
    samples = []
    for _ in range(50):
        t = time.perf_counter_ns()
        model.predict(one)
        samples.append((time.perf_counter_ns() - t) / 1e6)
    params = int(getattr(model, "coef_", np.zeros(0)).size + getattr(model, "intercept_", []).size)
    if spec.model == "rbf_svc":
        params = int(model.support_vectors_.size + model.dual_coef_.size)
    summary = {
        "stage": name,
        "kind": "classical",
        "model": spec.model,
        "spec": spec.to_dict(),
        "train_count": int(seen),
        "train_subset_of": int(len(splits.y_train)),
        "val_count": int(len(splits.y_val)),
        "test_count": int(len(splits.y_test)),
        "train_seconds": train_seconds,
        "params": params,
        "val_metrics": val,
        "metrics": {k: test[k] for k in ("accuracy", "macro_f1")},
        "latency": {"median_ms": float(np.median(samples)), "runs": len(samples)},
        "exported": False,
    }
    out = Path(run_dir) / name
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "summary.json", summary)
    log.info("%s (%s, %d images): test accuracy %.4f", name, spec.model, seen, test["accuracy"])
    return summary
