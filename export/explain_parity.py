"""Explanation parity: does an exported artifact still look at the same pixels as its Keras model?

The top-1 gate compares answers. Here, on ``ExportConfig.explain_images`` selection (validation)
images, the Keras model's occlusion map (``edge_runtime.explain``, the method the runtime uses on
a device) is compared with the artifact's, run by the device runtime, for the class the Keras
model predicts: Spearman's rank correlation of the two maps and the intersection over union of
their 10 % most salient pixels, per image, then the median and quartiles, per class too. Recorded
in each artifact's ``parity.explanations`` (manifest) and in ``parity.md``. By default it does not
decide the gate; with ``ExportConfig.gate_explanations`` (``--gate-explanations``) an artifact
whose median agreement is under its precision's budgets (``ParityThresholds.min_explain_*``)
fails like one whose answers drift, and is left out of the bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from calibration import stratified_indices
from edge_runtime.explain import occlusion_maps, rank_correlation, top_overlap

if TYPE_CHECKING:
    from export.parity import ParityResult
    from export.thresholds import ParityThresholds

TOP_FRACTION = 0.1


@dataclass(frozen=True)
class ExplainReference:
    """The Keras model's maps on the chosen images (None fields: explanation parity is off)."""

    x: np.ndarray  # the raw-pixel images, as the gate feeds them
    y: np.ndarray
    classes: np.ndarray  # the class each map explains (the Keras model's prediction)
    maps: list[np.ndarray]
    max_passes: int
    spec: Any = None  # the manifest's InputSpec: how raw pixels become the model's values


def raw_planes(x: np.ndarray, spec: Any) -> np.ndarray:
    """The gate's arrays (the values the model takes, ``spec``'s layout) -> uint8 NHWC raw pixels,
    which occlusion edits as the device does (its fill is a pixel value)."""
    from export.normalization import is_identity

    x = np.asarray(x, np.float32)
    if spec is not None and spec.layout == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    if spec is not None and not is_identity(spec):
        mean, std = (np.asarray(v, np.float32) for v in spec.normalization())
        x = x * std + mean
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def model_values(planes: np.ndarray, spec: Any) -> np.ndarray:
    """uint8 NHWC raw pixels -> the values (and layout) the model takes."""
    from export.normalization import normalize_pixels

    x = planes.astype(np.float32)
    if spec is not None and spec.layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return x if spec is None else np.asarray(normalize_pixels(x, spec), np.float32)


def keras_reference(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    n: int,
    seed: int,
    max_passes: int,
    spec: Any = None,
) -> ExplainReference | None:
    """Maps of ``n`` stratified images of ``x`` by ``predict`` (the model's values -> probs).
    ``x`` holds what the model takes (``spec``'s normalization and layout; None: raw NHWC
    pixels); the occlusions are made on the raw pixels, as on the device."""
    if n <= 0 or not len(y):
        return None
    idx = stratified_indices(y, min(n, len(y)), seed) if len(y) > n else np.arange(len(y))
    xs, ys = np.asarray(x)[idx], np.asarray(y)[idx]
    run = lambda planes: predict(model_values(planes, spec))  # noqa: E731
    found = occlusion_maps(run, raw_planes(xs, spec), None, max_passes)
    classes = np.asarray([cls for _, cls, _, _ in found])
    return ExplainReference(xs, ys, classes, [sal for sal, *_ in found], max_passes, spec)


