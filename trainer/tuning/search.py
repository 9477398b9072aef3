"""``run_search``: features (cached) -> KerasTuner search under a budget -> results -> comparison."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError, ModelError
from edge_runtime.common.fileio import read_json, write_json
from trainer.tuning import distributed
from trainer.tuning.config import TuneConfig
from trainer.tuning.features import FeatureSet
from trainer.tuning.hyperparameters import HeadHyperparameters, save_best
from trainer.tuning.metric import OBJECTIVE
from trainer.tuning.paths import STAGE, TunePaths
from trainer.tuning.results import FIGURE, best_row, collect_trials, plot_objective, write_trials

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    """What one invocation did, and where everything was written."""

    paths: TunePaths
    role: str
    trials: list[dict[str, Any]]
    trials_run_now: list[str]
    best: HeadHyperparameters | None
    best_value: float | None
    stop_reason: str | None
    seconds: float
    comparison: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def _open_stage(run_dir: str | Path) -> TunePaths:
    from trainer.rundir import RunDir

    return TunePaths(RunDir.open(run_dir).stage(STAGE))


def prepare_features(cfg: TuneConfig, run_dir: str | Path) -> FeatureSet:
    """Load the dataset ``cfg.data`` names and return its backbone features (cached in the run dir)."""
    from edge_runtime.common.errors import DataError
    from trainer import env
    from trainer.data import load_dataset, make_splits
    from trainer.tuning.features import cached_features

    env.prepare()
    paths = _open_stage(run_dir)
    dataset = load_dataset(cfg.data)
    if len(make_splits(dataset, cfg.data).y_val) == 0:
        raise DataError(
            "the search needs a validation split (its objective is validation macro-F1); "
            "use --val-fraction > 0"
        )
    return cached_features(paths.features, dataset, cfg.data, cfg.backbone, cfg.batch_size)


def _check_resume(paths: TunePaths, cfg: TuneConfig, overwrite: bool, role: str) -> bool:
    """True when an earlier search in ``paths`` will be resumed; refuse a changed search."""
    exists = (paths.project / "oracle.json").is_file()
    if overwrite:
        if role == "worker":
            raise ConfigError(
                "--overwrite on a worker of a distributed search would delete trials the chief "
                "manages; start only the chief with --overwrite"
            )
        if paths.project.exists():
            shutil.rmtree(paths.project)
        return False
    if not exists or not paths.config.is_file():
        return False
    saved = read_json(paths.config).get("config", {})
    try:
        previous = TuneConfig.from_dict(saved).search_identity()
    except ConfigError:
        previous = None
    current = cfg.search_identity()
    if previous != current:
        changed = (
            sorted(k for k in current if previous.get(k) != current[k]) if previous else ["config"]
        )
        raise ConfigError(
            f"{paths.project} holds a search started with a different configuration "
            f"(changed: {', '.join(changed)}); resume it with the same settings (only "
            "--max-trials and --time-budget may change), pass --overwrite to start over, or use "
            "another --run-dir"
        )
    return True


def _memory_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    peaks = [r["peak_rss_mb"] for r in rows if r.get("peak_rss_mb") is not None]
    if not peaks:
        return {}
    out: dict[str, Any] = {"max_peak_rss_mb": max(peaks), "min_peak_rss_mb": min(peaks)}
    if len(peaks) >= 3:
        out["third_trial_peak_rss_mb"] = peaks[2]
        out["last_trial_peak_rss_mb"] = peaks[-1]
        out["last_minus_third_mb"] = round(peaks[-1] - peaks[2], 1)
    return out


def search_in_process(
    cfg: TuneConfig, paths: TunePaths, features: FeatureSet, budget: Any, session: str
) -> str | None:
    """Run the KerasTuner search loop in this process until ``budget`` stops it.

    Returns why it stopped (None: the search space / Hyperband schedule ran out). A chief
    returns when every worker has finished.
    """
    import keras

    from trainer.tuning.head import one_hot
    from trainer.tuning.hypermodel import HeadHyperModel
    from trainer.tuning.tuner import make_tuner

    keras.utils.set_random_seed(cfg.seed)
    hypermodel = HeadHyperModel(
        features.feature_dim, features.num_classes, cfg.space, seed=cfg.seed, patience=cfg.patience
    )
    tuner = make_tuner(cfg, hypermodel, paths.tuner_dir, overwrite=False, budget=budget)
    tuner.edgetk_session = session
    try:
        tuner.search(
            features.x_train,
            one_hot(features.y_train, features.num_classes),
            validation_data=(features.x_val, features.y_val),
            epochs=cfg.max_epochs,
            batch_size=cfg.batch_size,
            verbose=0,
        )
    except RuntimeError as exc:
        if "consecutive failures" not in str(exc):
            raise
        failed = [t for t in tuner.oracle.trials.values() if t.message]
        detail = failed[-1].message.strip().splitlines()[-1] if failed else "no message"
        raise ModelError(
            f"the search stopped after repeated failed trials ({detail}); the full traceback of "
            f"each is in {paths.project}/trial_*/trial.json"
        ) from None
    return getattr(tuner.oracle, "stop_reason", None)


def _trials_in_project(paths: TunePaths) -> int:
    return len(list(paths.project.glob("trial_*/trial.json")))


def _search_in_children(
    cfg: TuneConfig, paths: TunePaths, features: FeatureSet, deadline_ns: int | None, session: str
) -> str | None:
    """Run the search in child processes, each for at most ``cfg.recycle_every`` trials.

    TensorFlow keeps part of every traced training graph for the life of the process (about
    10 MB per trial here; ``clear_session`` does not release it), which is the growth reported
    in keras-tuner#873. A fresh process every few trials returns that memory; the search itself
    continues exactly where it was, through KerasTuner's reload of the project folder.
    """
    import subprocess
    import sys
    import tempfile

    reason: str | None = None
    while True:
        done = _trials_in_project(paths)
        target = done + cfg.recycle_every
        if cfg.max_trials is not None:
            target = min(target, cfg.max_trials)
        remaining_s = None
        if deadline_ns is not None:
            remaining_s = (deadline_ns - time.perf_counter_ns()) / 1e9
            if remaining_s <= 0:
                return "time budget spent"
        with tempfile.TemporaryDirectory(prefix="edgetk-tune-") as tmp:
            job = Path(tmp) / "job.json"
            out = Path(tmp) / "result.json"
            write_json(
                job,
                {
                    "config": cfg.to_dict(),
                    "paths_root": str(paths.root),
                    "features_dir": str(features.path),
                    "max_trials": target,
                    "remaining_s": remaining_s,
                    "session": session,
                    "result": str(out),
                },
            )
            log.info("search: trials %d..%d in a fresh process", done, target - 1)
            proc = subprocess.Popen([sys.executable, "-m", "trainer.tuning.child", str(job)])
            try:
                rc = proc.wait()
            except BaseException:
                proc.terminate()
                proc.wait(timeout=60)
                raise
            result = read_json(out) if out.is_file() else {}
        if rc != 0 or "error" in result:
            message = result.get("error") or f"the search process exited with code {rc}"
            if result.get("exit_code") == ConfigError.exit_code:
                raise ConfigError(message)
            raise ModelError(f"{message} (see the log above)")
        reason = result.get("stop_reason")
        chunk_end = (
            reason is not None
            and reason.startswith("max_trials")
            and (cfg.max_trials is None or target < cfg.max_trials)
        )
        if not chunk_end:
            if reason is not None and reason.startswith("max_trials"):
                reason = f"max_trials={cfg.max_trials} reached"
            return reason


def run_search(
    cfg: TuneConfig,
    run_dir: str | Path,
    *,
    overwrite: bool = False,
    compare: bool = True,
    features: FeatureSet | None = None,
) -> TuneResult:
    """Run (or resume) the search that ``cfg`` describes in ``run_dir/tune/``.

    ``features``: precomputed features (tests, or a caller that already has them); by default
    they come from :func:`prepare_features`. ``compare``: after the search, train the best and
    the default head side by side and score them on the test split (single / chief only).
    Environment variables of KerasTuner's distributed mode make this process the chief or a worker
    (see :mod:`trainer.tuning.distributed`). With ``cfg.recycle_every`` set (and features stored
    on disk), a single-machine search runs in child processes that are replaced every
    ``recycle_every`` trials, so memory stays flat however long the search runs.
    """
    from trainer.rundir import library_versions
    from trainer.tuning.budget import Budget
    from trainer.tuning.compare import compare_best_with_default

    role = distributed.role()
    paths = _open_stage(run_dir)
    resuming = _check_resume(paths, cfg, overwrite, role)
    if features is None:
        features = prepare_features(cfg, run_dir)
    if role != "worker":
        from trainer.rundir import RunDir

        RunDir.open(run_dir).write_stage_config(STAGE, cfg, features=features.describe())

    session = uuid.uuid4().hex[:12]
    budget = Budget.from_minutes(cfg.max_trials, cfg.time_budget_min)
    log.info(
        "%s search (%s) in %s: %s",
        cfg.algorithm.value,
        role,
        paths.project,
        "resuming" if resuming else "new",
    )
    t0 = time.perf_counter_ns()
    if role == "single" and cfg.recycle_every is not None and features.path is not None:
        stop_reason = _search_in_children(cfg, paths, features, budget.deadline_ns, session)
    else:
        stop_reason = search_in_process(cfg, paths, features, budget, session)
    seconds = (time.perf_counter_ns() - t0) / 1e9

    rows = collect_trials(paths.project)
    run_now = [r["trial_id"] for r in rows if r.get("session") == session]
    top = best_row(rows)
    best = HeadHyperparameters.from_trial_values(top["hyperparameters"]) if top else None
    result = TuneResult(
        paths=paths,
        role=role,
        trials=rows,
        trials_run_now=run_now,
        best=best,
        best_value=top[OBJECTIVE] if top else None,
        stop_reason=stop_reason,
        seconds=seconds,
    )
    if role == "worker":
        return result

    write_trials(rows, paths.root)
    plot_objective(rows, paths.root / FIGURE)
    if best is not None:
        save_best(paths.best, best)
    if compare and best is not None:
        result.comparison = compare_best_with_default(
            features,
            best,
            max_epochs=cfg.max_epochs,
            patience=max(cfg.patience, 3),
            batch_size=cfg.batch_size,
            seed=cfg.seed,
        )
        write_json(paths.comparison, result.comparison)
    this_session = [r for r in rows if r.get("session") == session]
    result.summary = {
        "algorithm": cfg.algorithm.value,
        "role": role,
        "resumed": resuming,
        "trials_total": len(rows),
        "trials_completed": sum(r["status"] == "COMPLETED" for r in rows),
        "trials_run_now": len(run_now),
        "search_seconds": round(seconds, 1),
        "stop_reason": stop_reason,
        "best_trial": top["trial_id"] if top else None,
        f"best_{OBJECTIVE}": result.best_value,
        "best_hyperparameters": best.to_dict() if best else None,
        "memory_this_run": _memory_summary(this_session),
        "features": features.describe(),
        "versions": library_versions(),
    }
    write_json(paths.summary, result.summary)
    return result
