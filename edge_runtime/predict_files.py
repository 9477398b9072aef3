"""Classify files and folders with a bundle; evaluate labelled folders with the same code path."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError
from edge_runtime.errors import DataError, ImageDecodeError
from edge_runtime.inputs import InputItem, collect_inputs, collect_split
from edge_runtime.polarity import check_invert_choice
from edge_runtime.prediction import DEFAULT_TOP_K, Prediction
from edge_runtime.predictor import Predictor
from edge_runtime.preprocess import MAX_PIXELS, load_image

if TYPE_CHECKING:  # loaded when used: a labelled folder, a split file
    from edge_runtime.evaluation import Evaluation

log = logging.getLogger(__name__)

OUTPUT_FORMATS: tuple[str, ...] = ("table", "jsonl", "csv")


@dataclass(frozen=True)
class PredictConfig(JsonConfig):
    """What ``edgetk predict`` runs."""

    bundle: str
    paths: tuple[str, ...]
    artifact: str | None = None  # file name or format:precision; None: the manifest's default
    top_k: int = DEFAULT_TOP_K
    threads: int | None = None  # None: the runtime's default
    polarity: str = "auto"  # invert: auto, never or always (edge_runtime.polarity)
    batch_size: int = 16  # images per runtime call (the model may force 1)
    max_pixels: int | None = MAX_PIXELS  # refuse bigger pictures before decoding them
    # A split file (<run>/splits/test.txt): classify exactly the images it lists, under the one
    # data folder in ``paths``, and evaluate them against their class folders.
    split_file: str | None = None
    # Occlusion saliency overlays (edge_runtime/explain.py), one PNG per image, in this folder.
    explain_dir: str | None = None
    explain_max_passes: int = 256

    def validate(self) -> None:
        if not self.paths:
            raise ConfigError("no PATH given; pass image files or folders to classify")
        if self.top_k < 1:
            raise ConfigError(f"top_k={self.top_k} must be at least 1")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads={self.threads} must be at least 1")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size} must be at least 1")
        check_invert_choice(self.polarity, "polarity=")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ConfigError(f"max_pixels={self.max_pixels} must be positive (or unset)")
        if self.explain_max_passes < 1:
            raise ConfigError(f"explain_max_passes={self.explain_max_passes} must be at least 1")
        if self.split_file is not None and len(self.paths) != 1:
            raise ConfigError(
                f"--split-file takes exactly one DATA_DIR (the folder the split's paths are "
                f"relative to), got {len(self.paths)} paths"
            )


@dataclass(frozen=True)
class FileResult:
    """One file's outcome: a prediction, or the reason it was skipped."""

    path: Path
    prediction: Prediction | None
    error: str | None = None
    true_label: str | None = None


@dataclass
class PredictReport:
    artifact: str
    classified: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    evaluation: Evaluation | None = None
    explained: list[tuple[Path, Path, float]] = field(default_factory=list)  # image, png, ms


def predict_files(
    config: PredictConfig,
    on_result: Callable[[FileResult], None] | None = None,
    predictor: Predictor | None = None,
) -> PredictReport:
    """Classify every file ``config.paths`` names, streaming each outcome to ``on_result``.

    Unreadable files are reported (``FileResult.error``) and skipped. When every path is a
    labelled folder (one subfolder per class), the report carries an ``Evaluation``.
    """
    if predictor is None:
        predictor = Predictor.from_bundle(
            config.bundle, config.artifact, config.threads, polarity=config.polarity
        )
    labels = predictor.labels
    if config.split_file is not None:
        from edge_runtime.split_file import read_split_file

        rel = read_split_file(config.split_file)
        items, labelled = collect_split(config.paths[0], rel, labels), True
    else:
        items, labelled = collect_inputs(config.paths, labels)
    report = PredictReport(artifact=predictor.artifact.file)
    y_true: list[int] = []
    y_pred: list[int] = []
    explain_names: set[str] = set()  # overlay file names written so far

    def flush(batch: list[tuple[InputItem, np.ndarray | None, str | None]]) -> None:
        # Outcomes are emitted in input order, unreadable files included.
        images = [img for _, img, _ in batch if img is not None]
        preds = iter(predictor.predict(images, top_k=config.top_k) if images else [])
        for item, img, error in batch:
            if img is None:
                if on_result:
                    on_result(FileResult(item.path, None, error))
                continue
            pred = next(preds)
            report.classified += 1
            true_label = None if item.true_index is None else labels[item.true_index]
            if item.true_index is not None:
                y_true.append(item.true_index)
                y_pred.append(pred.index)
            if on_result:
                on_result(FileResult(item.path, pred, None, true_label))
            if config.explain_dir is not None:
                _explain(predictor, img, pred.index, item.path, config, report, explain_names)
        batch.clear()

    batch: list[tuple[InputItem, np.ndarray | None, str | None]] = []
    for item in items:
        try:
            batch.append((item, load_image(item.path, config.max_pixels), None))
        except ImageDecodeError as exc:
            report.skipped.append((item.path, str(exc)))
            log.warning("skipped: %s", exc)
            batch.append((item, None, str(exc)))
        if sum(img is not None for _, img, _ in batch) >= config.batch_size:
            flush(batch)
    flush(batch)
    if report.classified == 0:
        raise DataError(
            f"none of the {len(items)} file(s) could be read as an image; nothing was classified"
        )
    if labelled:
        from edge_runtime.evaluation import evaluate

        report.evaluation = evaluate(y_true, y_pred, labels)
    return report


def _explain(
    predictor: Predictor,
    image: np.ndarray,
    index: int,
    path: Path,
    config: PredictConfig,
    report: PredictReport,
    used: set[str],
) -> None:
    """The image's occlusion map for its predicted class, drawn over it, as ``DIR/<name>.png``
    (``used``: the names written so far; the same file name in two folders gets ``-2``, ...)."""
    from edge_runtime.explain import save_overlay

    e = predictor.explain(image, target=index, max_passes=config.explain_max_passes)
    name, n = f"{path.stem}.png", 1
    while name in used:
        n += 1
        name = f"{path.stem}-{n}.png"
    used.add(name)
    png = save_overlay(
        Path(config.explain_dir or ".") / name, image, e, predictor.manifest.input.resize
    )
    report.explained.append((path, png, e.ms))


__all__ = ["OUTPUT_FORMATS", "FileResult", "PredictConfig", "PredictReport", "predict_files"]
