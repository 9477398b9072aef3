"""Stratified, seeded splits and subsets (class proportions preserved, same seed same result)."""

from __future__ import annotations

import numpy as np

from edge_runtime.common.errors import ConfigError


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` across classes proportionally to ``counts`` (largest remainder, exact sum)."""
    share = counts / counts.sum() * total
    alloc = np.floor(share).astype(int)
    remainder = total - alloc.sum()
    order = np.argsort(-(share - alloc), kind="stable")
    alloc[order[:remainder]] += 1
    return np.minimum(alloc, counts)


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-stratified random subset of ``size`` samples."""
    n = len(y)
    if size <= 0 or size > n:
        raise ConfigError(f"subset size {size} must be between 1 and the {n} available samples")
    if size == n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    alloc = _allocate(counts, size)
    picked = []
    for cls, k in zip(classes, alloc):
        idx = np.flatnonzero(y == cls)
        picked.append(rng.permutation(idx)[:k])
    return np.sort(np.concatenate(picked))


def stratified_split(
    y: np.ndarray, holdout_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(keep, holdout) index arrays; the holdout keeps each class's share of ``y``."""
    if not 0.0 < holdout_fraction < 1.0:
        raise ConfigError(f"holdout fraction {holdout_fraction!r} must be strictly between 0 and 1")
    n_hold = int(round(len(y) * holdout_fraction))
    if n_hold < 1 or n_hold >= len(y):
        raise ConfigError(
            f"holdout fraction {holdout_fraction} of {len(y)} samples leaves an empty split; "
            "use more data or another fraction"
        )
    hold = stratified_subset(y, n_hold, seed)
    mask = np.ones(len(y), dtype=bool)
    mask[hold] = False
    return np.flatnonzero(mask), hold
