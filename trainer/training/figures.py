"""The augmentation figure: what the model really sees while training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def save_augmentation_grid(
    augmentation: Any | None,
    x: np.ndarray,
    out_path: str | Path,
    *,
    samples: int = 6,
    variants: int = 7,
    seed: int = 0,
) -> Path:
    """A grid: one row per sample, the original then ``variants`` augmented versions.

    ``augmentation`` is the model's ``augment`` sub-model (None: the row shows only originals,
    titled so); it runs with ``training=True``, exactly as during ``fit``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edge_runtime.common.fileio import atomic_path

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=min(samples, len(x)), replace=False)
    originals = np.asarray(x[idx], dtype=np.float32)
    cols = 1 + (variants if augmentation is not None else 0)
    fig, axes = plt.subplots(len(idx), cols, figsize=(1.3 * cols, 1.3 * len(idx)), squeeze=False)
    grey = originals.shape[-1] == 1
    for c in range(cols):
        batch = originals if c == 0 else np.asarray(augmentation(originals, training=True))
        for r in range(len(idx)):
            ax = axes[r][c]
            img = np.clip(batch[r], 0, 255).astype(np.uint8)
            ax.imshow(img[..., 0] if grey else img, cmap="gray" if grey else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("original" if c == 0 else f"aug {c}", fontsize=7)
    title = "training augmentation" if augmentation is not None else "no augmentation configured"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(out_path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return out
