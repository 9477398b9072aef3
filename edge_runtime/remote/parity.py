"""On-device parity: the same labelled images through the same artifact here and on the device.

Integer kernels differ between x86 and ARM, so an artifact that passed the gate here can still
answer differently there; this measures by how much, per artifact: the device's accuracy and its
top-1 agreement with this machine, with the sample size beside every number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError, DataError
from edge_runtime.remote.push import Blob


@dataclass(frozen=True)
class ParityImage:
    path: Path
    true_index: int
    blob: Blob


def pick_images(
    folder: Path, labels: Sequence[str], n: int, split_file: Path | None = None
) -> list[ParityImage]:
    """``n`` labelled images from ``folder`` (one subfolder per class), classes interleaved so a
    small ``n`` still covers every class; with ``split_file`` only the files it lists (paths
    relative to ``folder``, one per line: a run's saved test split)."""
    from edge_runtime.inputs import collect_inputs

    if n < 1:
        raise ConfigError(f"--check-parity {n}: give the number of images, at least 1")
    items, labelled = collect_inputs([folder], labels)
    if not labelled:
        raise DataError(
            f"--parity-data-dir {folder} is not a labelled folder (one subfolder per class named "
            "after the bundle's labels)"
        )
    if split_file is not None:
        try:
            wanted = {
                ln.strip()
                for ln in split_file.read_text(encoding="utf-8").splitlines()
                if ln.strip()
            }
        except FileNotFoundError:
            raise DataError(f"--split-file {split_file}: no such file") from None
        items = [i for i in items if str(i.path.relative_to(folder)) in wanted]
        if not items:
            raise DataError(f"--split-file {split_file} lists none of the images in {folder}")
    by_class: dict[int, list[Any]] = {}
    for item in items:
        by_class.setdefault(int(item.true_index or 0), []).append(item)
    order = []
    depth = 0
    while len(order) < min(n, len(items)):
        for cls in sorted(by_class):
            if depth < len(by_class[cls]):
                order.append(by_class[cls][depth])
        depth += 1
    chosen = order[:n]
    return [ParityImage(i.path, int(i.true_index), Blob.of(i.path)) for i in chosen]


def local_top1(
    bundle: Path, artifact: str, images: list[ParityImage], polarity: str = "auto"
) -> list[int]:
    """Top-1 class indices of ``artifact`` on this machine for ``images``."""
    from edge_runtime.predictor import Predictor
    from edge_runtime.preprocess import load_image

    predictor = Predictor.from_bundle(bundle, artifact, polarity=polarity)  # type: ignore[arg-type]
    try:
        decoded = [load_image(i.path) for i in images]
        out: list[int] = []
        for start in range(0, len(decoded), 32):
            out += [p.index for p in predictor.predict(decoded[start : start + 32], top_k=1)]
        return out
    finally:
        predictor.close()


def compare(images: list[ParityImage], device: list[int], here: list[int]) -> dict[str, Any]:
    """Accuracy on the device and here, top-1 agreement, and which images disagree."""
    if len(device) != len(images) or len(here) != len(images):
        raise DataError(
            f"parity: {len(images)} images but {len(device)} device / {len(here)} local answers"
        )
    truth = [i.true_index for i in images]
    n = len(images)
    agree = sum(d == h for d, h in zip(device, here))
    return {
        "n": n,
        "device_correct": sum(d == t for d, t in zip(device, truth)),
        "device_accuracy": sum(d == t for d, t in zip(device, truth)) / n,
        "local_accuracy": sum(h == t for h, t in zip(here, truth)) / n,
        "top1_agree": agree,
        "top1_agreement": agree / n,
        "disagreements": [
            {"image": images[k].path.name, "device": device[k], "local": here[k], "true": truth[k]}
            for k in range(n)
            if device[k] != here[k]
        ],
    }


def format_parity(name: str, parity: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for art, p in parity.items():
        lines.append(
            f"  {name:<16} {art:<24} device acc {p['device_accuracy']:.4f} "
            f"({p['device_correct']}/{p['n']}), here {p['local_accuracy']:.4f}, "
            f"top-1 agreement {p['top1_agree']}/{p['n']}"
        )
    return lines


__all__ = ["ParityImage", "compare", "format_parity", "local_top1", "pick_images"]
