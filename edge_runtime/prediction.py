"""The result of classifying one image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Labels per image when the caller does not say: predict, camera, serve and the Python API alike.
DEFAULT_TOP_K = 3


@dataclass(frozen=True)
class Prediction:
    """Top-k labels with probabilities for one image.

    ``latency_ms`` is this image's preprocessing time plus its share of the model call (a batch's
    inference time divided by the batch size), measured with ``perf_counter_ns``.
    """

    index: int
    label: str
    probability: float
    top_k: list[tuple[str, float]]
    probabilities: np.ndarray = field(repr=False)
    latency_ms: float
    inverted: bool = False  # the polarity step inverted the picture

    @property
    def score(self) -> float:
        """The top label's probability (the model's confidence in ``label``)."""
        return self.probability

    def to_dict(self, with_probabilities: bool = False) -> dict[str, Any]:
        """Plain JSON types: for JSON lines, CSV and the REST service."""
        d: dict[str, Any] = {
            "label": self.label,
            "index": self.index,
            "probability": round(self.probability, 6),
            "top_k": [{"label": lab, "probability": round(p, 6)} for lab, p in self.top_k],
            "latency_ms": round(self.latency_ms, 4),
            "inverted": self.inverted,
        }
        if with_probabilities:
            d["probabilities"] = [round(float(p), 6) for p in self.probabilities]
        return d


def top_k_of(probabilities: np.ndarray, labels: tuple[str, ...], k: int) -> list[tuple[str, float]]:
    """The ``k`` most probable ``(label, probability)`` pairs, most probable first."""
    values = probabilities.tolist()
    return [(labels[i], values[i]) for i in top_indices(values, k)]


def top_indices(values: list[float] | np.ndarray, k: int) -> list[int]:
    """Class indices of the ``k`` largest values, largest first (ties: lower index first)."""
    n = len(values)
    k = max(1, min(k, n))
    if isinstance(values, np.ndarray):
        if n > 64:
            return [int(i) for i in np.argsort(-values, kind="stable")[:k]]
        values = values.tolist()
    # Python's sort is stable with reverse=True too, and beats numpy's call overhead here.
    return sorted(range(n), key=values.__getitem__, reverse=True)[:k]


__all__ = ["Prediction", "top_indices", "top_k_of"]
