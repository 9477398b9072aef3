"""The KerasTuner tuner: algorithm choice, oracle budgets, memory hygiene, per-trial statistics."""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from typing import Any

import keras_tuner as kt

from edge_runtime.common.fileio import write_json
from trainer.tuning.budget import Budget, budgeted
from trainer.tuning.config import Algorithm, TuneConfig
from trainer.tuning.hypermodel import HeadHyperModel
from trainer.tuning.memory import PeakRss, current_rss_mb, release_free_memory
from trainer.tuning.metric import OBJECTIVE
from trainer.tuning.paths import PROJECT_NAME, STATS_DIR

log = logging.getLogger(__name__)


class _TrialStatsMixin:
    """Times each trial, samples its peak RSS, and frees the Keras session afterwards.

    keras-tuner#873: memory grows from trial to trial until the process is killed. Here the data
    stay as numpy arrays outside the graph, no model outlives its trial, and after each trial the
    Keras session is cleared and the garbage collector runs; the peak RSS of every trial is written
    to ``trial_stats/<id>.json`` so a leak shows in the results table.
    """

    hypermodel: HeadHyperModel
    project_dir: str

    def _configure_tensorboard_dir(self, callbacks: list, trial: Any, execution: int = 0) -> None:
        # KerasTuner imports tensorboard here unconditionally; it is only needed (and only
        # installed) when the caller passed a TensorBoard callback.
        if any(cb.__class__.__name__ == "TensorBoard" for cb in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)  # type: ignore[misc]

    def on_trial_begin(self, trial: Any) -> None:
        super().on_trial_begin(trial)  # type: ignore[misc]
        self.hypermodel.epochs_run = 0
        self._edgetk_t0 = time.perf_counter_ns()
        self._edgetk_rss = PeakRss().start()

    def on_trial_end(self, trial: Any) -> None:
        import keras

        peak = self._edgetk_rss.stop()
        seconds = (time.perf_counter_ns() - self._edgetk_t0) / 1e9
        keras.backend.clear_session()
        gc.collect()
        release_free_memory()
        write_json(
            Path(self.project_dir) / STATS_DIR / f"{trial.trial_id}.json",
            {
                "trial_id": trial.trial_id,
                "tuner_id": getattr(self, "tuner_id", None),
                "session": getattr(self, "edgetk_session", None),
                "status": str(trial.status),
                "epochs": self.hypermodel.epochs_run,
                "seconds": round(seconds, 3),
                "peak_rss_mb": round(peak, 1),
                "rss_after_cleanup_mb": round(current_rss_mb(), 1),
            },
        )
        log.info(
            "trial %s: %d epochs, %.1f s, peak RSS %.0f MB",
            trial.trial_id,
            self.hypermodel.epochs_run,
            seconds,
            peak,
        )
        super().on_trial_end(trial)  # type: ignore[misc]


class HyperbandTuner(_TrialStatsMixin, kt.Tuner):
    """Hyperband's trial protocol (``tuner/epochs``, checkpoint hand-over) on a budgeted oracle."""

    def run_trial(self, trial: Any, *fit_args: Any, **fit_kwargs: Any) -> Any:
        hp = trial.hyperparameters
        if "tuner/epochs" in hp.values:
            fit_kwargs["epochs"] = hp.values["tuner/epochs"]
            fit_kwargs["initial_epoch"] = hp.values["tuner/initial_epoch"]
        return super().run_trial(trial, *fit_args, **fit_kwargs)

    def _build_hypermodel(self, hp: Any) -> Any:
        model = super()._build_hypermodel(hp)
        if "tuner/trial_id" in hp.values:
            model.load_weights(self._get_checkpoint_fname(hp.values["tuner/trial_id"]))
        return model


class StatsTuner(_TrialStatsMixin, kt.Tuner):
    """Bayesian optimisation / random search: every trial runs up to ``max_epochs``."""


def make_tuner(
    cfg: TuneConfig,
    hypermodel: HeadHyperModel,
    directory: Path,
    overwrite: bool,
    budget: Budget,
) -> Any:
    """A tuner whose project lives in ``directory/search`` (reloaded unless ``overwrite``)."""
    objective = kt.Objective(OBJECTIVE, direction="max")
    common = {"objective": objective, "seed": cfg.seed, "max_consecutive_failed_trials": 3}
    if cfg.algorithm is Algorithm.HYPERBAND:
        oracle = budgeted(kt.oracles.HyperbandOracle)(
            max_epochs=cfg.max_epochs,
            factor=cfg.hyperband_factor,
            hyperband_iterations=None,  # as many sweeps as the budget allows
            **common,
        )
        cls: type = HyperbandTuner
    elif cfg.algorithm is Algorithm.BAYESIAN:
        oracle = budgeted(kt.oracles.BayesianOptimizationOracle)(max_trials=None, **common)
        cls = StatsTuner
    else:
        oracle = budgeted(kt.oracles.RandomSearchOracle)(max_trials=None, **common)
        cls = StatsTuner
    oracle.budget = budget
    return cls(
        oracle=oracle,
        hypermodel=hypermodel,
        executions_per_trial=cfg.executions_per_trial,
        directory=str(directory),
        project_name=PROJECT_NAME,
        overwrite=overwrite,
    )
