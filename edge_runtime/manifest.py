"""``manifest.json``: the contract between the exporter and the runtime.

The exporter writes it beside every bundle; the runtime reads everything it needs from it and from
nothing else. It is plain JSON with a schema version; unknown schema versions are refused rather
than guessed at. This module imports only the standard library so it loads on any device.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError, ModelError
from edge_runtime.common.fileio import read_json, sha256_file, write_json
from edge_runtime.integrity import check_inside_bundle

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
LABELS_NAME = "labels.txt"

Layout = Literal["NHWC", "NCHW"]
ColorMode = Literal["grey", "rgb"]
# What the picture looks like in the training data: Fashion-MNIST garments are light on a dark
# background; photos of garments are usually dark(er) on a light background.
Polarity = Literal["light_on_dark", "dark_on_light", "natural"]
# How an image of another aspect ratio becomes the model's HxW.
ResizeMode = Literal["stretch", "pad", "center_crop"]
OutputKind = Literal["probabilities", "logits"]
Format = Literal["tflite", "onnx"]
Precision = Literal["fp32", "fp16", "dynamic", "int8", "int8_mixed"]
TensorDType = Literal["float32", "float16", "int8", "uint8"]


@dataclass(frozen=True)
class Quantization(JsonConfig):
    """Affine quantization of a tensor: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def validate(self) -> None:
        if not self.scale > 0:
            raise ConfigError(f"quantization scale must be > 0, got {self.scale!r}")


@dataclass(frozen=True)
class TensorSpec(JsonConfig):
    """The tensor an artifact really takes or returns (per artifact: int8 models differ)."""

    name: str
    shape: tuple[int, ...]  # -1 for a free (batch) dimension
    dtype: TensorDType
    quantization: Quantization | None = None


