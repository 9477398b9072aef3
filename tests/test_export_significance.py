"""The gate knows its sample size: exact paired tests, and what one image can and cannot flip.

Pure numpy (no conversion): the statistics are checked against brute-force enumeration, and the
gate's verdicts on paired predictions that differ by one image or by a broken artifact's worth.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError
from export import ExportConfig, GateConfig, check_parity
from export.metrics import per_class_f1
from export.significance import (
    agreement_p,
    binomial_sf,
    f1_drop_p,
    mcnemar_p,
    min_detectable_images,
)

LABELS4 = ("a", "b", "c", "d")


def _exact_sf(k: int, n: int, p: Fraction) -> float:
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 5, "1/2"), (3, 10, "1/2"), (1, 48, "1/1000"), (4, 48, "1/20"), (9, 9, "1/2")],
)
def test_binomial_tail_is_exact(k: int, n: int, p: str) -> None:
    assert binomial_sf(k, n, float(Fraction(p))) == pytest.approx(
        _exact_sf(k, n, Fraction(p)), rel=1e-9
    )


def test_mcnemar_and_detectable_size() -> None:
    assert mcnemar_p(1, 0) == 0.5  # one differing image is a coin toss
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(0, 3) == 1.0
    assert mcnemar_p(5, 0) == pytest.approx(1 / 32)
    # 0.5**7 = 0.0078 <= 0.01 < 0.5**6: seven images at 99 %, five at 95 %.
    assert min_detectable_images(0.01) == 7 and min_detectable_images(0.05) == 5
    assert agreement_p(1, 48, 0.999) == pytest.approx(1 - 0.999**48)


def _brute_force_f1_p(y, a, b, k) -> tuple[float, float]:
    diff = np.flatnonzero(a != b)
    obs = per_class_f1(y, a, k) - per_class_f1(y, b, k)
    hits_m = hits_w = 0
    for bits in itertools.product((0, 1), repeat=len(diff)):
        a2, b2 = a.copy(), b.copy()
        for i, s in zip(diff, bits):
            if s:
                a2[i], b2[i] = b[i], a[i]
        d = per_class_f1(y, a2, k) - per_class_f1(y, b2, k)
        hits_m += d.mean() >= obs.mean() - 1e-12
        hits_w += d.max() >= obs.max() - 1e-12
    total = 2 ** len(diff)
    return hits_m / total, hits_w / total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_f1_randomization_test_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 40)
    a = np.where(rng.random(40) < 0.8, y, rng.integers(0, 4, 40))
    b = a.copy()
    moved = rng.choice(40, 9, replace=False)
    b[moved] = rng.integers(0, 4, 9)
    assert f1_drop_p(y, a, b, 4) == pytest.approx(_brute_force_f1_p(y, a, b, 4))


def _paired(n: int = 48, k: int = 4, seed: int = 0):
    """Labels and Keras probabilities: 44 of 48 right, every image decided by a wide margin."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    pred = y.copy()
    pred[rng.choice(n, 4, replace=False)] = (y[:4] + 1) % k
    ref = np.full((n, k), 0.02, np.float32)
    ref[np.arange(n), pred] = 1 - 0.02 * (k - 1)
    return y, ref


def _flip_one(y, ref, margin: float = 1e-4):
    """The artifact loses one image Keras got right, on a near tie (as a float artifact might)."""
    i = int(np.flatnonzero(np.argmax(ref, 1) == y)[0])
    probs = ref.copy()
    ref = ref.copy()
    other = (y[i] + 1) % ref.shape[1]
    ref[i] = 0.0
    ref[i, y[i]], ref[i, other] = 0.5 + margin, 0.5 - margin
    probs[i] = 0.0
    probs[i, y[i]], probs[i, other] = 0.5 - margin, 0.5 + margin
    return ref, probs


