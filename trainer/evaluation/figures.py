"""Evaluation figures: confusion matrices (counts and row-normalized) and a misclassified gallery.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot): no global state, no
display backend, safe in a headless training job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_runtime.common.fileio import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Above this many classes cell labels become unreadable; the colours still tell the story.
_MAX_ANNOTATED_CLASSES = 20


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free matplotlib figure."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically (temporary file beside ``path``, then rename)."""
    with atomic_path(path) as tmp:
        # "tight" grows the canvas to whatever sticks out (long titles, rotated axis labels).
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    return Path(path)


def show_image(ax: Any, image: np.ndarray) -> None:
    """Draw one uint8 HxWxC (C = 1 or 3) image without axes."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(img.astype(np.uint8), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_confusion_matrix(
    cm: Sequence[Sequence[int]],
    class_names: Sequence[str],
    out_path: str | Path,
    *,
    normalized: bool = False,
    title: str = "",
) -> Path:
    """Confusion matrix figure: rows are true classes, columns predictions.

    ``normalized`` divides each row by its support, so the diagonal reads as per-class recall.
    """
    counts = np.asarray(cm, dtype=np.int64)
    k = counts.shape[0]
    support = counts.sum(axis=1, keepdims=True)
    values = np.divide(counts, support, out=np.zeros(counts.shape), where=support > 0)
    shown = values if normalized else counts
    side = max(5.0, 0.55 * k + 2.5)
    fig = new_figure(side + 1.0, side)
    ax = fig.subplots()
    im = ax.imshow(values if normalized else counts, cmap="Blues", vmin=0)
    fig.colorbar(
        im, ax=ax, fraction=0.046, pad=0.04, label="share of true class" if normalized else "count"
    )
    ax.set_xticks(range(k), labels=class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    kind = "row-normalized (recall on the diagonal)" if normalized else "counts"
    ax.set_title(f"{title + ': ' if title else ''}confusion matrix, {kind}", fontsize=10)
    if k <= _MAX_ANNOTATED_CLASSES:
        # Text colour flips on dark cells so the numbers stay readable.
        top = float(shown.max()) or 1.0
        for i in range(k):
            for j in range(k):
                v = shown[i, j]
                if not normalized and v == 0:
                    continue
                text = f"{v:.2f}" if normalized else str(int(v))
                if normalized and v < 0.005:
                    continue
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7 if k > 10 else 8,
                    color="white" if v > 0.55 * top else "black",
                )
    return save_figure(fig, out_path)


def plot_misclassified(
    x: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    confidence: np.ndarray | None,
    class_names: Sequence[str],
    pairs: Sequence[dict[str, Any]],
    out_path: str | Path,
    *,
    per_pair: int = 8,
    max_pairs: int = 6,
    title: str = "",
) -> Path:
    """Gallery of misclassified examples, one row per most-confused (true, predicted) pair.

    Within a row the most confident mistakes come first: those are the ones worth looking at.
    """
    rows = [p for p in pairs if p["count"] > 0][:max_pairs]
    if not rows:
        fig = new_figure(6, 1.5)
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified examples", ha="center", va="center", fontsize=12)
        return save_figure(fig, out_path)
    fig = new_figure(1.35 * per_pair + 1.8, 1.75 * len(rows) + 0.4)
    axes = np.atleast_2d(fig.subplots(len(rows), per_pair, squeeze=False))
    conf = confidence if confidence is not None else np.full(len(y_true), np.nan)
    for r, pair in enumerate(rows):
        idx = np.flatnonzero((y_true == pair["true"]) & (y_pred == pair["predicted"]))
        idx = idx[np.argsort(-np.nan_to_num(conf[idx], nan=0.0), kind="stable")][:per_pair]
        for c in range(per_pair):
            ax = axes[r, c]
            if c >= len(idx):
                ax.axis("off")
                continue
            i = idx[c]
            show_image(ax, x[i])
            label = f"P: {class_names[y_pred[i]]}"
            if np.isfinite(conf[i]):
                label += f" {conf[i]:.2f}"
            ax.set_title(f"T: {class_names[y_true[i]]}\n{label}", fontsize=7)
        axes[r, 0].set_ylabel(
            f"{pair['true_name']}\n-> {pair['predicted_name']}\n(n={pair['count']})",
            fontsize=8,
            rotation=0,
            ha="right",
            va="center",
        )
    fig.suptitle(
        f"{title + ': ' if title else ''}misclassified examples by most confused pair "
        "(T = true, P = predicted, confidence)",
        fontsize=10,
    )
    return save_figure(fig, out_path)
