"""The Python API of the device side: a bundle loaded for use in your own code.

    import edgetk

    bundle = edgetk.load("runs/quick/bundle")
    pred = bundle.predict("shirt.png")            # one path or image -> one Prediction
    pred.label, pred.score, pred.top_k
    preds = bundle.predict([img_a, "b.png"])      # a list (or an N x H x W x C array) -> a list
    bundle.evaluate("labelled_folder/").accuracy  # one subfolder per label

TensorFlow-free like the rest of ``edge_runtime``: numpy, Pillow and a runtime. Images are what a
decoder gives: ``uint8`` pixels, ``H x W`` (grey) or ``H x W x C`` (grey, RGB or RGBA); the
bundle's manifest says how they are resized, coloured and scaled for its model, exactly as
``edgetk predict`` does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any, Union

import numpy as np

from edge_runtime.common.errors import DataError
from edge_runtime.evaluation import Evaluation
from edge_runtime.manifest import Artifact, Manifest
from edge_runtime.polarity import PolarityChoice
from edge_runtime.prediction import DEFAULT_TOP_K, Prediction
from edge_runtime.predictor import Predictor
from edge_runtime.preprocess import load_image

Image = Union[str, "PathLike[str]", np.ndarray]


def _as_image(item: Image, where: str) -> np.ndarray:
    if isinstance(item, (str, PathLike)):
        return load_image(Path(item))
    if not isinstance(item, np.ndarray):
        raise DataError(
            f"{where}: expected an image path or a numpy array, got {type(item).__name__}"
        )
    if item.dtype != np.uint8:
        raise DataError(
            f"{where}: pixels must be uint8 (0..255, as a decoder gives them), got {item.dtype}; "
            "convert with np.clip(x, 0, 255).astype(np.uint8) (times 255 first if x is in 0..1)"
        )
    if item.ndim == 2:
        return item[..., None]
    if item.ndim == 3 and item.shape[-1] in (1, 3, 4):
        return item
    raise DataError(
        f"{where}: an image is H x W or H x W x C with C in 1, 3, 4; got shape {item.shape}"
    )


class Bundle:
    """One artifact of a device bundle, loaded: ``predict`` images, ``evaluate`` folders."""

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor

    @property
    def labels(self) -> tuple[str, ...]:
        return self._predictor.labels

    @property
    def manifest(self) -> Manifest:
        return self._predictor.manifest

    @property
    def artifact(self) -> Artifact:
        """The artifact that runs (the manifest's default unless ``load`` chose another)."""
        return self._predictor.artifact

    @property
    def runtime(self) -> str:
        """The runtime library and version running it, e.g. ``ai-edge-litert 1.4.0``."""
        return self._predictor.runtime

    def predict(
        self,
        images: Image | Sequence[Image],
        *,
        top_k: int | None = None,
        polarity: PolarityChoice | None = None,
    ) -> Prediction | list[Prediction]:
        """Classify one image (a path or an array) or several (a list, or an ``N x H x W x C``
        array). One image gives one ``Prediction``; several give a list, in order."""
        if isinstance(images, np.ndarray) and images.ndim == 4:
            batch = [_as_image(img, f"images[{i}]") for i, img in enumerate(images)]
            return self._predictor.predict(batch, top_k=top_k, polarity=polarity)
        if isinstance(images, (list, tuple)):
            batch = [_as_image(img, f"images[{i}]") for i, img in enumerate(images)]
            return self._predictor.predict(batch, top_k=top_k, polarity=polarity)
        (one,) = self._predictor.predict(
            [_as_image(images, "image")], top_k=top_k, polarity=polarity
        )
        return one

    def explain(
        self,
        image: Image,
        *,
        target: int | str | None = None,
        max_passes: int | None = None,
        polarity: PolarityChoice | None = None,
    ) -> Any:
        """Which pixels the answer rests on, computed by this artifact's own runtime (occlusion,
        ``edge_runtime.explain``): an ``Explanation`` whose ``saliency`` is an H x W map in 0..1
        at the model's input size, for the predicted class or ``target`` (a label or an index).
        ``edge_runtime.explain.overlay(image, e.saliency)`` draws it over the picture."""
        try:
            return self._predictor.explain(
                _as_image(image, "image"), target=target, max_passes=max_passes, polarity=polarity
            )
        except ValueError as exc:
            raise DataError(str(exc)) from None

    def evaluate(
        self, folder: str | PathLike[str], *, split_file: str | PathLike[str] | None = None
    ) -> Evaluation:
        """Accuracy, macro-F1, per-class precision / recall / F1 and the confusion matrix on a
        labelled folder (one subfolder per label); ``split_file``: only the images a run's
        ``splits/test.txt`` lists under ``folder``."""
        from edge_runtime.predict_files import PredictConfig, predict_files

        config = PredictConfig(
            bundle=str(self._predictor.bundle_dir),
            paths=(str(folder),),
            split_file=None if split_file is None else str(split_file),
        )
        report = predict_files(config, predictor=self._predictor)
        if report.evaluation is None:
            raise DataError(
                f"{folder} is not a labelled folder: it needs one subfolder per label "
                f"({', '.join(self.labels[:4])}{', ...' if len(self.labels) > 4 else ''})"
            )
        return report.evaluation

    def close(self) -> None:
        """Release the runtime."""
        self._predictor.close()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Bundle({self.manifest.name!r}, artifact={self.artifact.file!r}, "
            f"labels={len(self.labels)}, runtime={self.runtime!r})"
        )


def load(
    bundle: str | PathLike[str],
    artifact: str | None = None,
    *,
    threads: int | None = None,
    polarity: PolarityChoice = "auto",
    top_k: int = DEFAULT_TOP_K,
    verify: bool = True,
) -> Bundle:
    """Load a bundle folder (``edgetk run``'s ``<run>/bundle``, or ``edgetk export``'s output),
    or one ``.tflite`` / ``.onnx`` file edgetk exported, run from the contract embedded in it
    (``artifact`` and ``verify`` are then moot: there is no manifest to choose from or hash by).

    ``artifact``: an artifact key (``tflite_int8``), a file name (``model_fp32.tflite``) or
    ``format:precision``; default: the manifest's default. ``threads``: the runtime's CPU threads
    (default: the runtime's choice). ``polarity``: whether to invert a picture of the other
    polarity than the training images, ``auto``, ``never`` or ``always`` (the CLI's
    ``--invert``). ``verify``: check the artifact's sha256 against the manifest first.
    """
    predictor = Predictor.from_bundle(
        bundle, artifact, threads, polarity=polarity, top_k=top_k, verify_hashes=verify
    )
    return Bundle(predictor)


__all__ = ["Bundle", "load"]
