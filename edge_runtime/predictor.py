"""``Predictor``: a bundle's artifact, loaded, with the manifest's preprocessing in front of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_runtime.backends import Backend, open_backend
from edge_runtime.errors import ModelError
from edge_runtime.manifest import Artifact, Manifest, load_manifest
from edge_runtime.polarity import PolarityChoice, check_polarity_choice
from edge_runtime.prediction import Prediction, top_indices
from edge_runtime.preprocess import pixel_values, prepare_pixels, prepare_with_polarity
from edge_runtime.quantization import softmax


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
        top_k: int = 5,
    ) -> None:
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.artifact = artifact
        self.backend = backend
        self.polarity = check_polarity_choice(polarity)
        self.top_k = top_k
        self._lock = threading.Lock()
        # Preprocessing yields uint8 pixels, so the manifest's value range and the artifact's
        # input quantization together are one 256-entry table: pixel -> input tensor value.
        self._input_table = backend.quantize_input(pixel_values(manifest.input))

    @classmethod
    def from_bundle(
        cls,
        bundle_dir: str | Path,
        artifact: str | None = None,
        threads: int | None = None,
        *,
        polarity: PolarityChoice = "auto",
        top_k: int = 5,
        verify_hashes: bool = False,
    ) -> Predictor:
        """Load ``artifact`` (file name or ``format:precision``; default: the manifest's default).

        ``threads``: the runtime's CPU threads (None: the runtime's default). The model file is
        checked against the manifest (tensor shapes, dtypes, quantization): a mismatch is a
        ``ModelError`` naming every difference.
        """
        if threads is not None and threads < 1:
            raise ModelError(
                f"threads={threads} must be at least 1 (or unset for the runtime default)"
            )
        bundle = Path(bundle_dir)
        manifest = load_manifest(bundle, verify_hashes=verify_hashes)
        if not manifest.artifacts:
            raise ModelError(f"bundle {bundle} lists no artifacts in its manifest")
        chosen = manifest.artifact(artifact)
        backend = open_backend(bundle / chosen.file, chosen, threads)
        backend.check(manifest.input)
        return cls(bundle, manifest, chosen, backend, polarity=polarity, top_k=top_k)

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
        pol = check_polarity_choice(polarity) if polarity else self.polarity
        spec = self.manifest.input
        prep_ns, planes, inverted = [], [], []
        for image in images:
            t0 = time.perf_counter_ns()
            plane, inv = prepare_pixels(image, spec, pol, bgr)
            prep_ns.append(time.perf_counter_ns() - t0)
            planes.append(plane)
            inverted.append(inv)
        t0 = time.perf_counter_ns()
        q = self._input_table[planes[0][None] if len(planes) == 1 else np.stack(planes)]
        with self._lock:
            probs = self.backend.run_quantized(q)
        if self.manifest.output.kind == "logits":
            probs = softmax(probs)
        model_ns = (time.perf_counter_ns() - t0) / len(planes)
        k = top_k or self.top_k
        labels = self.labels
        results = []
        for p, ns, inv in zip(probs, prep_ns, inverted):
            idx = top_indices(p, k)
            results.append(
                Prediction(
                    index=idx[0],
                    label=labels[idx[0]],
                    probability=float(p[idx[0]]),
                    top_k=[(labels[i], float(p[i])) for i in idx],
                    probabilities=p,
                    latency_ms=(ns + model_ns) / 1e6,
                    inverted=inv,
                )
            )
        return results

    def close(self) -> None:
        """Release the runtime."""
        with self._lock:
            self.backend.close()


__all__ = ["Predictor"]
