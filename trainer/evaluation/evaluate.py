"""Evaluate a trained Keras model on the held-out test set and write every artifact of it."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge_runtime.common.errors import DataError, ModelError
from edge_runtime.common.fileio import write_json
from trainer.evaluation.collapse import CollapseThresholds
from trainer.evaluation.figures import plot_confusion_matrix, plot_misclassified
from trainer.evaluation.metrics import compute_metrics
from trainer.evaluation.tables import write_tables

log = logging.getLogger(__name__)

METRICS_NAME = "metrics.json"
OutputKind = Literal["probabilities", "logits"]
# Softmax rows sum to 1 to ~1e-6 in float32; anything further off is not a probability output.
_PROB_SUM_TOL = 1e-3


def predict_probabilities(
    model: Any,
    x: np.ndarray,
    batch_size: int = 256,
    output_kind: OutputKind = "probabilities",
) -> np.ndarray:
    """Run ``model`` on raw-pixel images in batches; return (N, K) float probabilities.

    Images are cast to float32 one batch at a time (the model takes raw 0..255 pixels), so a
    large test set is never copied whole as floats.
    """
    n = len(x)
    chunks = []
    verbose = sys.stderr.isatty()
    for start in range(0, n, batch_size):
        xb = np.asarray(x[start : start + batch_size], dtype=np.float32)
        chunks.append(np.asarray(model.predict_on_batch(xb), dtype=np.float64))
        if verbose:
            print(f"\revaluating {min(start + batch_size, n)}/{n}", end="", file=sys.stderr)
    if verbose:
        print(file=sys.stderr)
    out = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 0))
    if out.ndim != 2:
        raise ModelError(f"model output must be (N, num_classes), got shape {out.shape}")
    if output_kind == "logits":
        z = out - np.nanmax(out, axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    finite = np.isfinite(out).all(axis=1)
    sums = out[finite].sum(axis=1)
    if len(sums) and (np.abs(sums - 1.0).max() > _PROB_SUM_TOL or out[finite].min() < 0):
        raise ModelError(
            "model outputs are not probabilities (rows sum to "
            f"{sums.min():.4f}..{sums.max():.4f}); end the model with a softmax or pass "
            "output_kind='logits'"
        )
    return out


def evaluate_model(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str],
    out_dir: str | Path,
    stage: str,
    batch_size: int = 256,
    *,
    output_kind: OutputKind = "probabilities",
    collapse_thresholds: CollapseThresholds | None = None,
    gallery_per_pair: int = 8,
    gallery_pairs: int = 6,
) -> dict[str, Any]:
    """Predict on held-out data and write metrics, tables and figures into ``out_dir``.

    Args:
        model: a Keras model taking raw pixels (float32 0..255, NHWC) and returning softmax
            probabilities (or logits with ``output_kind='logits'``).
        x: uint8 NHWC images, the dataset's native form.
        y: integer labels.
        class_names: the class names in index order.
        out_dir: folder for ``metrics.json``, ``per_class.csv``, ``per_class.md``,
            ``confusion_matrix.png``, ``confusion_matrix_normalized.png``, ``misclassified.png``.
        stage: the stage name (recorded, and used in titles).
        batch_size: prediction batch size.

    Returns:
        The metrics dict written to ``metrics.json`` (see :func:`compute_metrics`), plus
        ``stage``, ``predict_seconds`` and ``files`` (name -> path of everything written).
        A collapse is logged as an ERROR here; call
        :func:`trainer.evaluation.raise_if_collapsed` to fail the stage.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 4:
        raise DataError(f"evaluation images must be NHWC, got shape {x.shape}")
    if len(x) != len(y):
        raise DataError(f"{len(x)} evaluation images but {len(y)} labels")
    if batch_size < 1:
        raise DataError(f"batch_size={batch_size!r} must be >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter_ns()
    probs = predict_probabilities(model, x, batch_size=batch_size, output_kind=output_kind)
    predict_s = (time.perf_counter_ns() - t0) / 1e9
    metrics = compute_metrics(y, None, probs, class_names, collapse_thresholds=collapse_thresholds)
    y_pred = np.nan_to_num(probs, nan=-np.inf).argmax(axis=1)
    confidence = probs.max(axis=1)
    names = metrics["class_names"]
    title = f"{stage} (COLLAPSED)" if metrics["collapse"]["detected"] else stage

    files: dict[str, str] = {}
    files["confusion_matrix"] = str(
        plot_confusion_matrix(
            metrics["confusion_matrix"], names, out / "confusion_matrix.png", title=title
        )
    )
    files["confusion_matrix_normalized"] = str(
        plot_confusion_matrix(
            metrics["confusion_matrix"],
            names,
            out / "confusion_matrix_normalized.png",
            normalized=True,
            title=title,
        )
    )
    files["misclassified"] = str(
        plot_misclassified(
            x,
            y.astype(np.int64),
            y_pred,
            confidence,
            names,
            metrics["most_confused"],
            out / "misclassified.png",
            per_pair=gallery_per_pair,
            max_pairs=gallery_pairs,
            title=title,
        )
    )
    files |= {k: str(v) for k, v in write_tables(metrics, out, stage).items()}
    files["metrics"] = str(out / METRICS_NAME)
    metrics = {"stage": stage, "predict_seconds": predict_s, **metrics, "files": files}
    write_json(out / METRICS_NAME, metrics)
    if metrics["collapse"]["detected"]:
        log.error(
            "stage %r COLLAPSED (%s); confusion matrix: %s",
            stage,
            "; ".join(metrics["collapse"]["reasons"]),
            files["confusion_matrix_normalized"],
        )
    else:
        log.info(
            "stage %r: accuracy %.4f, macro F1 %.4f on %d samples -> %s",
            stage,
            metrics["accuracy"],
            metrics["macro_f1"],
            metrics["n_samples"],
            out,
        )
    return metrics
