"""Small data: the chosen candidate retrained on the whole training split before it ships.

Cross-validation (trainer/pipeline/crossval.py) scored a procedure: each candidate trained on the
training images of a fold, validation images included, with no validation split to stop on (early
stopping watches training accuracy). The candidate models of the main run were trained another
way: on the training images less a validation split of a few images, stopped on those few. On a
few hundred images that split holds 5 to 10 % of the data, and stopping on it is noise.

So once the select stage has chosen a candidate on that evidence, the procedure cross-validation
scored is run once more on all the images it saw (training and validation), in
``<run>/refit/`` (its own registry, so a fine-tune starts from a transfer model retrained the same
way), and that model is what the bundle exports at the chosen precision, behind the same gate.
The test split is not read to decide anything here: the refit's own evaluation on it is written
for the report, as every stage's is.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import read_json, write_json

log = logging.getLogger(__name__)

REFIT_DIR = "refit"
RECORD_NAME = "refit.json"


def chain(chosen: str, candidates: list[Any]) -> list[str]:
    """The candidates to retrain, in order: ``chosen``, after the transfer model it fine-tunes."""
    c = next(c for c in candidates if c.name == chosen)
    if c.kind == "finetune":
        return ["transfer", chosen]
    return [chosen]


def _all_training_images(ds: Any, data_config: Any):
    """``ds`` with the validation images back in its training split, and the split config that
    keeps none out (the folds' construction, trainer/pipeline/crossval.py)."""
    from trainer.data import Dataset, make_splits
    from trainer.pipeline.crossval import training_pool

    x, y, cfg, n_train, n_val = training_pool(ds, data_config)
    splits = make_splits(ds, data_config)
    full = Dataset(
        x,
        y,
        splits.x_test,
        splits.y_test,
        ds.class_names,
        name=f"{ds.name}-refit",
        source=f"{ds.source} (training and validation images)",
        polarity=ds.polarity,
        input_spec=ds.input_spec,
    )
    return full, cfg, n_train, n_val


def run_refit(
    run_dir: Path,
    ds: Any,
    data_config: Any,
    chosen: str,
    candidates: list[Any],
    stage_config: Any,
) -> dict[str, Any]:
    """Retrain ``chosen`` (and its transfer source) on every training image; write
    ``<run>/refit.json``. ``stage_config(name)``: the candidate's settings in this run."""
    from edge_runtime.common.errors import CollapseError
    from trainer.registry import get_model
    from trainer.training.runner import run_stage

    run_dir = Path(run_dir)
    full, cfg, n_train, n_val = _all_training_images(ds, data_config)
    out = run_dir / REFIT_DIR
    t0 = time.perf_counter()
    trained: dict[str, Any] = {}
    images = int(len(full.y_train))
    record: dict[str, Any] = {
        "schema": 1,
        "candidate": chosen,
        "images": images,
        "main_run_images": {"train": n_train, "validation": n_val},
        "why": (
            f"cross-validation scored {chosen} trained on every image of a fold with no validation "
            f"split to stop on; the shipped model is that procedure on all {images} "
            f"training images ({n_train} training + {n_val} validation), not the main run's model "
            f"trained on {n_train} and stopped on {n_val}"
        ),
        "model": None,
        "retrained": trained,
    }
    for name in chain(chosen, candidates):
        try:
            res = run_stage(out, stage_config(name).replace(gradcam=False), cfg, dataset=full)
        except CollapseError as exc:
            # Nothing usable to ship from the refit: the main run's artifact ships (the bundle
            # stage reads "model": None), and the record says why.
            log.warning("refit: %s collapsed; the main run's artifact ships: %s", name, exc)
            record["collapsed"] = f"{name}: {exc}"
            record["why"] = (
                f"the refit of {name} on all {images} training images collapsed, so the main "
                "run's model ships"
            )
            break
        trained[name] = {
            "epochs_run": res.epochs_run,
            "train_seconds": round(res.train_seconds, 1),
            "test_accuracy": res.metrics.get("accuracy"),
        }
        log.info("refit: %s on %d images, %d epochs", name, images, res.epochs_run)
    else:
        record["model"] = str(Path(get_model(out, chosen).path).relative_to(run_dir))
    record["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(run_dir / RECORD_NAME, record)
    return record


def load_record(run_dir: Path) -> dict[str, Any] | None:
    """``<run>/refit.json`` when this run retrained its chosen candidate, else None."""
    path = Path(run_dir) / RECORD_NAME
    return read_json(path) if path.is_file() else None


def model_dir(run_dir: Path, candidate: str) -> Path:
    """The folder of the model that ships for ``candidate``: the refit when this run made one for
    it, else the registry's latest version of the candidate."""
    from trainer.registry import get_model

    rec = load_record(run_dir)
    if rec and rec.get("candidate") == candidate and rec.get("model"):
        return Path(run_dir) / rec["model"]
    return Path(get_model(run_dir, candidate).path)


__all__ = ["RECORD_NAME", "REFIT_DIR", "chain", "load_record", "model_dir", "run_refit"]
