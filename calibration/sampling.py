"""Stratified, seeded sampling of calibration images (same labels + seed: same indices)."""

from __future__ import annotations

import numpy as np

from edge_runtime.common.errors import ConfigError, DataError


def stratified_indices(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` samples with each class's share of ``y`` (largest remainder).

    Every class present in ``y`` gets at least one sample when ``size`` allows, so that rare
    classes still shape the quantization ranges.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise DataError(f"calibration labels must be a non-empty 1-D array, got shape {y.shape}")
    if not 1 <= size <= len(y):
        raise ConfigError(
            f"calibration size={size} must be between 1 and the {len(y)} available images"
        )
    classes, counts = np.unique(y, return_counts=True)
    share = counts / counts.sum() * size
    alloc = np.floor(share).astype(int)
    if size >= len(classes):
        alloc = np.maximum(alloc, 1)
    # Hand out (or take back) the rounding difference by largest remainder, stable across runs.
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    diff = size - int(alloc.sum())
    i = 0
    while diff != 0:
        c = order[i % len(order)]
        if diff > 0 and alloc[c] < counts[c]:
            alloc[c] += 1
            diff -= 1
        elif diff < 0 and alloc[c] > (1 if size >= len(classes) else 0):
            alloc[c] -= 1
            diff += 1
        i += 1
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, alloc)]
    return np.sort(np.concatenate(picked))
