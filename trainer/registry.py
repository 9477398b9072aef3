"""The model registry: ``<run_dir>/models/<name>/v<N>/`` with model.keras, saved_model/, metadata.json.

The format is the contract with the export layer (docs/contracts.md). A version folder is written
into a hidden temporary folder beside it and renamed into place, so a reader never sees half a
version, and an existing version is never overwritten.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ModelError
from edge_runtime.common.fileio import read_json, sha256_file, write_json

SCHEMA_VERSION = 1
MODELS_DIR = "models"
MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
METADATA_FILE = "metadata.json"
_VERSION_RE = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class RegisteredModel:
    """One registry version on disk."""

    name: str
    version: int
    path: Path
    metadata: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def saved_model_path(self) -> Path:
        return self.path / SAVED_MODEL_DIR

    def load(self) -> Any:
        """The Keras model (compiled state not restored: this is for inference and fine-tuning)."""
        import keras

        try:
            return keras.models.load_model(self.model_path, compile=False)
        except Exception as exc:  # keras raises many kinds for a corrupt archive
            raise ModelError(
                f"cannot load {self.model_path} ({exc.__class__.__name__}: {str(exc)[:300]}); "
                "re-run the stage that registered it"
            ) from None


def _versions(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        m = _VERSION_RE.match(p.name)
        if m and p.is_dir():
            out.append(int(m.group(1)))
    return sorted(out)


def models_root(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / MODELS_DIR


def _export_inference_saved_model(model: Any, out: Path) -> None:
    """SavedModel whose ``serve`` signature runs the model with training=False.

    A plain ``model.export`` traces ``model(x)``, and Keras 3 augmentation layers default to
    training=True when no flag is passed: the serving signature would augment at random.
    """
    import keras
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name="pixels")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=[spec])
    archive.write_out(str(out), verbose=False)


def register_model(
    run_dir: str | os.PathLike[str], name: str, model: Any, metadata: dict[str, Any]
) -> RegisteredModel:
    """Save ``model`` as the next version of ``name``; return where it went.

    ``metadata`` holds the caller's fields (stage, labels, input, output, metrics, dataset,
    data_config, config, versions, code_version, ...); the registry adds ``schema_version``,
    ``name``, ``version``, ``created_utc`` and ``model_sha256``.
    """
    from trainer.rundir import utc_now

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ModelError(f"model name {name!r} may only hold letters, digits, '.', '_' and '-'")
    folder = models_root(run_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=folder))
    try:
        model.save(tmp / MODEL_FILE)
        _export_inference_saved_model(model, tmp / SAVED_MODEL_DIR)
        # Claim the version by renaming; another writer that got there first makes us retry.
        for _ in range(100):
            version = (_versions(folder) or [0])[-1] + 1
            final = folder / f"v{version}"
            meta = {
                "schema_version": SCHEMA_VERSION,
                "name": name,
                "version": version,
                **metadata,
                "created_utc": utc_now(),
                "model_sha256": sha256_file(tmp / MODEL_FILE),
            }
            write_json(tmp / METADATA_FILE, meta)
            try:
                os.rename(tmp, final)
            except OSError:
                if final.exists():
                    continue
                raise
            return RegisteredModel(name, version, final, meta)
        raise ModelError(f"could not claim a new version folder under {folder}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def get_model(
    run_dir: str | os.PathLike[str], name: str, version: int | None = None
) -> RegisteredModel:
    """A registered model: ``version`` or the latest; ModelError saying what exists otherwise."""
    folder = models_root(run_dir) / name
    versions = _versions(folder)
    if not versions:
        known = [e.name for e in list_models(run_dir)]
        raise ModelError(
            f"no registered model {name!r} under {models_root(run_dir)} (registered: "
            f"{sorted(set(known)) or 'none'}); train that stage first (edgetk train --stage ...)"
        )
    v = versions[-1] if version is None else version
    if v not in versions:
        raise ModelError(
            f"model {name!r} has no version v{v} under {folder}; versions: "
            f"{['v' + str(i) for i in versions]}"
        )
    path = folder / f"v{v}"
    try:
        meta = read_json(path / METADATA_FILE)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path / METADATA_FILE} is missing or unreadable ({exc})") from None
    return RegisteredModel(name, v, path, meta)


def list_models(run_dir: str | os.PathLike[str]) -> list[RegisteredModel]:
    """Every registered version under ``run_dir``, sorted by name then version."""
    root = models_root(run_dir)
    out: list[RegisteredModel] = []
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for v in _versions(folder):
            path = folder / f"v{v}"
            try:
                meta = read_json(path / METADATA_FILE)
            except (OSError, ValueError):
                meta = {"error": f"unreadable {METADATA_FILE}"}
            out.append(RegisteredModel(folder.name, v, path, meta))
    return out


def format_table(models: list[RegisteredModel]) -> str:
    """A plain-text table of registered models (name, version, stage, accuracy, macro-F1, ...)."""
    header = ("name", "version", "stage", "accuracy", "macro_f1", "params", "created_utc", "path")
    rows = [header]
    for m in models:
        metrics = m.metadata.get("metrics", {}) or {}
        acc, f1 = metrics.get("accuracy"), metrics.get("macro_f1")
        rows.append(
            (
                m.name,
                f"v{m.version}",
                str(m.metadata.get("stage", "?")),
                f"{acc:.4f}" if isinstance(acc, (int, float)) else "-",
                f"{f1:.4f}" if isinstance(f1, (int, float)) else "-",
                str(m.metadata.get("params", "-")),
                str(m.metadata.get("created_utc", "-")),
                str(m.path),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
