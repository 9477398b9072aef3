"""--gate-explanations: explanation agreement as an opt-in part of the parity gate.

Report-only stays the default (tests/test_explain.py). With ``ExportConfig.gate_explanations`` an
artifact whose occlusion maps agree with the Keras model's less than its precision's budgets
(``ParityThresholds.min_explain_*``, in the presets) fails the gate like one whose answers
drift: named in the failures with its numbers, left out of the bundle, and when nothing passes no
bundle is written. The model is the test suite's quadrant classifier (tests/test_export_support).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_export_support import LABELS, synthetic_split, train_tiny

FORMATS = ("tflite_fp32", "tflite_int8")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain gate")
    x_train, y_train, x_test, y_test = synthetic_split()
    path = root / "quadrants.keras"
    train_tiny(x_train, y_train, epochs=10).save(path)
    return root, path, (x_train, y_train, x_test[:200], y_test[:200])


def _export(trained, out_name, gate, formats=FORMATS, gated=True):
    from export import ExportConfig, export_bundle

    root, path, (xt, yt, xe, ye) = trained
    cfg = ExportConfig(formats=formats, gate=gate, gate_explanations=gated)
    return export_bundle(path, root / out_name, cfg, xt, yt, xe, ye, LABELS, name="q")


def test_presets_hold_explanation_budgets() -> None:
    from export import GateConfig

    for name in ("default", "strict", "lenient"):
        g = GateConfig.preset(name)
        for precision in ("fp32", "fp16", "dynamic", "int8", "int8_mixed"):
            t = g.for_precision(precision)
            assert 0 < t.min_explain_rank_correlation <= 1, (name, precision)
            assert 0 < t.min_explain_top_overlap <= 1, (name, precision)
    # float artifacts are held closer than quantized ones, strict closer than default
    d = GateConfig.default()
    assert d.fp32.min_explain_rank_correlation > d.int8.min_explain_rank_correlation
    assert GateConfig.strict().int8.min_explain_top_overlap > d.int8.min_explain_top_overlap


def test_gate_passes_artifacts_that_keep_the_maps(trained) -> None:
    from edge_runtime.manifest import load_manifest
    from export import GateConfig

    result = _export(trained, "good bundle", GateConfig.lenient())
    assert [r.key for r in result.artifacts if r.passed] == list(FORMATS)
    m = load_manifest(result.bundle_dir)
    for art in m.artifacts:
        e = art.parity["explanations"]
        assert e["gated"] is True and e["verdict"] == "pass", (art.file, e)
        t = GateConfig.lenient().for_precision(art.precision)
        assert e["rank_correlation"]["median"] >= t.min_explain_rank_correlation
        assert e["min_top_overlap"] == t.min_explain_top_overlap
    md = (result.bundle_dir / "parity.md").read_text()
    assert "Gated (--gate-explanations)" in md and "| pass (>= " in md


def test_gate_fails_an_artifact_whose_maps_drift(trained) -> None:
    """int8 held to maps equal to the Keras model's (rank correlation >= 0.999): its maps drift
    a little (quantization moves the occluded outputs by steps of 1/256), so it fails, is named
    with its numbers and is left out; fp32, whose maps are the Keras model's, ships."""
    from edge_runtime.manifest import load_manifest
    from export import GateConfig

    gate = GateConfig.lenient()
    gate = gate.replace(int8=gate.int8.replace(min_explain_rank_correlation=0.999))
    result = _export(trained, "drift bundle", gate)
    by_key = {r.key: r for r in result.artifacts}
    assert by_key["tflite_fp32"].passed
    int8 = by_key["tflite_int8"]
    assert not int8.passed
    (failure,) = int8.parity.failures  # only the explanation check fails: answers agree
    assert failure.startswith("explanation rank correlation with the Keras model's maps")
    assert "median of 16 images" in failure and "< 0.999 required" in failure
    assert not (result.bundle_dir / "model_int8.tflite").exists()
    m = load_manifest(result.bundle_dir)
    assert [a.file for a in m.artifacts] == ["model_fp32.tflite"]
    (ex,) = m.excluded
    assert ex["parity"]["explanations"]["verdict"] == "fail"

    # The same artifact, report-only (the default): it ships, its agreement still recorded.
    plain = _export(trained, "report only", gate, formats=("tflite_int8",), gated=False)
    (art,) = load_manifest(plain.bundle_dir).artifacts
    assert art.parity["explanations"]["rank_correlation"]["median"] < 0.999
    assert "gated" not in art.parity["explanations"]


