"""The input contract embedded in every artifact, and its reader (no TensorFlow).

The exporter builds one ``EmbeddedContract`` per artifact from the same objects the manifest is
written from (labels, ``InputSpec``, ``OutputSpec``, the artifact's tensor specs) and writes it as
JSON inside the model file:

- ``.tflite``: an entry of the model's ``metadata`` list named ``edgetk_contract`` (the TFLite
  schema's own mechanism for named metadata, next to the converter's ``min_runtime_version``);
- ``.onnx``: the ``metadata_props`` key ``edgetk_contract``, next to plain keys any ONNX reader
  shows (``labels``, ``image_size``, ``color_space``, ``normalization_mean`` / ``_std``,
  ``output_score_type``; see docs/outside.md).

So a bare artifact, copied away from its bundle, still says how to feed it, and a runtime can check
a bundle's manifest against the file it loads (``compare_with_manifest``). Reading the TFLite entry
needs the ``flatbuffers`` package and LiteRT's schema module (both come with ``ai-edge-litert``);
the ONNX keys come from ONNX Runtime's ``get_modelmeta()``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError, ModelError
from edge_runtime.manifest import Artifact, InputSpec, Manifest, OutputSpec, TensorSpec

log = logging.getLogger(__name__)

KEY = "edgetk_contract"  # the TFLite metadata name and the ONNX metadata_props key
BARE_SUFFIXES = (".tflite", ".onnx")  # model files a command accepts in place of a bundle
CONTRACT_VERSION = 1


@dataclass(frozen=True)
class EmbeddedContract(JsonConfig):
    """What one artifact says about itself: enough to run it without its bundle."""

    name: str
    labels: tuple[str, ...]
    input: InputSpec
    output: OutputSpec
    format: str
    precision: str
    tensor_input: TensorSpec
    tensor_output: TensorSpec
    # Where it came from and what the gate said (informational; the runtime needs none of it).
    provenance: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    contract_version: int = CONTRACT_VERSION

    def validate(self) -> None:
        if self.contract_version != CONTRACT_VERSION:
            raise ConfigError(
                f"embedded contract version {self.contract_version} is not supported (this "
                f"edgetk reads {CONTRACT_VERSION})"
            )
        if not self.labels:
            raise ConfigError("embedded contract has no labels")

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str, where: str) -> EmbeddedContract:
        try:
            return cls.from_dict(json.loads(data))
        except (ValueError, ConfigError) as exc:
            raise ModelError(f"{where}: the embedded {KEY} is unreadable ({exc})") from None

    def artifact(self, file: str, sha256: str, size_bytes: int) -> Artifact:
        """The manifest entry this contract stands for (hash and size from the file itself)."""
        return Artifact(
            file=file,
            format=self.format,  # type: ignore[arg-type]
            precision=self.precision,  # type: ignore[arg-type]
            sha256=sha256,
            size_bytes=size_bytes,
            input=self.tensor_input,
            output=self.tensor_output,
            parity=dict(self.parity),
            parity_passed=self.parity.get("passed"),
        )

    def manifest(self, file: str, sha256: str, size_bytes: int) -> Manifest:
        """A one-artifact manifest built from the contract alone (a bare artifact)."""
        return Manifest(
            name=self.name,
            labels=self.labels,
            input=self.input,
            output=self.output,
            artifacts=(self.artifact(file, sha256, size_bytes),),
            default_artifact=file,
            source_model=dict(self.provenance.get("source_model") or {}),
        )


def _tflite_entry(path: Path) -> bytes | None:
    # A vtable walk with struct (edge_runtime/tflite_metadata.py): LiteRT's generated schema
    # module would cost every device command's start several milliseconds to import.
    # Mapped, not read: every bundle load already hashes the file, and the walk touches only the
    # few pages it follows (a large model's weights stay unread).
    import mmap

    from edge_runtime.tflite_metadata import metadata_entry

    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return metadata_entry(m, KEY)
    except ValueError as exc:  # an empty file cannot be mapped: ValueError too
        raise ModelError(f"{path} is not a readable TFLite model ({exc})") from None


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX model, as ONNX Runtime reads them."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError(
            f"reading {path.name} needs ONNX Runtime: pip install 'edgetk[onnx]'"
        ) from None
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for unreadable files
        raise ModelError(f"{path} is not a readable ONNX model ({exc})"[:400]) from None
    return dict(sess.get_modelmeta().custom_metadata_map)


def read_contract(
    path: str | Path, onnx_props: dict[str, str] | None = None
) -> EmbeddedContract | None:
    """The contract embedded in the ``.tflite`` / ``.onnx`` file at ``path``; None if it has none.

    ``onnx_props``: an ONNX model's ``metadata_props`` already read by a loaded session (saves
    loading the model a second time)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file {p} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".tflite":
        raw = _tflite_entry(p)
    elif suffix == ".onnx":
        raw = (onnx_metadata(p) if onnx_props is None else onnx_props).get(KEY)
    else:
        raise ModelError(f"{p} is neither a .tflite nor an .onnx file")
    return None if raw is None else EmbeddedContract.from_json(raw, str(p))


def compare_with_manifest(
    contract: EmbeddedContract, manifest: Manifest, artifact: Artifact
) -> list[str]:
    """Every fact on which a bundle's manifest and an artifact's embedded contract disagree."""
    diffs = []
    if contract.labels != manifest.labels:
        diffs.append("labels")
    mine, theirs = contract.input.to_dict(), manifest.input.to_dict()
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            diffs.append(
                f"input.{key} ({theirs.get(key)!r} in the manifest, {mine.get(key)!r} embedded)"
            )
    if contract.output.kind != manifest.output.kind:
        diffs.append(f"output.kind ({manifest.output.kind} vs {contract.output.kind} embedded)")
    if (contract.format, contract.precision) != (artifact.format, artifact.precision):
        diffs.append("format/precision")
    if contract.tensor_input != artifact.input or contract.tensor_output != artifact.output:
        diffs.append("tensor specs")
    return diffs


def warn_if_contract_differs(
    path: Path, manifest: Manifest, artifact: Artifact, onnx_props: dict[str, str] | None = None
) -> list[str]:
    """Log a warning naming every fact on which the bundle's manifest and the contract embedded
    in its artifact disagree (the manifest still rules); returns them. Silent for artifacts
    exported before contracts were embedded, and where the metadata cannot be read here."""
    try:
        contract = read_contract(path, onnx_props)
    except ModelError as exc:
        log.debug("embedded contract of %s not read: %s", path, exc)
        return []
    if contract is None:
        log.debug("%s carries no embedded contract (exported before edgetk embedded one)", path)
        return []
    diffs = compare_with_manifest(contract, manifest, artifact)
    if diffs:
        log.warning(
            "%s: the bundle's manifest and the metadata embedded in the artifact disagree on %s; "
            "using the manifest (re-export the bundle if it was edited by hand)",
            path.name,
            "; ".join(diffs),
        )
    return diffs


__all__ = [
    "BARE_SUFFIXES",
    "CONTRACT_VERSION",
    "KEY",
    "EmbeddedContract",
    "compare_with_manifest",
    "onnx_metadata",
    "read_contract",
    "warn_if_contract_differs",
]
