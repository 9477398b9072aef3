"""Small data (trainer/pipeline/crossval.py): when the validation split is too small to tell the
candidates apart, and how the cross-validation race is decided. The pipeline run that uses it is
in tests/test_report_pipeline.py (slow)."""

from __future__ import annotations

from dataclasses import replace

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


@pytest.mark.slow
def test_folds_train_the_transfer_head_on_cached_features_and_finetune_from_it(
    tmp_path, keras_home
) -> None:
    """A fold has no validation split: the frozen stage's feature cache (shared with the search,
    which does need one) must still be computed, and the fine-tune must start from that fold's
    own transfer model. Seen: the default candidates failed the crossval stage on every small
    folder ("the search needs a validation split")."""
    from tests.test_trainer_stages import synthetic_dataset
    from trainer.candidates.spec import Candidate
    from trainer.data import DataConfig
    from trainer.pipeline.crossval import run_crossval

    full = synthetic_dataset(n_train=45, n_test=15)
    keep = np.concatenate(
        [np.flatnonzero(full.y_train != 0), np.flatnonzero(full.y_train == 0)[:3]]
    )
    # three images of one class: 3 folds, the fewest the splitter allows with every class in each
    ds = replace(full, x_train=full.x_train[keep], y_train=full.y_train[keep])
    cands = [
        Candidate("transfer", "transfer"),
        Candidate("my_tuned", "finetune"),
        Candidate("pixels", "classical", config={"train_subset": 100}),
    ]
    tiny = {
        "epochs": 2,
        "batch_size": 16,
        "image_size": 32,
        "latency_runs": 2,
        "min_steps": 0,
        "gradcam": False,
    }
    record = run_crossval(
        tmp_path / "run",
        ds,
        DataConfig(val_fraction=0.2),
        cands,
        lambda name: next(c for c in cands if c.name == name).stage_config("quick", seed=0, **tiny),
        lambda name: next(c for c in cands if c.name == name).classical_spec("quick"),
        seed=0,
    )
    assert record["images"] == len(keep) and record["folds"] == 3
    for name in ("transfer", "my_tuned", "pixels"):
        assert name in record["scores"] or name in record["collapsed"], record
    assert len(record["scores"]["transfer"]["fold_accuracy"]) == 3
    feats = list((tmp_path / "run" / "crossval").glob("fold*/features/*/meta.json"))
    assert len(feats) == 3  # one cache per fold, each without a validation split


def test_refit_chain_retrains_the_transfer_source_of_a_finetune() -> None:
    """A fine-tune starts from the run's transfer model, so its refit retrains that first; other
    kinds retrain alone (names the defaults do not use)."""
    from trainer.candidates.spec import Candidate
    from trainer.pipeline.refit import chain

    cands = [
        Candidate("transfer", "transfer"),
        Candidate("my_ft", "finetune"),
        Candidate("tiny_net", "baseline"),
        Candidate("edge_res", "resnet"),
    ]
    assert chain("my_ft", cands) == ["transfer", "my_ft"]
    assert chain("tiny_net", cands) == ["tiny_net"]
    assert chain("edge_res", cands) == ["edge_res"]
    assert chain("transfer", cands) == ["transfer"]


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_fashion_mnist_profiles_keep_the_validation_split_and_run_no_refit(
    tmp_path, keras_home, profile: str
) -> None:
    """The large-data path is untouched: on Fashion-MNIST neither profile cross-validates, so
    neither retrains its chosen candidate (the crossval and refit stages are skipped)."""
    from trainer.pipeline.config import PipelineConfig
    from trainer.pipeline.runner import Context
    from trainer.pipeline.stages import crossval_enabled, pipeline_stages
    from trainer.training.config import Profile

    cfg = PipelineConfig(profile=Profile(profile))
    ctx = Context(tmp_path, {"config": cfg})
    assert crossval_enabled(ctx) is False
    active = [s.name for s in pipeline_stages(cfg) if s.enabled(ctx)]
    assert "crossval" not in active and "refit" not in active
    assert {"select", "bundle"} <= set(active)
    # and an image folder of a few hundred images does both
    assert crossval_enabled(Context(tmp_path, {"config": cfg.replace(crossval="on")}))


