"""Helpers shared by the scripts/bench_*.py acceptance measurements (not part of edge_runtime)."""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import sys
from collections.abc import Sequence
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


def shown_path(path: str | os.PathLike[str], under: str | os.PathLike[str] | None = None) -> str:
    """``path`` as a record shows it, without the local machine's folders.

    Inside this checkout: repo-relative (``runs/bundles/full``). Inside ``under`` (a run's work
    folder, outside the checkout): that folder's name and the rest (``own_runs/glyphs/models``).
    Anywhere else: the file name alone. A relative path is taken from the current directory.
    """
    given = Path(os.path.abspath(path))
    bases = [(ROOT, "")]
    if under is not None:
        base = Path(os.path.abspath(under))
        bases.append((base, base.name))
    for candidate in dict.fromkeys((given, given.resolve())):
        for base, name in bases:
            for b in dict.fromkeys((base, base.resolve())):
                if candidate.is_relative_to(b):
                    rest = candidate.relative_to(b).as_posix()
                    if not name:
                        return rest
                    return name if rest == "." else f"{name}/{rest}"
    return given.name or given.as_posix()


def _shown_arg(arg: str) -> str:
    """One command-line word with every absolute path in it shown by ``shown_path``."""
    if arg.startswith("-") and "=" in arg:  # --out=/abs/path
        flag, value = arg.split("=", 1)
        return f"{flag}={_shown_arg(value)}"
    if "," in arg:  # a list of values: --data /abs/a,b
        return ",".join(_shown_arg(part) for part in arg.split(","))
    return shown_path(arg) if os.path.isabs(arg) else arg


def provenance(
    script_path: str | os.PathLike[str],
    argv: Sequence[str] | None = None,
    *,
    command_key: str = "command",
) -> dict[str, str]:
    """``{"script": ..., command_key: ...}`` for a benchmark record: the script's repo-relative
    path and the command line that ran it (``argv``, default ``sys.argv[1:]``), runnable from the
    repository root, with no local machine paths (``shown_path``), each word quoted for a shell.

    ``command_key="script_command"`` where the record's own ``command`` is the measured one.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    script = shown_path(script_path)
    command = shlex.join([script, *(_shown_arg(str(w)) for w in words)])
    return {"script": script, command_key: command}


# An absolute path on this machine inside a longer text (the form tests/test_benchmark_records.py
# rejects), up to a space, a quote, a bracket or a separator; a sentence's final dot is not in it.
_LOCAL_PATH = re.compile(
    r"(?<![\w.~-])/(?:work|tmp|root|home|check|mnt|srv|opt|var|Users)/"
    r"[^\s'\"`()\[\]{}<>,;:|]*(?<!\.)"
)


def scrub_local_paths(value: Any, under: str | os.PathLike[str] | None = None) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every local path inside its
    strings shown by ``shown_path`` (``under`` as there); other values unchanged. For text a
    script copies into a record from elsewhere (a device's record, an error message)."""
    if isinstance(value, str):
        # The checkout itself first: it may live anywhere (a CI runner's folder included).
        for root in dict.fromkeys((str(ROOT), str(ROOT.resolve()))):
            value = re.sub(re.escape(root) + r"/(?=[^\s/])", "", value)
            value = re.sub(re.escape(root) + r"(?![\w./-])", ".", value)
        return _LOCAL_PATH.sub(lambda m: shown_path(m.group(0), under), value)
    if isinstance(value, dict):
        return {k: scrub_local_paths(v, under) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_local_paths(v, under) for v in value]
    return value