@pytest.mark.parametrize("precision", ["fp32", "fp16", "dynamic", "int8", "int8_mixed"])
def test_one_image_at_n48_is_noise_not_a_failure(precision: str) -> None:
    y, ref = _paired()
    ref, probs = _flip_one(y, ref)
    gate = GateConfig.default()
    t = gate.for_precision(precision)
    # The old rule (budgets alone) fails int8_mixed on this one image: 2.08 points > 0.5.
    old = check_parity("a", precision, ref, probs, y, LABELS4, t)
    assert not old.passed
    r = check_parity("a", precision, ref, probs, y, LABELS4, t, confidence=gate.confidence)
    assert r.passed, r.failures
    assert r.within_noise and "not shown to be real at 99 % confidence" in r.within_noise[0]
    sig = r.metrics["significance"]
    assert (sig["images"], sig["keras_only_correct"], sig["artifact_only_correct"]) == (48, 1, 0)
    assert sig["accuracy_p"] == 0.5 and sig["min_detectable_images"] == 7
    assert sig["min_detectable_drop"] == pytest.approx(7 / 48)
    assert r.to_dict()["verdict"] == "pass" and r.to_dict()["within_noise"] == list(r.within_noise)


def _collapsed(y, ref, cls: int = 0):
    """A broken artifact: every image gets the same class (what a wrong input scale does)."""
    probs = np.full_like(ref, 0.01)
    probs[:, cls] = 0.97
    return probs


@pytest.mark.parametrize("precision", ["fp32", "int8", "int8_mixed"])
def test_broken_artifact_fails_at_n30(precision: str) -> None:
    y, ref = _paired(n=30)
    gate = GateConfig.default()
    r = check_parity("a", precision, ref, _collapsed(y, ref), y, LABELS4,
                     gate.for_precision(precision), confidence=gate.confidence)  # fmt: skip
    assert not r.passed
    assert any(f.startswith("accuracy drop") and "real at 99 % confidence" in f for f in r.failures)
    sig = r.metrics["significance"]
    assert sig["accuracy_p"] < 1e-4 and sig["agreement_p"] < 1e-4
    assert sig["worst_class_f1_p"] is not None  # over budget, so its test ran


def test_real_but_small_loss_on_a_large_set_still_fails() -> None:
    # 10,000 images, int8 loses 2 points net (300 lost, 100 gained): over the 1.5-point budget
    # and far from chance, so the gate fails exactly as the budget-only rule did.
    rng = np.random.default_rng(3)
    n, k = 10_000, 10
    y = rng.integers(0, k, n)
    ref_pred = np.where(rng.random(n) < 0.9, y, (y + 1) % k)
    art = ref_pred.copy()
    right = np.flatnonzero(ref_pred == y)
    wrong = np.flatnonzero(ref_pred != y)
    lose, gain = rng.choice(right, 300, replace=False), rng.choice(wrong, 100, replace=False)
    art[lose], art[gain] = (y[lose] + 2) % k, y[gain]
    eye = np.eye(k, dtype=np.float32)
    labels = tuple(str(i) for i in range(k))
    gate = GateConfig.default()
    r = check_parity("a", "int8", eye[ref_pred], eye[art], y, labels, gate.int8,
                     confidence=gate.confidence)  # fmt: skip
    assert -r.metrics["accuracy_delta"] == pytest.approx(0.02)
    assert not r.passed and r.metrics["significance"]["accuracy_p"] < 1e-6


def test_gate_confidence_is_validated_and_round_trips() -> None:
    assert GateConfig.default().confidence == 0.99 == GateConfig.strict().confidence
    assert GateConfig.default().alpha == pytest.approx(0.01)
    with pytest.raises(
        ConfigError, match=r"gate confidence=0.3 is out of range; allowed \[0.5, 0.9999\]"
    ):
        GateConfig(confidence=0.3)
    with pytest.raises(ConfigError, match="gate.confidence must be of type float"):
        ExportConfig.from_dict({"gate": {"confidence": "high"}})
    cfg = ExportConfig.from_dict({"gate": {"confidence": 0.95}})
    assert (
        cfg.gate.confidence == 0.95
        and ExportConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    )
    assert cfg.gate.int8 == GateConfig.default().int8
