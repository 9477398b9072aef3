"""Every format exports from a tiny trained model; the bundle, manifest and artifacts are real.

One bundle is exported per module (TFLite conversion is the slow part) and shared by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError, ModelError
from edge_runtime.manifest import Manifest, load_manifest
from export import FORMATS, ExportConfig, GateConfig, export_bundle
from export.artifact_info import tflite_io_specs
from export.runners import predict_onnx, predict_tflite
from tests.fixtures.artifact_structure import onnx_structure, tflite_tensor_dtypes
from tests.test_export_support import LABELS, synthetic_split, train_tiny

ALL_KEYS = tuple(f.key for f in FORMATS)


@pytest.fixture(scope="module")
def data():
    return synthetic_split()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, data) -> Path:
    x_train, y_train, _, _ = data
    path = tmp_path_factory.mktemp("model dir") / "tiny model.keras"
    train_tiny(x_train, y_train).save(path)
    return path


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, data, model_file):
    x_train, y_train, x_test, y_test = data
    out = tmp_path_factory.mktemp("bundles") / "tiny bundle"
    cfg = ExportConfig(formats=ALL_KEYS, gate=GateConfig.lenient())
    result = export_bundle(
        model_file, out, cfg, x_train, y_train, x_test, y_test, LABELS,
        x_select=x_train[-200:], y_select=y_train[-200:], name="tiny",
    )  # fmt: skip
    return result


def test_every_format_exports_and_passes_its_gate(bundle) -> None:
    files = {a.file for a in bundle.manifest.artifacts}
    expected = {f.filename for f in FORMATS if f.key not in bundle.skipped}
    assert files == expected and len(files) >= 6
    for a in bundle.artifacts:
        assert a.passed, (a.key, a.parity.failures)
        assert (bundle.bundle_dir / a.artifact.file).stat().st_size == a.artifact.size_bytes
    assert bundle.manifest.artifact().file == "model_int8.tflite"  # default: int8 TFLite
    for key in bundle.skipped:
        assert key == "tflite_int8_mixed" and "not needed" in bundle.skipped[key]
    assert bundle.manifest.parity_data.get("skipped", {}) == bundle.skipped


def test_manifest_round_trips_and_hashes_match(bundle) -> None:
    m = load_manifest(bundle.bundle_dir, verify_hashes=True)
    assert m == bundle.manifest
    assert Manifest.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert m.labels == LABELS and m.output.num_classes == 4
    assert (m.input.height, m.input.width, m.input.channels) == (16, 16, 1)
    assert m.calibration["count"] == 300 and m.calibration["file"] == "calibration/calibration.npz"
    assert (bundle.bundle_dir / "labels.txt").read_text().split("\n")[:4] == list(LABELS)
    assert (bundle.bundle_dir / "export_config.json").exists()
    for a in m.artifacts:
        assert a.parity_passed is True and a.parity["verdict"] == "pass"
        assert a.recipe, a.file


def test_parity_markdown_lists_every_artifact(bundle) -> None:
    md = (bundle.bundle_dir / "parity.md").read_text()
    assert md == bundle.parity_md
    for a in bundle.artifacts:
        assert f"| {a.key} |" in md


def test_int8_tflite_is_integer_only_with_real_quant_params(bundle) -> None:
    path = bundle.bundle_dir / "model_int8.tflite"
    spec_in, spec_out = tflite_io_specs(path)
    art = bundle.manifest.artifact("model_int8.tflite")
    assert art.input == spec_in and art.output == spec_out
    assert spec_in.dtype == "int8" and spec_out.dtype == "int8"
    # The calibration images span 0..255, so raw pixels minus 128 go straight in.
    assert spec_in.quantization.zero_point == -128
    assert spec_in.quantization.scale == pytest.approx(1.0, rel=1e-3)
    dtypes = tflite_tensor_dtypes(path)
    assert "float32" not in dtypes and dtypes["int8"] > 10
    fp32 = bundle.manifest.artifact("model_fp32.tflite").size_bytes
    assert art.size_bytes <= 0.4 * fp32


def test_float_artifacts_match_keras_on_fixed_inputs(bundle, model_file, data) -> None:
    import keras

    x = data[2][:64].astype(np.float32)
    ref = keras.models.load_model(model_file).predict(x, verbose=0)
    tfl = predict_tflite(bundle.bundle_dir / "model_fp32.tflite", x)
    onx = predict_onnx(bundle.bundle_dir / "model_fp32.onnx", x)
    np.testing.assert_allclose(tfl, ref, atol=1e-5)
    np.testing.assert_allclose(onx, ref, atol=1e-5)
    assert bundle.manifest.artifact("tflite:fp32").input.dtype == "float32"


def test_reduced_float_artifacts_are_smaller(bundle) -> None:
    m = bundle.manifest
    fp32 = m.artifact("tflite:fp32").size_bytes
    assert m.artifact("tflite:fp16").size_bytes < 0.6 * fp32
    assert m.artifact("tflite:dynamic").size_bytes < 0.4 * fp32
    dtypes = tflite_tensor_dtypes(bundle.bundle_dir / "model_fp16.tflite")
    assert dtypes.get("float16", 0) > 0


def test_onnx_int8_is_qdq_with_int8_weights(bundle) -> None:
    s = onnx_structure(bundle.bundle_dir / "model_int8.onnx")
    assert s["ops"].get("QuantizeLinear", 0) > 0 and s["ops"].get("DequantizeLinear", 0) > 0
    assert s["initializers"].get("int8", 0) >= 4  # conv and dense kernels
    art = bundle.manifest.artifact("onnx:int8")
    assert art.recipe["method"] == "minmax" and art.recipe["per_channel"] is True
    assert art.size_bytes < 0.5 * bundle.manifest.artifact("onnx:fp32").size_bytes


def test_existing_bundle_needs_overwrite(bundle, data, model_file) -> None:
    x_train, y_train, x_test, y_test = data
    with pytest.raises(ConfigError, match="already exists and is not empty; pass --overwrite"):
        export_bundle(model_file, bundle.bundle_dir, ExportConfig(formats=("tflite_fp32",)),
                      x_train, y_train, x_test, y_test, LABELS)  # fmt: skip
    assert load_manifest(bundle.bundle_dir).artifacts == bundle.manifest.artifacts


def test_overwrite_replaces_bundle_atomically(space_dir, data, model_file) -> None:
    x_train, y_train, x_test, y_test = data
    out = space_dir / "b"
    cfg = ExportConfig(formats=("onnx_fp32",), gate=GateConfig.lenient())
    export_bundle(model_file, out, cfg, x_train, y_train, x_test[:40], y_test[:40], LABELS)
    (out / "stale.txt").write_text("old")
    r = export_bundle(model_file, out, cfg.replace(overwrite=True), x_train, y_train,
                      x_test[:40], y_test[:40], LABELS)  # fmt: skip
    assert not (out / "stale.txt").exists() and r.manifest.artifact().file == "model_fp32.onnx"
    assert [p.name for p in space_dir.iterdir()] == ["b"]  # no staging or old folders left


@pytest.mark.parametrize(
    ("content", "match"),
    [(None, "does not exist"), (b"not a zip", "not a valid .keras archive")],
)
def test_missing_or_corrupt_model_is_a_clear_error(space_dir, data, content, match) -> None:
    path = space_dir / "broken.keras"
    if content is not None:
        path.write_bytes(content)
    x_train, y_train, x_test, y_test = data
    with pytest.raises(ModelError, match=match):
        export_bundle(path, space_dir / "out", None, x_train, y_train, x_test, y_test, LABELS)
    assert not (space_dir / "out").exists()
