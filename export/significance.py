"""Is an artifact's loss real, or what a handful of images can do by chance?

The gate compares an artifact with its Keras model on the same images, so the evidence is
paired: only the images where the two predict differently say anything about which is better.
With 48 test images one image is 2.1 accuracy points, so a drop over budget can be pure noise.
These tests put a probability on that, one-sided (is the artifact worse?):

- accuracy: exact McNemar test, i.e. a binomial test on the images that exactly one of the two
  models gets right (under "no difference" each such image is a fair coin);
- top-1 agreement: exact binomial test of the disagreements against the allowed disagreement rate;
- macro-F1 and the worst class's F1: a paired randomization test. Under "no difference" the two
  predictions of an image are exchangeable, so every image where they differ has its pair swapped
  at random and the F1 drop recomputed. The worst-class statistic is the largest per-class drop
  of each shuffle, so picking the worst of K classes after the fact is accounted for.

Plain numpy and ``math``: the edge of the import graph needs no scipy.
"""

from __future__ import annotations

import math

import numpy as np

# Up to this many differing images every swap pattern is enumerated (2**12 = 4,096 patterns);
# above it, a fixed number of seeded random patterns (so the same inputs give the same verdict).
EXACT_MAX_DIFFERING = 12
RANDOM_DRAWS = 10_000
_CHUNK = 1_000  # draws per matrix product: bounded memory whatever the test-set size
_SEED = 20_251_127


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (exact enough for any n here)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    logs = [base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
            for i in range(k, n + 1)]  # fmt: skip
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def mcnemar_p(keras_only: int, artifact_only: int) -> float:
    """One-sided exact McNemar p-value that the artifact is less accurate than Keras.

    ``keras_only``: images only Keras got right; ``artifact_only``: images only the artifact got
    right. 1.0 when no image separates them.
    """
    return binomial_sf(keras_only, keras_only + artifact_only, 0.5)


def min_detectable_images(alpha: float) -> int:
    """The fewest net lost images an exact McNemar test can call real at level ``alpha``: even
    when every differing image goes against the artifact, k of them have p = 0.5**k."""
    return max(1, math.ceil(math.log2(1.0 / alpha) - 1e-12))


def agreement_p(disagreements: int, n: int, min_agreement: float) -> float:
    """One-sided exact binomial p-value that the true disagreement rate exceeds the allowed
    ``1 - min_agreement``, given ``disagreements`` of ``n`` images."""
    return binomial_sf(disagreements, n, 1.0 - min_agreement)


def _f1(tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    denom = pred + true
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1e-12), 0.0)


def _patterns(d: int) -> tuple[np.ndarray, bool]:
    """Swap patterns (rows, 1 = swap the image's two predictions) and whether they are all of
    them. The identity pattern is always included."""
    if d <= EXACT_MAX_DIFFERING:
        codes = np.arange(2**d, dtype=np.int64)[:, None]
        return ((codes >> np.arange(d)) & 1).astype(np.float64), True
    rng = np.random.default_rng(_SEED)
    draws = rng.integers(0, 2, size=(RANDOM_DRAWS, d)).astype(np.float64)
    return draws, False


def f1_drop_p(
    y_true: np.ndarray, pred_ref: np.ndarray, pred_art: np.ndarray, num_classes: int
) -> tuple[float, float]:
    """Paired randomization p-values of (macro-F1 drop, worst per-class F1 drop), artifact vs
    the reference. 1.0 when the two predict the same everywhere."""
    y = np.asarray(y_true, np.int64)
    a, b = np.asarray(pred_ref, np.int64), np.asarray(pred_art, np.int64)
    same = a == b
    eye = np.eye(num_classes)
    true = np.bincount(y, minlength=num_classes).astype(np.float64)
    base_tp = np.bincount(y[same & (a == y)], minlength=num_classes).astype(np.float64)
    base_pred = np.bincount(a[same], minlength=num_classes).astype(np.float64)
    diff = ~same
    if not diff.any():
        return 1.0, 1.0
    yd, ad, bd = y[diff], a[diff], b[diff]
    pa, pb = eye[ad], eye[bd]  # one-hot predictions on the differing images
    ta, tb = pa * (ad == yd)[:, None], pb * (bd == yd)[:, None]  # ... and the correct ones

    def drops(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # s[m, i] = 1 swaps image i in pattern m: the "reference" side then holds the artifact's
        # prediction and vice versa. Counts are the concordant base plus the differing images.
        f_ref = _f1(
            base_tp + ta.sum(0) + s @ (tb - ta), base_pred + pa.sum(0) + s @ (pb - pa), true
        )
        f_art = _f1(
            base_tp + tb.sum(0) + s @ (ta - tb), base_pred + pb.sum(0) + s @ (pa - pb), true
        )
        d = f_ref - f_art
        return d.mean(axis=1), d.max(axis=1)

    obs_macro, obs_worst = (float(v[0]) for v in drops(np.zeros((1, len(yd)))))
    patterns, exact = _patterns(len(yd))
    hits_macro = hits_worst = 0
    tol = 1e-12  # ties count as "at least as extreme"
    for start in range(0, len(patterns), _CHUNK):
        m, w = drops(patterns[start : start + _CHUNK])
        hits_macro += int(np.sum(m >= obs_macro - tol))
        hits_worst += int(np.sum(w >= obs_worst - tol))
    total = len(patterns)
    if exact:
        return hits_macro / total, hits_worst / total
    # Random draws: the observed pattern counts as one more draw, so p is never 0.
    return (hits_macro + 1) / (total + 1), (hits_worst + 1) / (total + 1)


__all__ = [
    "EXACT_MAX_DIFFERING",
    "RANDOM_DRAWS",
    "agreement_p",
    "binomial_sf",
    "f1_drop_p",
    "mcnemar_p",
    "min_detectable_images",
]
