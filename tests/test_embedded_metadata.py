"""Artifacts that describe themselves: every exported file carries the input contract, written
from the same objects as the manifest; read back by other readers (ONNX Runtime's
``get_modelmeta()``, TensorFlow's own copy of the TFLite schema); the manifest's hashes describe
the final bytes; bare files predict as their bundle does; a disagreement is warned about."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.common.fileio import sha256_file
from edge_runtime.embedded import KEY, read_contract, warn_if_contract_differs
from edge_runtime.errors import ModelError
from edge_runtime.manifest import load_manifest
from edge_runtime.predictor import Predictor
from edgetk.cli import main
from export import FORMATS, ExportConfig, GateConfig, export_bundle
from export.normalization import Normalization
from tests.test_export_support import LABELS, synthetic_split, train_tiny

KEYS = tuple(f.key for f in FORMATS if f.precision != "int8_mixed")
pytestmark = pytest.mark.onnx


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A bundle of every plain artifact kind, from a model that takes -1..1 values (so the
    normalization travels), and 40 test images as PNG files."""
    import keras

    x_train, y_train, x_test, y_test = synthetic_split()
    root = tmp_path_factory.mktemp("embedded work") / "with spaces"
    model = train_tiny(x_train, y_train)
    # The same model behind an input scale of -1..1: it takes (pixel / 127.5 - 1) values.
    inp = keras.Input(model.input_shape[1:])
    outer = keras.Model(inp, model(keras.layers.Rescaling(127.5, offset=127.5)(inp)))
    path = root / "tiny model.keras"
    root.mkdir(parents=True, exist_ok=True)
    outer.save(path)
    from edge_runtime.manifest import InputSpec

    h, w, c = model.input_shape[1:]
    spec = Normalization.parse("-1..1").apply(InputSpec(height=h, width=w, channels=c))
    out = root / "bundle"
    export_bundle(
        path, out, ExportConfig(formats=KEYS, gate=GateConfig.lenient()),
        x_train, y_train, x_test, y_test, LABELS, input_spec=spec, name="tiny",
        parity_source={"split": "test", "dataset": {"name": "synthetic",
                                                    "fingerprint_sha256": "ab" * 32}},
    )  # fmt: skip
    images = root / "images"
    images.mkdir()
    for i, img in enumerate(x_test[:40]):
        Image.fromarray(img[..., 0].astype(np.uint8)).save(images / f"{i:02d}.png")
    return {"root": root, "bundle": out, "images": images, "x": x_test[:40]}


def test_every_artifact_carries_the_manifest_contract(exported) -> None:
    m = load_manifest(exported["bundle"], verify_hashes=True)  # hashes of the final files
    assert {m.artifact(k).file for k in KEYS} == {a.file for a in m.artifacts}
    assert len(m.artifacts) == len(KEYS)  # tflite_int8 and tflite_uint8 stay apart by key
    for a in m.artifacts:
        path = exported["bundle"] / a.file
        c = read_contract(path)
        assert c is not None, a.file
        assert c.labels == m.labels and c.input == m.input and c.output == m.output
        assert (c.tensor_input, c.tensor_output) == (a.input, a.output)
        assert c.input.value_range == (-1.0, 1.0)
        assert c.provenance["source_model"]["sha256"] == m.source_model["sha256"]
        assert c.provenance["dataset"]["fingerprint_sha256"] == "ab" * 32
        assert c.parity["passed"] == a.parity_passed
        assert c.parity["agreement"] == pytest.approx(a.parity["agreement"])
        assert sha256_file(path) == a.sha256


def test_onnx_metadata_reads_back_with_onnx_runtime(exported) -> None:
    import onnxruntime as ort

    m = load_manifest(exported["bundle"])
    for a in (a for a in m.artifacts if a.format == "onnx"):
        sess = ort.InferenceSession(
            str(exported["bundle"] / a.file), providers=["CPUExecutionProvider"]
        )
        props = sess.get_modelmeta().custom_metadata_map
        assert json.loads(props["labels"]) == list(m.labels)
        assert json.loads(props["image_size"]) == [m.input.height, m.input.width]
        assert props["color_space"] == "GRAYSCALE" and props["input_layout"] == "NHWC"
        # -1..1 in pixel units: (pixel - 127.5) / 127.5
        assert json.loads(props["normalization_mean"]) == [127.5]
        assert json.loads(props["normalization_std"]) == [127.5]
        assert props["output_score_type"] == m.output.kind
        assert json.loads(props[KEY])["labels"] == list(m.labels)


def test_tflite_metadata_reads_back_with_tensorflows_schema(exported) -> None:
    from tensorflow.lite.python import schema_py_generated as schema

    m = load_manifest(exported["bundle"])
    for a in (a for a in m.artifacts if a.format == "tflite"):
        buf = (exported["bundle"] / a.file).read_bytes()
        model = schema.Model.GetRootAs(buf, 0)
        names = {model.Metadata(i).Name(): i for i in range(model.MetadataLength())}
        assert b"min_runtime_version" in names  # the converter's own entries are kept
        entry = model.Metadata(names[KEY.encode()])
        data = json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
        assert data["labels"] == list(m.labels) and data["input"] == m.input.to_dict()


