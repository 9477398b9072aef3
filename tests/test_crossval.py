"""Small data (trainer/pipeline/crossval.py): when the validation split is too small to tell the
candidates apart, and how the cross-validation race is decided. The pipeline run that uses it is
in tests/test_report_pipeline.py (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from export.significance import mcnemar_p
from trainer.pipeline.crossval import (
    MIN_DISCORDANT,
    _race,
    fold_count,
    smallest_detectable_points,
    validation_too_small,
)


def test_min_discordant_is_what_the_exact_test_needs() -> None:
    # All discordant images on the leader's side: 4 are not significant at 0.05, 5 are.
    assert mcnemar_p(MIN_DISCORDANT - 1, 0) >= 0.05 > mcnemar_p(MIN_DISCORDANT, 0)


@pytest.mark.parametrize(
    ("val_images", "too_small"),
    [(0, False), (19, True), (48, True), (499, True), (500, False), (600, False), (6000, False)],
)
def test_too_small_below_500_validation_images(val_images: int, too_small: bool) -> None:
    # Fashion-MNIST's quick profile holds out 600, the full one 6,000: both keep the split.
    assert validation_too_small(val_images) is too_small
    if val_images:
        assert smallest_detectable_points(val_images) == pytest.approx(500 / val_images)


def test_fold_count_follows_the_smallest_class() -> None:
    assert fold_count(np.repeat([0, 1, 2], 40)) == 5
    assert fold_count(np.array([0] * 40 + [1] * 3)) == 3
    assert fold_count(np.array([0] * 40 + [1])) == 1  # the caller refuses k < 2
    assert fold_count(np.array([], np.int64)) == 0


def _score(correct: np.ndarray) -> dict:
    return {"accuracy": float(correct.mean()), "images": len(correct), "correct": correct}


def test_race_keeps_ties_and_drops_what_is_significantly_worse() -> None:
    rng = np.random.default_rng(0)
    n = 200
    leader = rng.random(n) < 0.95
    close = leader.copy()
    close[np.flatnonzero(leader)[:2]] = False  # 2 images worse: a tie
    far = leader & (rng.random(n) < 0.8)  # about 19 images worse: out
    race = _race({"net_a": _score(leader), "net_b": _score(close), "net_c": _score(far)})
    assert race["leader"] == "net_a"
    assert race["in_race"] == ["net_a", "net_b"]
    assert (
        list(race["out_of_race"]) == ["net_c"]
        and "out-of-fold images" in race["out_of_race"]["net_c"]
    )
    assert _race({}) == {"leader": None, "in_race": [], "out_of_race": {}}
