"""Saliency computed by the runtime itself, for any artifact: occlusion.

Why occlusion: it needs forward passes only, so it runs on every artifact edgetk writes (TFLite
and ONNX, float and int8) with the device's own runtime and no TensorFlow, where gradient methods
(Grad-CAM) need the float Keras graph. It explains what actually ships: an int8 model that looks
at other pixels than its float original shows it here.

How: a square patch of the image (filled with the image's mean value per channel) slides over the
prepared model input; each position is one forward pass, batched. A pixel's saliency is the mean
drop of the explained class's probability over the positions whose patch covers it, negative drops
clipped to 0, scaled so the map's maximum is 1. The stride grows until the positions fit
``max_passes`` (default 256), so the cost per image is bounded: at most ``max_passes + 1``
forward passes (on 28x28: a 7 px patch, stride 2, 145 passes).

The patch is a quarter of the shorter side, large on purpose: an int8 model's output moves in
steps of 1/256 and a confident one sits at 255/256, so hiding a few pixels of its evidence often
moves nothing at all (measured on the test suite's quadrant model: with a patch of a seventh of
the side, every occlusion left the int8 output unchanged and the map was empty, while the float
model's map was right). Hiding most of a stroke or part does move it. ``Explanation.signal`` is
the largest drop seen: 0 means the map is empty, not that nothing matters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MAX_PASSES = 256

RunPlanes = Callable[[np.ndarray], np.ndarray]  # uint8 (N, H, W, C) -> probabilities (N, K)


@dataclass(frozen=True)
class Explanation:
    """One image's occlusion map for one class, at the model's input size."""

    index: int  # the explained class (the prediction, unless a target was given)
    label: str
    probability: float  # of that class on the whole image
    saliency: np.ndarray  # (H, W) float32 in [0, 1]
    passes: int  # forward passes it took, the whole image included
    patch: int
    stride: int
    ms: float  # wall time of the whole explanation
    signal: float = 0.0  # the largest probability drop an occlusion caused (0: an empty map)

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "label": self.label,
            "probability": self.probability,
            "passes": self.passes,
            "patch": self.patch,
            "stride": self.stride,
            "ms": round(self.ms, 3),
            "signal": round(self.signal, 6),
        }


def plan(height: int, width: int, max_passes: int = DEFAULT_MAX_PASSES) -> tuple[int, int]:
    """(patch, stride) for an ``height`` x ``width`` input within ``max_passes`` positions."""
    if max_passes < 1:
        raise ValueError(f"max_passes={max_passes}; use at least 1")
    patch = max(2, round(min(height, width) / 4))
    patch = min(patch, height, width)
    stride = max(1, patch // 4)
    # Fewer positions: a longer stride, up to the patch itself (beyond it pixels go unseen),
    # then a bigger patch.
    while len(positions(height, width, patch, stride)) > max_passes and (
        stride < patch or patch < min(height, width)
    ):
        if stride < patch:
            stride += 1
        else:
            patch, stride = patch + 1, patch + 1
    return patch, stride


def positions(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of the patches: a grid of ``stride`` that also reaches the far edges."""

    def axis(n: int) -> list[int]:
        starts = list(range(0, max(1, n - patch + 1), stride))
        if starts[-1] != n - patch:
            starts.append(max(0, n - patch))
        return starts

    return [(r, c) for r in axis(height) for c in axis(width)]


