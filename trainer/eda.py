"""Exploratory data analysis: class balance, samples, pixel statistics, mean images.

The numbers are computed first (pure numpy, :func:`compute_eda`), then drawn; the JSON summary
holds every number a figure shows, so the report and the tests read the same facts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import atomic_path, write_json
from trainer.data.dataset import Dataset

log = logging.getLogger(__name__)

SUMMARY_NAME = "eda_summary.json"


def _counts(y: np.ndarray, k: int) -> list[int]:
    return np.bincount(y, minlength=k).astype(int).tolist()


def _stats(x: np.ndarray) -> dict[str, float]:
    """Mean and std of uint8 pixels, in raw units and scaled to [0, 1] (float64 accumulation)."""
    xf = x.astype(np.float64)
    mean, std = float(xf.mean()), float(xf.std())
    return {"mean": mean, "std": std, "mean_01": mean / 255.0, "std_01": std / 255.0}


def compute_eda(ds: Dataset) -> dict[str, Any]:
    """All numbers of the EDA, from the training split (the test split is only counted)."""
    k = ds.num_classes
    train_counts = _counts(ds.y_train, k)
    test_counts = _counts(ds.y_test, k)
    nonzero_train = [c for c in train_counts if c > 0]
    per_class = []
    for i, name in enumerate(ds.class_names):
        xs = ds.x_train[ds.y_train == i]
        per_class.append(
            {
                "class": name,
                "index": i,
                "train_count": train_counts[i],
                "test_count": test_counts[i],
                **(
                    _stats(xs)
                    if len(xs)
                    else {"mean": None, "std": None, "mean_01": None, "std_01": None}
                ),
            }
        )
    hist = np.bincount(ds.x_train.reshape(-1), minlength=256).astype(np.int64)
    overall = _stats(ds.x_train)
    channels = None
    if ds.x_train.shape[-1] > 1:
        xf = ds.x_train.astype(np.float64)
        channels = {
            "mean": xf.mean(axis=(0, 1, 2)).tolist(),
            "std": xf.std(axis=(0, 1, 2)).tolist(),
        }
    return {
        "dataset": ds.describe(),
        "class_counts": {
            "train": dict(zip(ds.class_names, train_counts)),
            "test": dict(zip(ds.class_names, test_counts)),
        },
        "imbalance_ratio": {
            "train": (max(nonzero_train) / min(nonzero_train)) if nonzero_train else None,
            "test": (max(test_counts) / min(test_counts)) if min(test_counts) > 0 else None,
        },
        "pixels": {
            **overall,
            "min": int(ds.x_train.min()),
            "max": int(ds.x_train.max()),
            "zero_fraction": float(hist[0] / hist.sum()),
            "histogram_256": hist.tolist(),
            "per_channel": channels,
        },
        "per_class": per_class,
    }


def normalization_rationale(summary: dict[str, Any]) -> str:
    """One paragraph tying the measured pixel statistics to the normalization the models use."""
    px = summary["pixels"]
    dark = summary["dataset"]["polarity"] == "light_on_dark"
    return (
        f"Training pixels span {px['min']}..{px['max']} (uint8) with mean {px['mean']:.1f} and std "
        f"{px['std']:.1f} ({px['mean_01']:.3f} / {px['std_01']:.3f} on a 0..1 scale); "
        f"{px['zero_fraction']:.1%} of pixels are exactly 0"
        + (" (dark background, light objects)" if dark else "")
        + ". The models therefore take raw 0..255 pixels and normalize inside the graph: the "
        "baseline CNN rescales by 1/255 (then BatchNormalization centres the activations), the "
        "transfer models apply their backbone's own preprocess_input (MobileNetV2: to -1..1), so "
        "exported models need no external normalization and training and deployment cannot disagree. "
        "Per-sample standardisation is not used: the large exact-zero background would make it "
        "amplify noise on dark images."
    )


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def _figures(
    ds: Dataset, summary: dict[str, Any], out: Path, samples_per_class: int, seed: int
) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(ds.class_names)
    k = len(names)
    figs: dict[str, str] = {}
    cmap = "gray" if ds.x_train.shape[-1] == 1 else None

    def show(ax, img):
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap=cmap, vmin=0, vmax=255)
        ax.axis("off")

    # Class distribution
    fig, ax = plt.subplots(figsize=(max(6, k * 0.7), 4))
    tr = [summary["class_counts"]["train"][n] for n in names]
    te = [summary["class_counts"]["test"][n] for n in names]
    pos = np.arange(k)
    ax.bar(pos - 0.2, tr, 0.4, label="train")
    ax.bar(pos + 0.2, te, 0.4, label="test")
    ax.set_xticks(pos, names, rotation=45, ha="right")
    ratio = summary["imbalance_ratio"]["train"]
    ax.set_title(f"Class distribution (train imbalance ratio max/min = {ratio:.2f})")
    ax.set_ylabel("images")
    ax.legend()
    _save(fig, out / "class_distribution.png")
    plt.close(fig)
    figs["class_distribution"] = "class_distribution.png"

    # Samples per class
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(k, samples_per_class, figsize=(samples_per_class * 1.1, k * 1.15))
    axes = np.atleast_2d(axes)
    for i in range(k):
        idx = np.flatnonzero(ds.y_train == i)
        chosen = (
            rng.choice(idx, size=min(samples_per_class, len(idx)), replace=False)
            if len(idx)
            else []
        )
        for j in range(samples_per_class):
            ax = axes[i, j]
            ax.axis("off")
            if j < len(chosen):
                show(ax, ds.x_train[chosen[j]])
        axes[i, 0].set_title(names[i], fontsize=8, loc="left")
    _save(fig, out / "samples_grid.png")
    plt.close(fig)
    figs["samples_grid"] = "samples_grid.png"

    # Pixel histogram + per-class mean/std
    px = summary["pixels"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    a1.bar(np.arange(256), px["histogram_256"], width=1.0)
    a1.set_yscale("log")
    a1.set_xlabel("pixel value")
    a1.set_ylabel("count (log)")
    a1.set_title(
        f"Pixel intensities: mean {px['mean']:.1f}, std {px['std']:.1f}, zeros {px['zero_fraction']:.0%}"
    )
    means = [c["mean"] or 0 for c in summary["per_class"]]
    stds = [c["std"] or 0 for c in summary["per_class"]]
    a2.bar(pos, means, yerr=stds, capsize=3)
    a2.set_xticks(pos, names, rotation=45, ha="right")
    a2.set_ylabel("pixel mean ± std")
    a2.set_title("Per-class intensity")
    _save(fig, out / "pixel_histogram.png")
    plt.close(fig)
    figs["pixel_histogram"] = "pixel_histogram.png"

    # Mean image per class
    cols = min(k, 5)
    rows = (k + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.8, rows * 2.0))
    axes = np.atleast_1d(axes).reshape(-1)
    for i in range(len(axes)):
        axes[i].axis("off")
        if i < k and np.any(ds.y_train == i):
            mean_img = ds.x_train[ds.y_train == i].astype(np.float64).mean(axis=0)
            show(axes[i], mean_img)
            axes[i].set_title(names[i], fontsize=8)
    _save(fig, out / "mean_images.png")
    plt.close(fig)
    figs["mean_images"] = "mean_images.png"
    return figs


def run_eda(
    ds: Dataset, out_dir: str | Path, samples_per_class: int = 8, seed: int = 0
) -> dict[str, Any]:
    """Compute the EDA of ``ds``, draw the figures into ``out_dir`` and write the JSON summary."""
    if samples_per_class < 1:
        # Checked before the folder exists: a bad value leaves no half-written eda/ behind.
        raise ConfigError(f"--samples-per-class {samples_per_class} must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = compute_eda(ds)
    summary["normalization"] = normalization_rationale(summary)
    summary["figures"] = _figures(ds, summary, out, samples_per_class, seed)
    write_json(out / SUMMARY_NAME, summary)
    log.info("EDA of %s written to %s", ds.name, out)
    return summary