def agreement(
    ref: ExplainReference,
    predict: Callable[[np.ndarray], np.ndarray],
    labels: Sequence[str],
) -> dict[str, Any]:
    """The artifact's maps (``predict``: the model's values -> probabilities) against ``ref``."""
    run = lambda planes: predict(model_values(planes, ref.spec))  # noqa: E731
    rho, iou, empty = [], [], 0
    found = occlusion_maps(run, raw_planes(ref.x, ref.spec), ref.classes, ref.max_passes)
    for (sal, _, _, signal), ref_map in zip(found, ref.maps):
        empty += signal <= 0
        rho.append(rank_correlation(ref_map, sal))
        iou.append(top_overlap(ref_map, sal, TOP_FRACTION))
    rho_a, iou_a = np.asarray(rho), np.asarray(iou)
    per_class = {}
    for c in np.unique(ref.y):
        m = ref.y == c
        per_class[str(labels[int(c)])] = {
            "images": int(m.sum()),
            "rank_correlation_median": round(float(np.median(rho_a[m])), 4),
            "top_overlap_median": round(float(np.median(iou_a[m])), 4),
        }

    def summary(a: np.ndarray) -> dict[str, float]:
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        return {
            "median": round(float(med), 4),
            "q1": round(float(q1), 4),
            "q3": round(float(q3), 4),
        }

    return {
        "method": "occlusion (edge_runtime.explain), the Keras model's predicted class",
        "images": len(rho),
        "top_fraction": TOP_FRACTION,
        "rank_correlation": summary(rho_a),
        "top_overlap": summary(iou_a),
        "empty_maps": int(empty),
        "per_class": per_class,
    }


def judge_explanations(explained: dict[str, Any], t: ParityThresholds) -> list[str]:
    """Sentences, with the numbers, for each explanation budget of ``t`` the agreement misses."""
    n = explained["images"]
    out = []
    checks = (
        ("rank correlation", "rank_correlation", t.min_explain_rank_correlation),
        (f"top-{TOP_FRACTION:.0%} IoU", "top_overlap", t.min_explain_top_overlap),
    )
    for name, key, floor in checks:
        got = explained[key]["median"]
        if floor is not None and got < floor:
            q = explained[key]
            out.append(
                f"explanation {name} with the Keras model's maps {got:.2f} (median of {n} images, "
                f"quartiles {q['q1']:.2f}-{q['q3']:.2f}) < {floor:.3g} required"
            )
    return out


def gate_explanations(
    parity: ParityResult, explained: dict[str, Any], t: ParityThresholds
) -> tuple[ParityResult, dict[str, Any]]:
    """``parity`` with the explanation failures added, and ``explained`` with its verdict."""
    fails = judge_explanations(explained, t)
    record = {
        **explained,
        "gated": True,
        "min_rank_correlation": t.min_explain_rank_correlation,
        "min_top_overlap": t.min_explain_top_overlap,
        "verdict": "fail" if fails else "pass",
    }
    return replace(parity, failures=(*parity.failures, *fails)), record


def explanation_markdown(rows: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """The parity.md section: one row per artifact."""
    rows = [(k, e) for k, e in rows if e]
    if not rows:
        return []
    n = rows[0][1]["images"]
    out = [
        "",
        "## Explanation agreement",
        "",
        f"Occlusion maps (the method the runtime's `--explain` uses) of each artifact against the "
        f"Keras model's, on {n} validation images, for the class the Keras model predicts: "
        f"Spearman rank correlation of the maps and IoU of their top {TOP_FRACTION:.0%} pixels, "
        "median [quartiles]. 1.0 is the same map; a model with random weights scores about 0. "
        + (
            "Gated (--gate-explanations): the medians must reach the precision's budgets."
            if any(e.get("gated") for _, e in rows)
            else "Reported, not gated (--gate-explanations gates them)."
        ),
        "",
        "| artifact | rank correlation | top-10 % IoU | empty maps | gate |",
        "|---|---|---|---|---|",
    ]
    for key, e in rows:
        r, t = e["rank_correlation"], e["top_overlap"]
        gate = (
            f"{e['verdict']} (>= {_floor(e['min_rank_correlation'])} / "
            f">= {_floor(e['min_top_overlap'])})"
            if e.get("gated")
            else "not gated"
        )
        out.append(
            f"| {key} | {r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}] | "
            f"{t['median']:.2f} [{t['q1']:.2f}, {t['q3']:.2f}] | "
            f"{e['empty_maps']} of {e['images']} | {gate} |"
        )
    return out


def _floor(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


__all__ = [
    "ExplainReference",
    "agreement",
    "explanation_markdown",
    "gate_explanations",
    "judge_explanations",
    "keras_reference",
    "model_values",
    "raw_planes",
]