@dataclass(frozen=True)
class InputSpec(JsonConfig):
    """What the model expects in the dataset's native form, before any artifact quantization.

    ``height``/``width``/``channels`` are the native size (28 x 28 x 1 for Fashion-MNIST); resizing
    to the backbone's resolution, grey-to-RGB and ``preprocess_input`` live inside the graph.
    ``value_range`` is the range of the float values the float model takes (raw pixels: 0..255;
    0..1 and -1..1 are the other common conventions): pixel ``p`` becomes
    ``lo + p * (hi - lo) / 255``. A model normalized per channel states ``mean`` and ``std``
    instead (one value per channel, in pixel units 0..255, TFLite Metadata's convention): pixel
    ``p`` of channel ``c`` becomes ``(p - mean[c]) / std[c]``, and ``value_range`` is then the
    span of the resulting values over the channels. Both are empty unless set, and omitted from
    the JSON, so that runtimes that predate them read every manifest that does not need them.
    """

    height: int
    width: int
    channels: int
    layout: Layout = "NHWC"
    color: ColorMode = "grey"
    value_range: tuple[float, float] = (0.0, 255.0)
    polarity: Polarity = "light_on_dark"
    resize: ResizeMode = "pad"
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        for key in ("mean", "std"):
            if not data[key]:
                data.pop(key)
        return data

    def normalization(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(mean, std)`` per channel in pixel units: model value = (pixel - mean) / std.

        The one form every consumer reads (the device's pixel table, TFLite Metadata's
        NormalizationOptions, ONNX metadata): from ``mean``/``std`` when set, else from
        ``value_range``."""
        if self.mean:
            return tuple(self.mean), tuple(self.std)
        lo, hi = self.value_range
        std = 255.0 / (hi - lo)
        return (-lo * std,) * self.channels, (std,) * self.channels

    def validate(self) -> None:
        for name in ("height", "width", "channels"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"input {name} must be positive, got {getattr(self, name)!r}")
        if self.channels not in (1, 3):
            raise ConfigError(f"input channels must be 1 or 3, got {self.channels}")
        if (self.color == "grey") != (self.channels == 1):
            raise ConfigError(f"input color {self.color!r} does not match channels={self.channels}")
        lo, hi = self.value_range
        if not lo < hi:
            raise ConfigError(
                f"input value_range must be (low, high) with low < high, got {self.value_range}"
            )
        if bool(self.mean) != bool(self.std):
            raise ConfigError(
                "input mean and std go together: give both (one per channel) or neither"
            )
        if self.mean:
            if len(self.mean) != self.channels or len(self.std) != self.channels:
                raise ConfigError(
                    f"input mean {list(self.mean)} / std {list(self.std)} need one value per "
                    f"channel ({self.channels})"
                )
            if not all(s > 0 for s in self.std):
                raise ConfigError(f"input std values must be > 0, got {list(self.std)}")


@dataclass(frozen=True)
class OutputSpec(JsonConfig):
    kind: OutputKind = "probabilities"
    num_classes: int = 0


@dataclass(frozen=True)
class Artifact(JsonConfig):
    """One exported model file in the bundle, with its hash, size and parity verdict."""

    file: str
    format: Format
    precision: Precision
    sha256: str
    size_bytes: int
    input: TensorSpec
    output: TensorSpec
    parity: dict[str, Any] = field(default_factory=dict)  # metrics + thresholds + verdict
    parity_passed: bool | None = None  # None: not checked
    parity_failure_accepted: bool = False  # the user exported anyway (--allow-parity-failure)
    float_layers: tuple[
        str, ...
    ] = ()  # layers kept in float by precision recovery, with reasons in parity
    notes: str = ""
    # How the artifact was made (converter options, calibration method and image count, ...),
    # so it can be reproduced; informational, the runtime needs nothing from it.
    recipe: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        # The runtime opens bundle / file: a manifest must not point it outside the bundle.
        try:
            check_inside_bundle(self.file)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class Manifest(JsonConfig):
    name: str
    labels: tuple[str, ...]
    input: InputSpec
    output: OutputSpec
    artifacts: tuple[Artifact, ...]
    default_artifact: str
    source_model: dict[str, Any] = field(default_factory=dict)  # path, sha256, version, metrics
    calibration: dict[str, Any] = field(default_factory=dict)  # provenance of the calibration set
    parity_data: dict[str, Any] = field(default_factory=dict)  # what the gate ran on
    versions: dict[str, str] = field(default_factory=dict)  # library versions at export
    created_utc: str = ""
    schema_version: int = SCHEMA_VERSION
    # Artifacts exported but left out of the bundle because they failed the parity gate: each
    # with key, file, format, precision, size_bytes, sha256, reason and its parity numbers. The
    # runtime never loads them; they are here so the bundle says what it does not ship and why.
    excluded: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if not self.excluded:
            # Written only when something was left out, so a bundle without exclusions stays
            # readable by runtimes that predate the field (they refuse unknown keys).
            data.pop("excluded")
        return data

    def validate(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise ConfigError(
                f"manifest schema_version {self.schema_version} is not supported (this edgetk reads "
                f"{SCHEMA_VERSION}); re-export the bundle with a matching edgetk"
            )
        if not self.labels:
            raise ConfigError("manifest has no labels")
        if self.output.num_classes and self.output.num_classes != len(self.labels):
            raise ConfigError(
                f"manifest output.num_classes={self.output.num_classes} but {len(self.labels)} labels"
            )
        files = [a.file for a in self.artifacts]
        if len(set(files)) != len(files):
            raise ConfigError(f"manifest lists an artifact twice: {files}")
        if self.artifacts and self.default_artifact not in files:
            raise ConfigError(f"default_artifact {self.default_artifact!r} is not one of {files}")
        for e in self.excluded:
            if not isinstance(e.get("file"), str) or e["file"] in files:
                raise ConfigError(
                    f"manifest excluded entry {e.get('file')!r} must name a file that is not "
                    "one of the bundle's artifacts"
                )

    def artifact(self, file: str | None = None) -> Artifact:
        """The named artifact, or the default one: by its key (``tflite_int8``, the export
        table's name), its file name, or ``format:precision``."""
        key = file or self.default_artifact
        # The file name or the table key it was written under (model_uint8.tflite: tflite_uint8)
        # first, so that two artifacts of one precision (tflite_int8, tflite_uint8) stay apart.
        for a in self.artifacts:
            if key in (a.file, f"{a.format}_{Path(a.file).stem.removeprefix('model_')}"):
                return a
        for a in self.artifacts:
            if key in (f"{a.format}_{a.precision}", f"{a.format}:{a.precision}"):
                return a
        choices = [a.file for a in self.artifacts]
        raise ModelError(f"bundle has no artifact {key!r}; it has {choices}")


def write_manifest(bundle_dir: str | Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` and ``labels.txt`` atomically into ``bundle_dir``."""
    from edge_runtime.common.fileio import write_text

    bundle = Path(bundle_dir)
    write_text(bundle / LABELS_NAME, "\n".join(manifest.labels) + "\n")
    return write_json(bundle / MANIFEST_NAME, manifest.to_dict())


def load_manifest(bundle_dir: str | Path, verify_hashes: bool = False) -> Manifest:
    """Read and validate a bundle's manifest; optionally check every artifact's sha256 and size."""
    bundle = Path(bundle_dir)
    path = bundle / MANIFEST_NAME if bundle.is_dir() else bundle
    if not path.exists():
        if not bundle.exists():
            raise ModelError(
                f"bundle {bundle} does not exist; pass the folder that `edgetk export` wrote"
            )
        raise ModelError(
            f"no {MANIFEST_NAME} in {bundle}; pass the folder that `edgetk export` wrote"
        )
    try:
        data = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON ({exc}); re-export the bundle") from None
    try:
        manifest = Manifest.from_dict(data)
    except ConfigError as exc:
        raise ModelError(f"{path} is not a valid edgetk manifest: {exc}") from None
    if verify_hashes:
        verify_artifacts(path.parent, manifest)
    return manifest


def verify_artifacts(bundle_dir: str | Path, manifest: Manifest) -> None:
    """Raise ModelError listing every artifact whose file is missing or differs from the manifest."""
    problems = []
    for a in manifest.artifacts:
        f = Path(bundle_dir) / a.file
        if not f.exists():
            problems.append(f"{f} is missing")
            continue
        size = f.stat().st_size
        if size != a.size_bytes:
            problems.append(f"{f} is {size} bytes, manifest says {a.size_bytes}")
        elif sha256_file(f) != a.sha256:
            problems.append(f"{f} sha256 differs from the manifest")
    if problems:
        raise ModelError("bundle does not match its manifest: " + "; ".join(problems))


__all__ = [
    "LABELS_NAME",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "Artifact",
    "InputSpec",
    "Manifest",
    "OutputSpec",
    "Quantization",
    "TensorSpec",
    "load_manifest",
    "verify_artifacts",
    "write_manifest",
]
