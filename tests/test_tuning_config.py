"""Tuning configs: validation messages, presets, JSON round trip, overrides file, distributed env."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from edge_runtime.common.errors import ConfigError
from trainer.tuning import (
    Algorithm,
    Budget,
    HeadHyperparameters,
    SearchSpace,
    TuneConfig,
    load_overrides,
    save_best,
)
from trainer.tuning.distributed import ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_TUNER_ID, role


def test_tune_config_round_trips_and_presets_differ() -> None:
    cfg = TuneConfig.quick(algorithm=Algorithm.RANDOM, time_budget_min=2.5)
    again = TuneConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.algorithm is Algorithm.RANDOM
    assert TuneConfig.quick().data.train_size == 6000
    assert TuneConfig.full().data.train_size is None


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"max_trials": 0}, r"max_trials=0"),
        ({"max_trials": None, "time_budget_min": None}, r"needs a budget"),
        ({"time_budget_min": -1.0}, r"time_budget_min=-1.0"),
        ({"algorithm": "grid"}, r"'grid' is not allowed; choose one of \['hyperband'"),
        ({"batch_size": 0}, r"batch_size=0 is out of range"),
    ],
)
def test_tune_config_rejects_bad_values_by_name(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TuneConfig.from_dict({**TuneConfig().to_dict(), **changes})


def test_search_space_validation() -> None:
    with pytest.raises(ConfigError, match=r"learning_rate_min=0.1 must be below"):
        SearchSpace(learning_rate_min=0.1, learning_rate_max=0.01)
    with pytest.raises(ConfigError, match=r"units_choices is empty"):
        SearchSpace(units_choices=())


def test_best_hyperparameters_file_round_trips(space_dir: Path) -> None:
    hps = HeadHyperparameters(
        learning_rate=3.2e-3, dropout=0.15, dense_units=(256, 64), label_smoothing=0.05
    )
    path = save_best(space_dir / "best.json", hps)
    overrides = load_overrides(path)
    assert overrides == {
        "learning_rate": 3.2e-3,
        "dropout": 0.15,
        "dense_units": [256, 64],
        "label_smoothing": 0.05,
    }
    assert HeadHyperparameters.from_dict(overrides) == hps
    (space_dir / "typo.json").write_text('{"learning_rat": 0.1}')
    with pytest.raises(
        ConfigError, match=r"unknown HeadHyperparameters field\(s\) \['learning_rat'\]"
    ):
        load_overrides(space_dir / "typo.json")


def test_trial_values_become_head_hyperparameters() -> None:
    values = {
        "learning_rate": 0.01,
        "dropout": 0.2,
        "dense_layers": 1,
        "units_1": 512,
        "units_2": 64,
        "label_smoothing": 0.1,
    }
    hps = HeadHyperparameters.from_trial_values(values)
    assert hps.dense_units == (512,)  # units_2 belongs to an inactive layer


def test_budget_stops_on_trials_and_on_time() -> None:
    assert Budget(max_trials=3).exhausted(2) is None
    assert "max_trials=3" in Budget(max_trials=3).exhausted(3)
    spent = Budget(deadline_ns=time.perf_counter_ns() - 1)
    assert spent.exhausted(0) == "time budget spent"
    assert Budget.from_minutes(None, 10.0).exhausted(100) is None


def test_distributed_role_from_environment() -> None:
    assert role({}) == "single"
    env = {ENV_ORACLE_IP: "127.0.0.1", ENV_ORACLE_PORT: "8000", ENV_TUNER_ID: "chief"}
    assert role(env) == "chief"
    assert role({**env, ENV_TUNER_ID: "tuner1"}) == "worker"
    with pytest.raises(ConfigError, match=r"KERASTUNER_ORACLE_PORT is not"):
        role({ENV_ORACLE_IP: "127.0.0.1", ENV_TUNER_ID: "tuner0"})
    with pytest.raises(ConfigError, match=r"'http' is not a TCP port"):
        role({**env, ENV_ORACLE_PORT: "http"})


def test_best_hyperparameters_round_trip_into_the_trainers_stage_config(space_dir: Path) -> None:
    from trainer.training import StageConfig
    from trainer.tuning import apply_overrides

    hps = HeadHyperparameters(
        learning_rate=7e-4, dropout=0.25, dense_units=(512, 128), label_smoothing=0.1
    )
    path = save_best(space_dir / "best_hyperparameters.json", hps)
    preset = StageConfig.preset("full", "transfer")
    tuned = apply_overrides(preset, load_overrides(path))
    assert isinstance(tuned, StageConfig)
    assert (tuned.learning_rate, tuned.dropout, tuned.dense_units, tuned.label_smoothing) == (
        7e-4,
        0.25,
        (512, 128),
        0.1,
    )
    assert tuned.epochs == preset.epochs and tuned.stage == preset.stage  # the rest untouched
    assert preset.learning_rate != 7e-4  # the caller's config was not mutated
    # Through JSON again, as `edgetk train --config` would read a full stage config.
    assert StageConfig.from_dict(json.loads(json.dumps(tuned.to_dict()))) == tuned
    with pytest.raises(ConfigError, match=r"StageConfig has no field\(s\) \['momentum'\]"):
        apply_overrides(preset, {"momentum": 0.9})


def test_replace_with_a_plain_string_algorithm_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"algorithm='random' must be an Algorithm"):
        TuneConfig().replace(algorithm="random")
    assert TuneConfig().replace(algorithm=Algorithm.RANDOM).algorithm is Algorithm.RANDOM
