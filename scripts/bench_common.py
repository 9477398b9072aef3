"""Helpers shared by the scripts/bench_*.py acceptance measurements (not part of edge_runtime)."""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The default int8 model: the full export if it exists, else the quick one, else the test fixture.
BUNDLE_CANDIDATES = (
    ROOT / "runs" / "bundles" / "full",
    ROOT / "runs" / "bundles" / "quick",
    ROOT / "tests" / "fixtures" / "tiny_bundle",
)
SAMPLE_IMAGE = ROOT / "tests" / "fixtures" / "images" / "box" / "02.png"


def pick_bundle(explicit: str | None) -> Path:
    """``explicit``, or the first bundle of ``BUNDLE_CANDIDATES`` that has a manifest."""
    if explicit:
        return Path(explicit)
    for b in BUNDLE_CANDIDATES:
        if (b / "manifest.json").is_file():
            return b
    raise SystemExit("no bundle found; pass --bundle")


def add_model_args(ap: argparse.ArgumentParser) -> None:
    """--bundle / --image / --artifact: what the bench_*.py scripts measure."""
    ap.add_argument("--bundle")
    ap.add_argument("--image", default=str(SAMPLE_IMAGE))
    ap.add_argument(
        "--artifact", help="default: the bundle's default artifact if int8, else its int8 TFLite"
    )


def int8_artifact(bundle: Path) -> str:
    """The bundle's default artifact if it is an int8 TFLite, else its first int8 TFLite."""
    from edge_runtime.manifest import load_manifest

    m = load_manifest(bundle)
    default = m.artifact()
    if default.format == "tflite" and default.precision.startswith("int8"):
        return default.file
    for a in m.artifacts:
        if a.format == "tflite" and a.precision.startswith("int8"):
            return a.file
    raise SystemExit(f"{bundle} has no int8 TFLite artifact")


def machine() -> dict[str, Any]:
    from edge_runtime.bench.device import device_info, runtime_versions

    return {
        "device": device_info(),
        "versions": runtime_versions(),
        "python": platform.python_version(),
    }


def median(values: list[float]) -> float:
    return float(statistics.median(values))
