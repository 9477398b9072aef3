"""The trials table (CSV + JSON) and the figure of the objective against each hyperparameter.

Everything is read back from the project folder (KerasTuner's ``trial_*/trial.json`` plus our
``trial_stats/*.json``), so the chief of a distributed search, a resumed search and a finished one
all report the same way.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import atomic_path, read_json, write_json, write_text
from trainer.tuning.metric import OBJECTIVE
from trainer.tuning.paths import STATS_DIR

TRIALS_JSON = "trials.json"
TRIALS_CSV = "trials.csv"
FIGURE = "objective_vs_hyperparameters.png"
LOG_SCALE = frozenset({"learning_rate"})


def _best_observation(trial: dict[str, Any], name: str) -> float | None:
    metric = trial.get("metrics", {}).get("metrics", {}).get(name)
    if not metric:
        return None
    values = [v for obs in metric.get("observations", []) for v in obs.get("value", [])]
    return max(values) if values else None


def collect_trials(project_dir: str | Path) -> list[dict[str, Any]]:
    """One row per trial, in trial-id order: id, status, hyperparameters, objective, cost."""
    project = Path(project_dir)
    rows = []
    for path in sorted(project.glob("trial_*/trial.json")):
        trial = read_json(path)
        tid = trial["trial_id"]
        values = dict(trial.get("hyperparameters", {}).get("values", {}))
        stats_path = project / STATS_DIR / f"{tid}.json"
        stats = read_json(stats_path) if stats_path.is_file() else {}
        score = trial.get("score")
        rows.append(
            {
                "trial_id": tid,
                "status": trial.get("status"),
                "hyperparameters": {k: v for k, v in values.items() if not k.startswith("tuner/")},
                "hyperband": {k[6:]: v for k, v in values.items() if k.startswith("tuner/")},
                OBJECTIVE: score if score is not None else _best_observation(trial, OBJECTIVE),
                "val_accuracy": _best_observation(trial, "val_accuracy"),
                "best_step": trial.get("best_step"),
                "epochs": stats.get("epochs"),
                "seconds": stats.get("seconds"),
                "peak_rss_mb": stats.get("peak_rss_mb"),
                "rss_after_cleanup_mb": stats.get("rss_after_cleanup_mb"),
                "tuner_id": stats.get("tuner_id"),
                "session": stats.get("session"),
            }
        )
    return rows


def write_trials(rows: list[dict[str, Any]], folder: Path) -> tuple[Path, Path]:
    """``trials.json`` (nested, exact) and ``trials.csv`` (flat, one column per hyperparameter)."""
    json_path = write_json(folder / TRIALS_JSON, rows)
    hp_names = sorted({k for r in rows for k in r["hyperparameters"]})
    columns = [
        "trial_id",
        "status",
        *hp_names,
        OBJECTIVE,
        "val_accuracy",
        "epochs",
        "seconds",
        "peak_rss_mb",
        "rss_after_cleanup_mb",
        "tuner_id",
        "hyperband_parent",
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        flat = {c: r.get(c) for c in columns}
        flat.update({k: r["hyperparameters"].get(k) for k in hp_names})
        flat["hyperband_parent"] = r["hyperband"].get("trial_id")
        writer.writerow(flat)
    csv_path = write_text(folder / TRIALS_CSV, buf.getvalue())
    return json_path, csv_path


def plot_objective(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """One panel per hyperparameter: ``val_macro_f1`` of every completed trial against its value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r[OBJECTIVE] is not None]
    names = sorted({k for r in done for k in r["hyperparameters"]})
    if not done or not names:
        return None
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.3 * nrows), squeeze=False)
    best = max(r[OBJECTIVE] for r in done)
    for ax, name in zip(axes.flat, names):
        pts = [
            (r["hyperparameters"][name], r[OBJECTIVE]) for r in done if name in r["hyperparameters"]
        ]
        xs, ys = zip(*pts)
        colors = ["tab:red" if y == best else "tab:blue" for y in ys]
        ax.scatter(xs, ys, c=colors, s=18, alpha=0.8)
        if name in LOG_SCALE and min(xs) > 0:
            ax.set_xscale("log")
        elif name in LOG_SCALE:
            ax.set_xscale("symlog", linthresh=1e-6)
        ax.set_xlabel(name)
        ax.set_ylabel(OBJECTIVE)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"{len(done)} trials; best {OBJECTIVE} = {best:.4f} (red)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The completed trial with the highest objective (ties: the earliest)."""
    done = [r for r in rows if r[OBJECTIVE] is not None]
    if not done:
        return None
    return max(done, key=lambda r: (r[OBJECTIVE], -int(r["trial_id"])))
