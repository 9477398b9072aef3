"""``Predictor``: a bundle's artifact, loaded, with the manifest's preprocessing in front of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.backends import Backend, open_backend
from edge_runtime.common.fileio import sha256_file
from edge_runtime.crash_guard import note_running
from edge_runtime.embedded import BARE_SUFFIXES, KEY, read_contract, warn_if_contract_differs
from edge_runtime.errors import ModelError
from edge_runtime.integrity import verify_artifact_file
from edge_runtime.manifest import Artifact, Manifest, load_manifest
from edge_runtime.polarity import PolarityChoice, check_invert_choice
from edge_runtime.prediction import DEFAULT_TOP_K, Prediction, top_indices
from edge_runtime.preprocess import (
    channel_index,
    pixel_values,
    prepare_pixels,
    prepare_with_polarity,
)
from edge_runtime.quantization import softmax


def _pixel_writer(
    table: np.ndarray, layout: str = "NHWC"
) -> Callable[[np.ndarray, np.ndarray], None]:
    """``write(pixels, out)``: pixels -> input tensor values through ``table``, written into
    ``out``; without the lookup when it is a plain shift (uint8 input taking raw pixels; int8
    input with scale 1 and zero point -128). A per-channel ``(256, C)`` table (mean/std
    normalization) is looked up per channel."""
    if table.ndim == 2:

        def write(pixels: np.ndarray, out: np.ndarray) -> None:
            out[...] = table[pixels, channel_index(table, pixels.ndim, layout)]

        return write
    shift = table.astype(np.int64) - np.arange(256)
    if table.dtype == np.uint8 and not shift.any():
        return lambda pixels, out: np.copyto(out, pixels)
    if table.dtype == np.int8 and (shift == -128).all():
        return lambda pixels, out: np.bitwise_xor(pixels, np.uint8(0x80), out=out.view(np.uint8))
    # mode="clip" lets take write straight into ``out``; uint8 indices are always in range.
    return lambda pixels, out: np.take(table, pixels, out=out, mode="clip")


class Predictor:
    """Classify decoded images with one artifact of a bundle.

    Thread-safe: calls into the runtime are serialised by a lock (an interpreter is not safe to
    share), preprocessing runs outside it so several threads still overlap their image work.
    """

    def __init__(
        self,
        bundle_dir: Path,
        manifest: Manifest,
        artifact: Artifact,
        backend: Backend,
        polarity: PolarityChoice = "auto",
        top_k: int = DEFAULT_TOP_K,
    ) -> None:
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.artifact = artifact
        self.backend = backend
        self.polarity = check_invert_choice(polarity, "polarity=")
        self.top_k = top_k
        self._lock = threading.Lock()
        # Preprocessing yields uint8 pixels, so the manifest's value range and the artifact's
        # input quantization together are one 256-entry table: pixel -> input tensor value.
        self._input_table = backend.quantize_input(pixel_values(manifest.input))
        self._write_input = _pixel_writer(self._input_table, manifest.input.layout)
        self._logits = manifest.output.kind == "logits"

    @classmethod
    def from_bundle(
        cls,
        bundle_dir: str | Path,
        artifact: str | None = None,
        threads: int | None = None,
        *,
        polarity: PolarityChoice = "auto",
        top_k: int = DEFAULT_TOP_K,
        verify_hashes: bool = True,
        isolate: bool = False,
    ) -> Predictor:
        """Load ``artifact`` (its key such as ``tflite_int8``, its file name, or
        ``format:precision``; default: the manifest's default).

        ``threads``: the runtime's CPU threads (None: the runtime's default). The model file's
        sha256 must equal the manifest's (``IntegrityError`` otherwise; ``verify_hashes=False``
        skips that with a warning), and the loaded model must match the manifest (tensor shapes,
        dtypes, quantization): a mismatch is a ``ModelError`` naming every difference.
        ``isolate``: the runtime runs in a child process that is restarted after a native crash
        (the call in flight raises ``RuntimeCrashedError``); the service's workers use it.
        """
        if threads is not None and threads < 1:
            raise ModelError(
                f"threads={threads} must be at least 1 (or unset for the runtime default)"
            )
        bundle = Path(bundle_dir)
        if bundle.is_file() and bundle.suffix.lower() in BARE_SUFFIXES:
            if artifact is not None:
                raise ModelError(
                    f"{bundle} is one model file; choosing an artifact (--artifact {artifact}) "
                    "needs its bundle folder"
                )
            return cls.from_artifact(
                bundle, threads, polarity=polarity, top_k=top_k, isolate=isolate
            )
        manifest = load_manifest(bundle)
        if not manifest.artifacts:
            raise ModelError(f"bundle {bundle} lists no artifacts in its manifest")
        chosen = manifest.artifact(artifact)
        # Only the artifact that runs is hashed: the others may be absent from a trimmed bundle.
        verify_artifact_file(bundle / chosen.file, chosen.sha256, verify=verify_hashes)
        note_running(bundle / chosen.file, chosen.format)
        backend = open_backend(bundle / chosen.file, chosen, threads, isolate=isolate)
        backend.check(manifest.input)
        props = getattr(backend, "metadata_props", None)  # ONNX: the session has read them
        warn_if_contract_differs(
            bundle / chosen.file, manifest, chosen, props() if callable(props) else None
        )
        return cls(bundle, manifest, chosen, backend, polarity=polarity, top_k=top_k)

    @classmethod
    def from_artifact(
        cls,
        path: str | Path,
        threads: int | None = None,
        *,
        polarity: PolarityChoice = "auto",
        top_k: int = DEFAULT_TOP_K,
        isolate: bool = False,
    ) -> Predictor:
        """Load a bare ``.tflite`` / ``.onnx`` file, away from its bundle: labels, input size,
        colour, normalization, polarity and resize mode come from the contract embedded in the
        file (``edge_runtime.embedded``). There is no manifest to check its hash against."""
        p = Path(path)
        contract = read_contract(p)
        if contract is None:
            raise ModelError(
                f"{p} carries no edgetk metadata ({KEY}); run it through its bundle folder "
                "(the folder with manifest.json), or re-export it with this edgetk"
            )
        manifest = contract.manifest(p.name, sha256_file(p), p.stat().st_size)
        chosen = manifest.artifacts[0]
        note_running(p, chosen.format)
        backend = open_backend(p, chosen, threads, isolate=isolate)
        backend.check(manifest.input)
        return cls(p.parent, manifest, chosen, backend, polarity=polarity, top_k=top_k)

    @property
    def runtime(self) -> str:
        """The runtime library running the artifact, with its version."""
        return self.backend.runtime

    @property
    def labels(self) -> tuple[str, ...]:
        return self.manifest.labels

    def preprocess(
        self, image: np.ndarray, bgr: bool = False, polarity: PolarityChoice | None = None
    ) -> np.ndarray:
        """One decoded uint8 image -> the float model input the manifest describes."""
        return prepare_with_polarity(image, self.manifest.input, polarity or self.polarity, bgr)[0]

    def predict_batch(self, x: np.ndarray) -> np.ndarray:
        """Preprocessed float batch ``(N, H, W, C)`` -> probabilities ``(N, classes)``."""
        x = np.asarray(x, dtype=np.float32)
        with self._lock:
            out = self.backend.run(x)
        if self.manifest.output.kind == "logits":
            out = softmax(out)
        return out

    def predict(
        self,
        images: Sequence[np.ndarray],
        *,
        top_k: int | None = None,
        bgr: bool = False,
        polarity: PolarityChoice | None = None,
    ) -> list[Prediction]:
        """Classify decoded ``HxWxC`` uint8 images (RGB, or BGR camera frames with ``bgr=True``)."""
        if not len(images):
            return []
        pol = check_invert_choice(polarity, "polarity=") if polarity else self.polarity
        spec = self.manifest.input
        clock = time.perf_counter_ns
        prepared = []
        for image in images:
            t0 = clock()
            plane, inv = prepare_pixels(image, spec, pol, bgr)
            prepared.append((plane, inv, clock() - t0))
        t0 = clock()
        planes = prepared[0][0][None] if len(prepared) == 1 else np.stack([p[0] for p in prepared])
        write = self._write_input
        with self._lock:
            probs = self.backend.run_filled(planes.shape, lambda buf: write(planes, buf))
        if self._logits:
            probs = softmax(probs)
        model_ns = (clock() - t0) / len(prepared)
        k = top_k or self.top_k
        labels = self.manifest.labels
        results = []
        for p, (_, inv, ns) in zip(probs, prepared):
            values = p.tolist()
            idx = top_indices(values, k)
            top = idx[0]
            results.append(
                Prediction(
                    index=top,
                    label=labels[top],
                    probability=values[top],
                    top_k=[(labels[i], values[i]) for i in idx],
                    probabilities=p,
                    latency_ms=(ns + model_ns) / 1e6,
                    inverted=inv,
                )
            )
        return results

    def run_planes(self, planes: np.ndarray) -> np.ndarray:
        """Prepared uint8 planes ``(N, H, W, C)`` (``prepare_pixels``) -> probabilities."""
        write = self._write_input
        with self._lock:
            probs = self.backend.run_filled(planes.shape, lambda buf: write(planes, buf))
        return softmax(probs) if self._logits else probs

    def explain(
        self,
        image: np.ndarray,
        *,
        target: int | str | None = None,
        max_passes: int | None = None,
        bgr: bool = False,
        polarity: PolarityChoice | None = None,
    ) -> Any:
        """Occlusion saliency of one decoded uint8 image with this artifact
        (``edge_runtime.explain``): for the predicted class, or ``target`` (index or label)."""
        from edge_runtime.explain import DEFAULT_MAX_PASSES, explain_plane

        pol = check_invert_choice(polarity, "polarity=") if polarity else self.polarity
        plane, _ = prepare_pixels(image, self.manifest.input, pol, bgr)
        index = None
        if target is not None:
            names = self.labels
            index = names.index(target) if isinstance(target, str) and target in names else target
            if not isinstance(index, int) or not 0 <= index < len(names):
                raise ValueError(
                    f"target={target!r} is not a class of this bundle; use one of {list(names)} "
                    f"or an index 0..{len(names) - 1}"
                )
        return explain_plane(
            self.run_planes, plane, self.labels, index, max_passes or DEFAULT_MAX_PASSES
        )

    def close(self) -> None:
        """Release the runtime."""
        with self._lock:
            self.backend.close()


__all__ = ["Predictor"]
