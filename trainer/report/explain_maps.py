"""The report's picture of explanations: the shipped artifact's occlusion maps beside the float
Keras model's, on a few validation images the Keras model gets right and a few it gets wrong.

The maps are those of ``edge_runtime.explain`` (what ``edgetk predict --explain`` computes on the
device); the artifact's run in its own runtime (``export.runners``), the Keras model's in Keras,
both for the class the Keras model predicts, as the gate's explanation agreement does. Written by
the report stage into ``<run>/explain/maps.png`` with ``maps.json`` (which images, their classes,
per-image agreement), and shown by the export section of the report when present.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.fileio import write_json
from edge_runtime.explain import occlusion_maps, rank_correlation, top_overlap

log = logging.getLogger(__name__)

MAPS_DIR = "explain"
MAPS_PNG = f"{MAPS_DIR}/maps.png"
MAPS_JSON = f"{MAPS_DIR}/maps.json"


def choose_images(
    y: np.ndarray, pred: np.ndarray, n_correct: int, n_wrong: int, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices of ``n_correct`` right answers (distinct true classes first) and ``n_wrong`` wrong
    ones, in a seeded order: the picture is the same on every rebuild of the report."""
    order = np.random.default_rng(seed).permutation(len(y))
    right = [int(i) for i in order if pred[i] == y[i]]
    wrong = [int(i) for i in order if pred[i] != y[i]][:n_wrong]
    chosen, seen = [], set()
    for i in right:  # one per class first, then any
        if y[i] not in seen:
            chosen.append(i)
            seen.add(int(y[i]))
        if len(chosen) == n_correct:
            break
    chosen += [i for i in right if i not in chosen][: n_correct - len(chosen)]
    return chosen, wrong


def write_explanation_maps(
    run_dir: Path,
    keras_file: Path,
    bundle_dir: Path,
    x_val: np.ndarray,  # raw pixels (uint8 NHWC), as the dataset holds them
    y_val: np.ndarray,
    labels: Sequence[str],
    n_correct: int = 4,
    n_wrong: int = 2,
    max_passes: int = 256,
) -> Path | None:
    """Draw the maps into ``run_dir/explain/maps.png`` (None when there are no images)."""
    from edge_runtime.manifest import load_manifest
    from export.explain_parity import model_values
    from export.model_io import keras_predict, load_keras_model
    from export.runners import predict_artifact

    if not len(y_val):
        return None
    manifest = load_manifest(bundle_dir)
    art = next(a for a in manifest.artifacts if a.file == manifest.default_artifact)
    path = bundle_dir / art.file
    spec = manifest.input  # raw pixels -> the model's values, as the device does it
    model = load_keras_model(keras_file)
    pred = keras_predict(model, model_values(np.asarray(x_val), spec)).argmax(1)
    right, wrong = choose_images(np.asarray(y_val), pred, n_correct, n_wrong)
    idx = right + wrong
    x = np.asarray(x_val)[idx]
    planes = np.clip(np.round(x), 0, 255).astype(np.uint8)
    classes = pred[idx]
    keras_maps = occlusion_maps(
        lambda p: keras_predict(model, model_values(p, spec)), planes, classes, max_passes
    )
    art_maps = occlusion_maps(
        lambda p: predict_artifact(path, art.format, model_values(p, spec)),
        planes,
        classes,
        max_passes,
    )
    rows = []
    for k, i in enumerate(idx):
        km, am = keras_maps[k][0], art_maps[k][0]
        rows.append(
            {
                "index": i,
                "true": str(labels[int(y_val[i])]),
                "predicted": str(labels[int(classes[k])]),
                "correct": bool(k < len(right)),
                "keras_probability": round(keras_maps[k][2], 4),
                "artifact_probability": round(art_maps[k][2], 4),
                "artifact_signal": round(art_maps[k][3], 6),
                "rank_correlation": round(rank_correlation(km, am), 4),
                "top_overlap": round(top_overlap(km, am, 0.1), 4),
            }
        )
    out = Path(run_dir) / MAPS_PNG
    _draw(x, [m[0] for m in keras_maps], [m[0] for m in art_maps], rows, art.file, out)
    write_json(
        Path(run_dir) / MAPS_JSON,
        {
            "split": "validation",
            "artifact": art.file,
            "keras_model": Path(keras_file).name,
            "method": "occlusion (edge_runtime.explain), the Keras model's predicted class",
            "max_passes": max_passes,
            "images": rows,
        },
    )
    return out


def _draw(
    x: np.ndarray,
    keras_maps: list[np.ndarray],
    art_maps: list[np.ndarray],
    rows: list[dict[str, Any]],
    artifact: str,
    out: Path,
) -> Path:
    from trainer.evaluation.figures import new_figure, save_figure, show_image

    n = len(rows)
    fig = new_figure(1.45 * n + 0.8, 4.6)
    axes = fig.subplots(3, n, squeeze=False)
    for j, (img, km, am, row) in enumerate(zip(x, keras_maps, art_maps, rows)):
        h, w = img.shape[:2]
        for r, heat in ((0, None), (1, km), (2, am)):
            ax = axes[r, j]
            show_image(ax, img)
            if heat is not None:
                ax.imshow(heat, cmap="inferno", alpha=0.6, vmin=0, vmax=1,
                          interpolation="bilinear", extent=(-0.5, w - 0.5, h - 0.5, -0.5))  # fmt: skip
        mark = "right" if row["correct"] else "WRONG"
        axes[0, j].set_title(f"{row['true']}\n→ {row['predicted']} ({mark})", fontsize=7)
        axes[2, j].set_xlabel(
            f"ρ {row['rank_correlation']:.2f}  IoU {row['top_overlap']:.2f}", fontsize=7
        )
    for r, name in enumerate(("image", "Keras (float)", artifact)):
        axes[r, 0].set_ylabel(name, fontsize=7)
    fig.suptitle(
        "Occlusion maps: the float Keras model and the shipped artifact, validation images",
        fontsize=9,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out)


__all__ = ["MAPS_JSON", "MAPS_PNG", "choose_images", "write_explanation_maps"]
