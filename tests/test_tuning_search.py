"""End-to-end searches on tiny synthetic features: results, budgets, resumption, refusal."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError
from trainer.tuning import (
    OBJECTIVE,
    Algorithm,
    FeatureSet,
    HeadHyperparameters,
    SearchSpace,
    TuneConfig,
    load_overrides,
    run_search,
)
from trainer.tuning.features import save_features
from trainer.tuning.hypermodel import HeadHyperModel


def synthetic_features(seed: int = 0, dim: int = 16, k: int = 4) -> FeatureSet:
    """Gaussian class clusters: learnable (far above chance) in a couple of epochs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.2, size=(k, dim))

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % k
        return (centers[y] + rng.normal(size=(n, dim))).astype(np.float32), y.astype(np.int64)

    (xt, yt), (xv, yv), (xs, ys) = split(320), split(80), split(80)
    names = tuple(f"class {i}" for i in range(k))
    return FeatureSet(xt, yt, xv, yv, xs, ys, class_names=names, key=f"synthetic-{seed}")


def tiny(**changes) -> TuneConfig:
    base = TuneConfig(
        max_trials=4,
        max_epochs=3,
        batch_size=64,
        recycle_every=None,
        space=SearchSpace(units_choices=(16, 32), max_dense_layers=1),
    )
    return base.replace(**changes)


def test_tiny_hyperband_search_end_to_end(space_dir: Path) -> None:
    res = run_search(tiny(), space_dir / "run", features=synthetic_features())
    tune = space_dir / "run" / "tune"
    assert res.stop_reason == "max_trials=4 reached"
    assert [r["trial_id"] for r in res.trials] == ["0000", "0001", "0002", "0003"]
    assert res.trials_run_now == ["0000", "0001", "0002", "0003"]
    scores = [r[OBJECTIVE] for r in res.trials]
    assert res.best_value == max(scores)
    assert res.best_value > 0.5  # 4 classes: chance is 0.25
    for r in res.trials:
        assert r["status"] == "COMPLETED"
        assert r["epochs"] >= 1 and r["seconds"] > 0 and r["peak_rss_mb"] > 50
    with open(tune / "trials.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert {"learning_rate", "dropout", "dense_layers", OBJECTIVE, "peak_rss_mb"} <= set(rows[0])
    assert (tune / "trials.json").is_file()
    png = tune / "objective_vs_hyperparameters.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = HeadHyperparameters.from_dict(load_overrides(tune / "best_hyperparameters.json"))
    assert best == res.best
    cmp = res.comparison
    assert cmp is not None and (tune / "comparison.json").is_file()
    for who in ("default", "best"):
        for split in ("val", "test"):
            assert 0.0 <= cmp[who][split]["macro_f1"] <= 1.0
    assert cmp["default"]["hyperparameters"] == HeadHyperparameters.defaults().to_dict()
    assert cmp["winner_on_test_macro_f1"] in ("best", "default")
    assert res.summary["trials_completed"] == 4
    assert (tune / "config.json").is_file() and (tune / "summary.json").is_file()


def test_time_budget_stops_the_search_cleanly(tmp_path: Path) -> None:
    cfg = tiny(algorithm=Algorithm.RANDOM, max_trials=None, time_budget_min=1e-5)
    res = run_search(cfg, tmp_path / "run", features=synthetic_features(), compare=False)
    assert res.stop_reason == "time budget spent"
    assert res.trials == [] and res.best is None


def test_resume_after_interruption_runs_no_finished_trial_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits: list[str] = []
    real_fit = HeadHyperModel.fit

    def fit_then_interrupt(self, hp, model, *args, **kwargs):
        fits.append(repr(sorted(hp.values.items())))
        if len(fits) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the third trial
        return real_fit(self, hp, model, *args, **kwargs)

    features = synthetic_features()
    cfg = tiny(algorithm=Algorithm.RANDOM, max_trials=5)
    monkeypatch.setattr(HeadHyperModel, "fit", fit_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, tmp_path / "run", features=features, compare=False)
    monkeypatch.setattr(HeadHyperModel, "fit", real_fit)

    fits_before = list(fits)
    first = {p.name for p in (tmp_path / "run/tune/kt/search/trial_stats").glob("*.json")}
    assert first == {"0000.json", "0001.json"}  # two finished; the third was interrupted

    seen: list[str] = []

    def recording_fit(self, hp, model, *args, **kwargs):
        seen.append(repr(sorted(hp.values.items())))
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(HeadHyperModel, "fit", recording_fit)
    res = run_search(cfg, tmp_path / "run", features=features, compare=False)
    assert [r["trial_id"] for r in res.trials] == ["0000", "0001", "0002", "0003", "0004"]
    # The interrupted trial 0002 ran again with the same values; 0000 and 0001 did not.
    assert res.trials_run_now == ["0002", "0003", "0004"]
    assert seen[0] == fits_before[2]
    assert fits_before[0] not in seen and fits_before[1] not in seen
    assert len(seen) == 3
    sessions = {r["trial_id"]: r["session"] for r in res.trials}
    assert sessions["0000"] == sessions["0001"] != sessions["0002"]
    assert res.summary["resumed"] is True


def test_a_changed_search_is_not_resumed_silently(tmp_path: Path) -> None:
    features = synthetic_features()
    run_search(tiny(max_trials=1), tmp_path / "run", features=features, compare=False)
    changed = tiny(max_trials=2, space=SearchSpace(units_choices=(8,), max_dense_layers=1))
    with pytest.raises(ConfigError, match=r"different configuration \(changed: space\)"):
        run_search(changed, tmp_path / "run", features=features, compare=False)
    # A larger budget is not a different search: it resumes.
    res = run_search(tiny(max_trials=2), tmp_path / "run", features=features, compare=False)
    assert res.trials_run_now == ["0001"]


@pytest.mark.slow
def test_recycled_search_keeps_going_in_fresh_processes(space_dir: Path) -> None:
    features = save_features(space_dir / "features", synthetic_features())
    cfg = tiny(max_trials=3, recycle_every=2)
    res = run_search(cfg, space_dir / "run", features=features, compare=False)
    assert res.stop_reason == "max_trials=3 reached"
    assert [r["trial_id"] for r in res.trials] == ["0000", "0001", "0002"]
    assert len({r["session"] for r in res.trials}) == 1  # one search, two processes
