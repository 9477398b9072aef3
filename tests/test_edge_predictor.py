"""Predictor and backends on the fixture bundle: all artifacts, batching, threads, bad bundles."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from edge_runtime import Predictor
from edge_runtime.errors import ModelError
from edge_runtime.preprocess import load_image
from tests.fixtures.edge_helpers import BUNDLE, IMAGES, LABELS, copy_bundle, pattern

ARTIFACTS = ("model_int8.tflite", "model_fp32.tflite", "model_fp32.onnx")
# The same, with the ONNX one marked: skipped where only the smallest install (no onnxruntime) is.
ARTIFACT_PARAMS = [
    pytest.param(a, marks=pytest.mark.onnx) if a.endswith(".onnx") else a for a in ARTIFACTS
]


@pytest.fixture(scope="module")
def labelled_images() -> tuple[list[np.ndarray], list[str]]:
    files = sorted(IMAGES.rglob("*.png"))
    return [load_image(f) for f in files], [f.parent.name for f in files]


@pytest.mark.parametrize("artifact", ARTIFACT_PARAMS)
def test_every_artifact_classifies_the_fixed_set(artifact: str, labelled_images) -> None:
    images, truth = labelled_images
    p = Predictor.from_bundle(BUNDLE, artifact, threads=1)
    preds = p.predict(images, top_k=2)
    assert [pr.label for pr in preds] == truth
    for pr in preds:
        assert len(pr.top_k) == 2 and pr.top_k[0] == (pr.label, pr.probability)
        assert pr.probabilities.shape == (4,) and abs(float(pr.probabilities.sum()) - 1) < 0.02
        assert pr.latency_ms > 0 and LABELS[pr.index] == pr.label


@pytest.mark.onnx
def test_artifacts_agree_and_int8_quantization_is_from_the_manifest(labelled_images) -> None:
    images, _ = labelled_images
    probs = {a: Predictor.from_bundle(BUNDLE, a).predict(images) for a in ARTIFACTS}
    fp32 = np.stack([p.probabilities for p in probs["model_fp32.tflite"]])
    onnx = np.stack([p.probabilities for p in probs["model_fp32.onnx"]])
    int8 = np.stack([p.probabilities for p in probs["model_int8.tflite"]])
    np.testing.assert_allclose(fp32, onnx, atol=1e-4)
    # int8 outputs are multiples of the output scale 1/256 once dequantized
    np.testing.assert_allclose(int8 * 256, np.round(int8 * 256), atol=1e-4)
    assert np.abs(int8 - fp32).max() < 0.08


def test_batch_equals_single_and_select_by_format_precision() -> None:
    p = Predictor.from_bundle(BUNDLE, "tflite:int8")
    assert p.artifact.file == "model_int8.tflite"
    xs = np.stack([p.preprocess(pattern(k)) for k in LABELS])
    batched = p.predict_batch(xs)
    single = np.concatenate([p.predict_batch(x[None]) for x in xs])
    np.testing.assert_array_equal(batched, single)
    assert batched.shape == (4, 4) and list(batched.argmax(1)) == [0, 1, 2, 3]
    assert p.backend.batchable


def test_photo_of_a_dark_pattern_on_white_is_recognised_via_auto_polarity() -> None:
    p = Predictor.from_bundle(BUNDLE)
    photo = np.repeat(pattern("cross", 96, light_on_dark=False)[..., None], 3, axis=2)
    auto = p.predict([photo])[0]
    assert auto.label == "cross" and auto.inverted
    assert p.predict([photo], polarity="never")[0].inverted is False
    assert p.predict([photo], polarity="as-is")[0].inverted is False  # the earlier spelling


def test_predictor_is_thread_safe() -> None:
    p = Predictor.from_bundle(BUNDLE, threads=1)
    imgs = [pattern(k) for k in LABELS] * 5
    expected = [pr.probabilities for pr in p.predict(imgs)]
    results: dict[int, list[np.ndarray]] = {}

    def work(i: int) -> None:
        results[i] = [p.predict([img])[0].probabilities for img in imgs]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        np.testing.assert_array_equal(np.stack(got), np.stack(expected))


def test_missing_bundle_artifact_and_manifest(space_dir: Path) -> None:
    with pytest.raises(ModelError, match="does not exist; pass the folder"):
        Predictor.from_bundle(space_dir / "nope")
    with pytest.raises(ModelError, match="no manifest.json in"):
        Predictor.from_bundle(space_dir)
    with pytest.raises(ModelError, match="bundle has no artifact 'model.xyz'"):
        Predictor.from_bundle(BUNDLE, "model.xyz")
    bundle = copy_bundle(space_dir)
    (bundle / "model_fp32.onnx").unlink()
    with pytest.raises(ModelError, match="model_fp32.onnx is missing"):
        Predictor.from_bundle(bundle, "model_fp32.onnx")
    with pytest.raises(ModelError, match="threads=0"):
        Predictor.from_bundle(BUNDLE, threads=0)


def _edit_manifest(bundle: Path, edit) -> None:
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@pytest.mark.onnx
def test_manifest_that_does_not_match_the_model_is_refused(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)

    def wrong_quant(d):
        d["artifacts"][0]["input"]["quantization"]["zero_point"] = 0

    _edit_manifest(bundle, wrong_quant)
    with pytest.raises(
        ModelError, match=r"input quantization is scale=1, zero_point=-128 in the model"
    ):
        Predictor.from_bundle(bundle, "model_int8.tflite")

    bundle2 = copy_bundle(tmp_path / "b2")

    def wrong_size(d):
        d["input"]["height"] = d["input"]["width"] = 32
        d["artifacts"][2]["output"]["dtype"] = "int8"

    _edit_manifest(bundle2, wrong_size)
    with pytest.raises(
        ModelError, match=r"model input is \[28, 28, 1\] per image but the manifest"
    ):
        Predictor.from_bundle(bundle2, "model_fp32.tflite")
    with pytest.raises(
        ModelError, match="output dtype is float32 in the model, int8 in the manifest"
    ):
        Predictor.from_bundle(bundle2, "model_fp32.onnx")


@pytest.mark.onnx
def test_corrupt_model_file_is_a_model_error(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    (bundle / "model_int8.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    (bundle / "model_fp32.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="sha256 .* differs from the manifest's"):
        Predictor.from_bundle(bundle, "model_int8.tflite")
    # Run anyway (--no-verify): the runtime's own refusal is still one clear ModelError.
    with pytest.raises(ModelError, match="cannot be loaded as a TFLite model"):
        Predictor.from_bundle(bundle, "model_int8.tflite", verify_hashes=False)
    with pytest.raises(ModelError, match="cannot be loaded by ONNX Runtime"):
        Predictor.from_bundle(bundle, "model_fp32.onnx", verify_hashes=False)


def test_logits_output_kind_gets_a_softmax(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    _edit_manifest(bundle, lambda d: d["output"].update(kind="logits"))
    as_logits = Predictor.from_bundle(bundle, "model_fp32.tflite")
    as_probs = Predictor.from_bundle(BUNDLE, "model_fp32.tflite")
    img = pattern("vertical")
    raw = as_probs.predict([img])[0].probabilities
    soft = as_logits.predict([img])[0].probabilities
    e = np.exp(raw - raw.max())
    np.testing.assert_allclose(soft, e / e.sum(), rtol=1e-5)
    assert soft.argmax() == raw.argmax() and soft.max() < raw.max()


@pytest.mark.parametrize("artifact", ARTIFACT_PARAMS)
def test_predict_on_pixels_equals_the_float_path(artifact: str, labelled_images) -> None:
    """predict() maps pixels to the input tensor by table / shift; predict_batch() quantizes floats
    from the manifest: both must give the same outputs, batch of one or many."""
    images, _ = labelled_images
    p = Predictor.from_bundle(BUNDLE, artifact)
    fast = np.stack([pr.probabilities for pr in p.predict(images)])
    one = np.stack([p.predict([img])[0].probabilities for img in images[:4]])
    ref = p.predict_batch(np.stack([p.preprocess(img) for img in images]))
    np.testing.assert_array_equal(fast, ref)
    np.testing.assert_array_equal(one, ref[:4])