def occlusion_maps(
    run: RunPlanes,
    planes: np.ndarray,
    targets: np.ndarray | None = None,
    max_passes: int = DEFAULT_MAX_PASSES,
    max_bytes: int = 64 << 20,
) -> list[tuple[np.ndarray, int, float, float]]:
    """(saliency, class, probability, signal) of several planes of one size, with as few runtime
    calls as ``max_bytes`` of occluded copies per call allows (runtimes load per call in export's
    gate)."""
    n, h, w, _ = planes.shape
    patch, stride = plan(h, w, max_passes)
    where = positions(h, w, patch, stride)
    per_image = (len(where) + 1) * planes[0].nbytes
    group = max(1, max_bytes // per_image)
    out = []
    for g in range(0, n, group):
        chunk = planes[g : g + group]
        stack = np.concatenate(
            [np.concatenate([p[None], _occluded(p, where, patch)]) for p in chunk]
        )
        probs = run(stack).reshape(len(chunk), len(where) + 1, -1)
        for i, pr in enumerate(probs):
            k = int(g + i)
            cls = int(np.argmax(pr[0])) if targets is None else int(targets[k])
            sal, signal = _reduce(pr[0, cls] - pr[1:, cls], where, patch, h, w)
            out.append((sal, cls, float(pr[0, cls]), signal))
    return out


def _occluded(plane: np.ndarray, where: list[tuple[int, int]], patch: int) -> np.ndarray:
    """Copies of ``plane``, each with one patch filled with the plane's mean per channel."""
    fill = np.round(plane.reshape(-1, plane.shape[2]).mean(axis=0)).astype(plane.dtype)
    copies = np.repeat(plane[None], len(where), axis=0)
    for i, (r, c) in enumerate(where):
        copies[i, r : r + patch, c : c + patch, :] = fill
    return copies


def _reduce(
    drops: np.ndarray, where: list[tuple[int, int]], patch: int, h: int, w: int
) -> tuple[np.ndarray, float]:
    """The map (mean drop over the patches covering each pixel, >= 0, max 1) and the top drop."""
    total = np.zeros((h, w), np.float64)
    cover = np.zeros((h, w), np.float64)
    for (r, c), d in zip(where, drops):
        total[r : r + patch, c : c + patch] += d
        cover[r : r + patch, c : c + patch] += 1
    sal = np.clip(total / np.maximum(cover, 1), 0, None)
    top = sal.max()
    sal = (sal / top) if top > 0 else sal
    return sal.astype(np.float32), float(max(float(np.max(drops, initial=0.0)), 0.0))


def explain_plane(
    run: RunPlanes,
    plane: np.ndarray,
    labels: tuple[str, ...],
    target: int | None = None,
    max_passes: int = DEFAULT_MAX_PASSES,
) -> Explanation:
    t0 = time.perf_counter_ns()
    h, w, _ = plane.shape
    patch, stride = plan(h, w, max_passes)
    passes = len(positions(h, w, patch, stride)) + 1
    targets = None if target is None else np.asarray([target])
    ((sal, cls, p, signal),) = occlusion_maps(run, plane[None], targets, max_passes)
    ms = (time.perf_counter_ns() - t0) / 1e6
    return Explanation(cls, labels[cls], p, sal, passes, patch, stride, ms, signal)


# --- comparing two maps (explanation parity) -----------------------------------------------------


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's correlation uses them."""
    flat = np.asarray(a, np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    ranks = np.empty(len(flat), np.float64)
    ranks[order] = np.arange(len(flat), dtype=np.float64)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (0.0 when either is constant)."""
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / den) if den > 0 else 0.0


def top_overlap(a: np.ndarray, b: np.ndarray, fraction: float = 0.1) -> float:
    """Intersection over union of the ``fraction`` most salient pixels of each map."""
    n = a.size
    k = max(1, math.ceil(fraction * n))
    ta = set(np.argsort(-np.asarray(a).ravel(), kind="stable")[:k].tolist())
    tb = set(np.argsort(-np.asarray(b).ravel(), kind="stable")[:k].tolist())
    return len(ta & tb) / len(ta | tb)


# --- pictures ------------------------------------------------------------------------------------

# A dark-blue -> red -> yellow ramp (5 stops), enough to read a heat map over a photo.
_STOPS = np.array(
    [[0, 0, 64], [48, 0, 160], [200, 0, 120], [255, 96, 0], [255, 240, 64]], np.float32
)


def colorize(saliency: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) uint8 colours."""
    t = np.clip(saliency, 0, 1) * (len(_STOPS) - 1)
    i = np.minimum(t.astype(int), len(_STOPS) - 2)
    f = (t - i)[..., None]
    return np.round(_STOPS[i] * (1 - f) + _STOPS[i + 1] * f).astype(np.uint8)


def to_image(saliency: np.ndarray, height: int, width: int, resize: str = "stretch") -> np.ndarray:
    """The map (at the model's input size) laid over a ``height`` x ``width`` picture: the inverse
    of the manifest's ``resize`` (``edge_runtime.preprocess.fit``). ``pad``: the padding's part of
    the map is cut off; ``center_crop``: the cropped-off margins get 0; float32 in [0, 1]."""
    from PIL import Image

    mh, mw = saliency.shape
    sal = np.clip(np.asarray(saliency, np.float32), 0, 1)
    if resize == "pad" and (height, width) != (mh, mw):
        scale = min(mh / height, mw / width)
        nh, nw = max(1, min(mh, round(height * scale))), max(1, min(mw, round(width * scale)))
        top, left = (mh - nh) // 2, (mw - nw) // 2
        sal = sal[top : top + nh, left : left + nw]
    elif resize == "center_crop" and (height, width) != (mh, mw):
        scale = max(mh / height, mw / width)
        nh, nw = max(mh, round(height * scale)), max(mw, round(width * scale))
        top, left = (nh - mh) // 2, (nw - mw) // 2
        canvas = np.zeros((nh, nw), np.float32)
        canvas[top : top + mh, left : left + mw] = sal
        sal = canvas
    img = Image.fromarray(np.round(sal * 255).astype(np.uint8))
    return np.asarray(img.resize((width, height), Image.BILINEAR), np.float32) / 255.0


def overlay(
    image: np.ndarray,
    saliency: np.ndarray,
    alpha: float = 0.55,
    resize: str = "stretch",
    bgr: bool = False,
) -> np.ndarray:
    """The map, laid over ``image`` (uint8 HxW or HxWxC, RGB; BGR with ``bgr=True``, as OpenCV
    frames are) as the manifest's ``resize`` mode fitted the image to the model, blended over it:
    uint8 HxWx3 in the image's channel order."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    img = img[..., :3].astype(np.float32)
    h, w = img.shape[:2]
    sal = to_image(saliency, h, w, resize)
    heat = colorize(sal)
    heat = (heat[..., ::-1] if bgr else heat).astype(np.float32)
    a = (alpha * sal)[..., None]
    return np.round(img * (1 - a) + heat * a).astype(np.uint8)


def save_overlay(
    path: Path, image: np.ndarray, explanation: Explanation, resize: str = "stretch"
) -> Path:
    """Write the overlay PNG beside nothing else; the folder is created; atomic."""
    from PIL import Image

    from edge_runtime.common.fileio import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(overlay(image, explanation.saliency, resize=resize)).save(tmp, format="PNG")
    return path


__all__ = [
    "DEFAULT_MAX_PASSES",
    "Explanation",
    "colorize",
    "explain_plane",
    "occlusion_maps",
    "overlay",
    "plan",
    "positions",
    "rank_correlation",
    "save_overlay",
    "to_image",
    "top_overlap",
]