def test_metadata_costs_the_labels_and_a_few_kb(exported) -> None:
    """Each artifact grows by its contract only: at most the label file plus 4 KiB."""
    from export.metadata import embed_tflite
    from export.model_io import load_keras_model
    from export.tflite_export import convert_tflite, write_saved_model

    label_bytes = len(("\n".join(LABELS) + "\n").encode())
    model = load_keras_model(exported["root"] / "tiny model.keras")
    saved = write_saved_model(model, exported["root"] / "saved", model.input_shape[1:])
    bare = convert_tflite(saved, "fp32")
    c = read_contract(exported["bundle"] / "model_fp32.tflite")
    grown = embed_tflite(bare, c.to_json())
    assert 0 < len(grown) - len(bare) <= label_bytes + 4096, (len(bare), len(grown))
    # The bundle's files carry no more than that either, whatever their precision.
    m = load_manifest(exported["bundle"])
    for a in m.artifacts:
        assert len(read_contract(exported["bundle"] / a.file).to_json()) <= label_bytes + 4096


def _predict_cli(target: Path, images: Path, capsys, *extra: str) -> list[tuple[str, str]]:
    assert main(["predict", str(target), str(images), "--format", "jsonl", *extra]) == 0
    rows = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    return [(Path(r["path"]).name, r["label"]) for r in rows]


@pytest.mark.parametrize("key", KEYS)
def test_bare_artifact_predicts_as_its_bundle(exported, key, tmp_path, capsys) -> None:
    m = load_manifest(exported["bundle"])
    a = m.artifact(key)
    alone = tmp_path / "copied away" / a.file
    alone.parent.mkdir()
    shutil.copy(exported["bundle"] / a.file, alone)
    via_bundle = _predict_cli(exported["bundle"], exported["images"], capsys, "--artifact", key)
    bare = _predict_cli(alone, exported["images"], capsys)
    assert len(bare) == 40 and bare == via_bundle
    p = Predictor.from_artifact(alone)
    q = Predictor.from_bundle(exported["bundle"], key)
    imgs = list(exported["x"])
    np.testing.assert_array_equal(
        np.stack([r.probabilities for r in p.predict(imgs)]),
        np.stack([r.probabilities for r in q.predict(imgs)]),
    )
    p.close()
    q.close()


def test_bare_file_without_metadata_is_a_clear_error(exported, tmp_path, capsys) -> None:
    from export.model_io import load_keras_model
    from export.tflite_export import convert_tflite, write_saved_model

    model = load_keras_model(exported["root"] / "tiny model.keras")
    saved = write_saved_model(model, tmp_path / "saved", model.input_shape[1:])
    plain = tmp_path / "plain.tflite"
    plain.write_bytes(convert_tflite(saved, "fp32"))
    with pytest.raises(ModelError, match="carries no edgetk metadata"):
        Predictor.from_artifact(plain)
    assert main(["predict", str(plain), str(exported["images"])]) == 1
    err = capsys.readouterr().err
    assert "carries no edgetk metadata" in err and "Traceback" not in err


def test_manifest_and_embedded_disagreement_is_warned(exported, tmp_path, caplog) -> None:
    copy = tmp_path / "edited bundle"
    shutil.copytree(exported["bundle"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["input"]["resize"] = "stretch"  # a hand edit the artifacts do not know about
    manifest["labels"][0] = "renamed"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    m = load_manifest(copy)
    with caplog.at_level(logging.WARNING, logger="edge_runtime.embedded"):
        Predictor.from_bundle(copy, "tflite_int8").close()
    text = caplog.text
    assert "disagree" in text and "labels" in text and "input.resize" in text
    # The untouched bundle loads without a word.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edge_runtime.embedded"):
        Predictor.from_bundle(exported["bundle"], "onnx_int8").close()
    assert "disagree" not in caplog.text
    assert warn_if_contract_differs(copy / "model_fp32.onnx", m, m.artifact("onnx_fp32"))


def test_rgb_input_export_takes_rgb_frames_and_answers_as_grey(tmp_path, capsys) -> None:
    """``edgetk export --rgb-input``: the grey conversion inside the graph; the uint8 artifact
    takes raw RGB pixels (scale 1, zero point 0: the bytes a camera pipeline feeds as they are)
    and names the class the grey bundle names, through the same gate."""
    from tests.test_export_support import write_idx_folder

    x_train, y_train, x_test, y_test = synthetic_split()
    idx = write_idx_folder(tmp_path / "idx data", x_train, y_train, x_test, y_test)
    model = tmp_path / "tiny model.keras"
    train_tiny(x_train, y_train).save(model)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    outs = {}
    for name, extra in (("grey", []), ("rgb", ["--rgb-input"])):
        outs[name] = tmp_path / f"{name} bundle"
        rc = main(["export", str(model), "--out-dir", str(outs[name]), "--labels", str(labels),
                   "--data-dir", str(idx), "--artifacts", "tflite_fp32,tflite_uint8",
                   "--gate", "lenient", *extra])  # fmt: skip
        printed = capsys.readouterr()
        assert rc == 0, printed.out + printed.err
    assert "RGB input (the grey conversion inside the graph)" in printed.out
    m = load_manifest(outs["rgb"], verify_hashes=True)
    assert (m.input.channels, m.input.color) == (3, "rgb")
    u8 = m.artifact("tflite_uint8")
    assert u8.input.dtype == "uint8" and list(u8.input.shape[1:]) == [16, 16, 3]
    assert (u8.input.quantization.scale, u8.input.quantization.zero_point) == (1.0, 0)
    assert read_contract(outs["rgb"] / u8.file).input.color == "rgb"
    images = list(x_test[:100])
    for key in ("tflite_fp32", "tflite_uint8"):
        grey = Predictor.from_bundle(outs["grey"], key, polarity="never")
        rgb = Predictor.from_bundle(outs["rgb"], key, polarity="never")
        a = [r.index for r in grey.predict(images)]
        b = [r.index for r in rgb.predict([np.repeat(i, 3, axis=-1) for i in images])]
        grey.close()
        rgb.close()
        assert np.mean(np.equal(a, b)) >= 0.98, key