def test_nothing_passes_no_bundle(trained) -> None:
    from edge_runtime.common.errors import ParityGateError
    from export import GateConfig

    gate = GateConfig.lenient()
    gate = gate.replace(int8=gate.int8.replace(min_explain_top_overlap=1.0 - 1e-9))
    root = trained[0]
    with pytest.raises(ParityGateError, match=r"tflite_int8: explanation top-10% IoU"):
        _export(trained, "nothing", gate, formats=("tflite_int8",))
    assert not (root / "nothing").exists()


def test_gating_needs_images() -> None:
    from edge_runtime.common.errors import ConfigError
    from export import ExportConfig

    with pytest.raises(ConfigError, match="gate_explanations needs explain_images >= 1"):
        ExportConfig(gate_explanations=True, explain_images=0)
    assert ExportConfig().gate_explanations is False  # report-only is the default


def test_judge_names_each_budget_missed() -> None:
    from export.explain_parity import judge_explanations
    from export.thresholds import ParityThresholds

    q = lambda m: {"median": m, "q1": m - 0.1, "q3": m + 0.1}  # noqa: E731
    e = {"images": 16, "rank_correlation": q(0.4), "top_overlap": q(0.9)}
    t = ParityThresholds(None, None, None, None, None, 0.5, 0.5)
    (only,) = judge_explanations(e, t)
    assert "rank correlation" in only and "0.40" in only and "< 0.5 required" in only
    assert judge_explanations(e, t.replace(min_explain_rank_correlation=None)) == []
    assert np.isclose(len(judge_explanations(e, t.replace(min_explain_top_overlap=0.95))), 2)


def test_agreement_on_a_model_that_takes_normalized_values(tmp_path) -> None:
    """A model trained on pixels / 127.5 - 1 (input normalization -1..1 in the manifest): the
    gate's arrays hold -1..1 values, the occlusions are made on raw pixels as on the device, and
    the model is handed its own values (taken for pixels, -1..1 values would be rounded to 0s
    and 1s); the Keras model's maps find the bright square and the artifacts pass the gate."""
    import keras

    from edge_runtime.manifest import InputSpec, load_manifest
    from export import ExportConfig, GateConfig, export_bundle
    from export.explain_parity import keras_reference
    from export.model_io import keras_predict
    from export.normalization import normalize_pixels
    from tests.test_explain import _bright_square

    x_train, y_train, x_test, y_test = synthetic_split()
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    model = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x_train.astype("float32") / 127.5 - 1, y_train, epochs=10, batch_size=32,
              verbose=0)  # fmt: skip
    path = tmp_path / "signed range.keras"
    model.save(path)
    spec = InputSpec(height=16, width=16, channels=1, color="grey", value_range=(-1.0, 1.0))

    seen = []

    def predict(v):
        seen.append(v)
        return keras_predict(model, v)

    ref = keras_reference(
        predict, normalize_pixels(x_test[:40], spec), y_test[:40], 16,
        seed=0, max_passes=256, spec=spec,
    )  # fmt: skip
    # the model is given its own values: the first row of the first call is the whole first
    # image, exactly as the gate holds it (not its values rounded and taken for pixels)
    np.testing.assert_allclose(seen[0][0], ref.x[0], atol=1e-5)
    hits = []
    raw = ((ref.x + 1) * 127.5).round().astype(np.uint8)  # the chosen images, back in pixels
    for sal, img in zip(ref.maps, raw):
        rs, cs = _bright_square(img)
        r, c = np.unravel_index(np.argmax(sal), sal.shape)
        hits.append(rs.start - 1 <= r < rs.stop + 1 and cs.start - 1 <= c < cs.stop + 1)
    assert np.mean(hits) >= 0.9, hits

    cfg = ExportConfig(formats=("tflite_fp32", "tflite_int8"), gate=GateConfig.lenient(),
                       gate_explanations=True)  # fmt: skip
    result = export_bundle(path, tmp_path / "b", cfg, x_train, y_train, x_test[:200],
                           y_test[:200], LABELS, input_spec=spec)  # fmt: skip
    arts = {a.file: a.parity["explanations"] for a in load_manifest(result.bundle_dir).artifacts}
    assert arts["model_fp32.tflite"]["rank_correlation"]["median"] > 0.99
    assert arts["model_int8.tflite"]["verdict"] == "pass", arts["model_int8.tflite"]