def _collapse_transfer(monkeypatch) -> None:
    """Every transfer training collapses (the collapse check's own error, raised where
    run_stage raises it); other stages train for real."""
    import trainer.training.runner as runner
    from edge_runtime.common.errors import CollapseError

    real = runner.run_stage

    def run_stage(run_dir, config, data_config, dataset=None):
        if config.stage.value == "transfer":
            raise CollapseError("stage 'transfer' collapsed: one class dominates")
        return real(run_dir, config, data_config, dataset=dataset)

    monkeypatch.setattr(runner, "run_stage", run_stage)


def test_a_fold_whose_transfer_collapsed_skips_its_finetune(tmp_path, monkeypatch) -> None:
    """Seen on a 100-image folder (seed 1): transfer collapsed in one fold and the fine-tune
    that starts from it failed the whole stage ("no registered model 'transfer'")."""
    from tests.test_trainer_stages import synthetic_dataset
    from trainer.candidates.spec import Candidate
    from trainer.data import DataConfig
    from trainer.pipeline.crossval import run_crossval

    _collapse_transfer(monkeypatch)
    ds = synthetic_dataset(n_train=30, n_test=10)
    cands = [
        Candidate("transfer", "transfer"),
        Candidate("my_ft", "finetune"),
        Candidate("pixels", "classical", config={"train_subset": 100}),
    ]
    record = run_crossval(
        tmp_path / "run",
        ds,
        DataConfig(val_fraction=0.2),
        cands,
        lambda name: next(c for c in cands if c.name == name).stage_config("quick", seed=0),
        lambda name: next(c for c in cands if c.name == name).classical_spec("quick"),
        seed=0,
    )
    assert set(record["collapsed"]) == {"transfer", "my_ft"}
    assert "its transfer source collapsed" in record["collapsed"]["my_ft"]
    assert "pixels" in record["scores"] and record["leader"] is None


def test_the_runs_finetune_is_left_out_when_its_transfer_collapsed(tmp_path) -> None:
    """The main run: a fine-tune whose transfer source collapsed is left out like a collapsed
    candidate (it has nothing to start from), not a failed run."""
    import json

    from trainer.pipeline.config import PipelineConfig
    from trainer.pipeline.runner import Context
    from trainer.pipeline.stages import train

    spec = {
        "schema": 1,
        "profiles": {"quick": ["transfer", "finetune", "tiny_net"]},
        "candidates": [
            {"name": "transfer", "kind": "transfer"},
            {"name": "finetune", "kind": "finetune"},
            {"name": "tiny_net", "kind": "baseline"},
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(spec))
    cfg = PipelineConfig(candidates_file=str(tmp_path / "c.json"))
    ctx = Context(tmp_path, {"config": cfg})
    ctx.results["transfer"] = {"collapsed": True, "collapse_reason": "one class dominates"}
    out = train("finetune")(ctx)
    assert out["collapsed"] is True
    assert "transfer source collapsed (one class dominates)" in out["collapse_reason"]


def test_a_refit_that_collapses_ships_the_main_runs_model(tmp_path, monkeypatch) -> None:
    from tests.test_trainer_stages import synthetic_dataset
    from trainer.candidates.spec import Candidate
    from trainer.data import DataConfig
    from trainer.pipeline.refit import load_record, run_refit

    _collapse_transfer(monkeypatch)
    cands = [Candidate("transfer", "transfer"), Candidate("my_ft", "finetune")]
    rec = run_refit(
        tmp_path,
        synthetic_dataset(n_train=30, n_test=10),
        DataConfig(val_fraction=0.2),
        "my_ft",
        cands,
        lambda name: next(c for c in cands if c.name == name).stage_config("quick", seed=0),
    )
    assert rec["model"] is None and rec["collapsed"].startswith("transfer: ")
    assert load_record(tmp_path) == rec and "main run's model ships" in rec["why"]
