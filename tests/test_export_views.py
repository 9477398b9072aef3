"""Test-time views: the in-graph average equals the numpy one in every runtime, the choice reads
validation images only and needs a significant gain, and only trained-for transforms are used."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError
from export import ExportConfig, GateConfig, export_bundle
from export.runners import predict_onnx, predict_tflite
from export.views import (
    VIEW_SETS,
    allowed_transforms,
    apply_views,
    build_view_model,
    choose_views,
    shift_fill,
)
from tests.test_export_support import LABELS, synthetic_split, train_tiny


def test_numpy_views_shift_fill_and_mirror() -> None:
    x = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5, 1) + 1
    down, up_mirrored = apply_views(x, ((False, 1), (True, -1)), "zero")
    assert (down[:, 0] == 0).all() and (down[:, 1:] == x[:, :-1]).all()
    assert (up_mirrored[:, -1] == 0).all() and (up_mirrored[:, :-1] == x[:, 1:, ::-1]).all()
    (edge,) = apply_views(x, ((False, 1),), "edge")
    assert (edge[:, 0] == x[:, 0]).all() and (edge[:, 1:] == x[:, :-1]).all()
    (same,) = apply_views(x, VIEW_SETS["none"])
    assert (same == x).all()


def test_transforms_follow_the_training_augmentation() -> None:
    assert allowed_transforms({"flip": True, "crop_padding": 4}) == ("flip", "shift")
    assert allowed_transforms({"flip": False, "translation": 0.06}) == ("shift",)
    assert allowed_transforms({"flip": False, "translation": 0.0, "crop_padding": 0}) == ()
    assert allowed_transforms(None) == ()
    assert shift_fill({"crop_padding": 4, "translation": 0.1}) == "zero"  # the crop pads zeros
    assert shift_fill({"translation": 0.1}) == "edge"  # RandomTranslation's "nearest"


@pytest.fixture(scope="module")
def data():
    return synthetic_split()


@pytest.fixture(scope="module")
def model(data):
    x_train, y_train, _, _ = data
    return train_tiny(x_train, y_train, epochs=2)


@pytest.mark.parametrize("fill", ["zero", "edge"])
def test_graph_average_equals_the_numpy_average(model, data, fill) -> None:
    x = data[2][:32].astype(np.float32)
    views = VIEW_SETS["flip_shift"]
    wrapped = build_view_model(model, views, fill)
    ref = np.mean([model.predict(v, verbose=0) for v in apply_views(x, views, fill)], axis=0)
    np.testing.assert_allclose(wrapped.predict(x, verbose=0), ref, atol=1e-6)
    assert build_view_model(model, VIEW_SETS["none"]) is model


def _oracle(x_val: np.ndarray, y: np.ndarray, right: dict, k: int = 4):
    """predict(x) for the views of ``x_val``: view v gets image i right when i is in right[v];
    the plain view is less sure of itself (0.6) than the others (0.8), so they outvote it."""
    table = {}
    for view, imgs in zip(right, apply_views(x_val, tuple(right), "zero")):
        p = np.full((len(y), k), 0.1, np.float32)
        wrong = (y + 1) % k
        good = np.zeros(len(y), bool)
        good[list(right[view])] = True
        p[np.arange(len(y)), np.where(good, y, wrong)] = 0.6 if view == (False, 0) else 0.8
        table[hashlib.sha256(imgs.tobytes()).hexdigest()] = p
    return lambda xs: table[hashlib.sha256(np.asarray(xs).tobytes()).hexdigest()]


def _val(n: int = 400):
    rng = np.random.default_rng(3)
    return rng.integers(0, 255, (n, 8, 8, 1)).astype(np.float32), np.arange(n) % 4


def test_auto_keeps_views_only_for_a_significant_validation_gain() -> None:
    x, y = _val()
    plain = set(range(0, 300))
    views = VIEW_SETS["flip"]
    big = _oracle(x, y, {views[0]: plain, views[1]: set(range(400))})
    choice = choose_views(big, x, y, "auto", ("flip",), "zero")
    assert choice.name == "flip" and choice.views == views
    row = {r["views"]: r for r in choice.table}
    assert row["none"]["accuracy"] == 0.75 and row["flip"]["accuracy"] == 1.0
    assert (row["flip"]["gained_vs_none"], row["flip"]["lost_vs_none"]) == (100, 0)
    assert row["flip"]["p_vs_none"] <= 0.05
    # Two images gained is what chance does: the plain model ships.
    small = _oracle(x, y, {views[0]: plain, views[1]: plain | {300, 301}})
    assert choose_views(small, x, y, "auto", ("flip",), "zero").name == "none"


def test_auto_without_permitted_transforms_or_validation_is_plain() -> None:
    x, y = _val()

    def never(_):
        raise AssertionError("no image may be predicted")

    c = choose_views(never, x, y, "auto", (), "zero")
    assert c.name == "none" and "neither flips nor shifts" in c.reason
    c = choose_views(never, None, None, "auto", ("flip", "shift"), "zero")
    assert c.name == "none" and "no validation" in c.reason


def test_explicit_views_need_the_trained_transform() -> None:
    with pytest.raises(ConfigError, match="test_time_views='flip_shift' needs the flip"):
        choose_views(lambda x: x, None, None, "flip_shift", ("shift",))
    assert choose_views(lambda x: x, None, None, "shift", ("shift",)).name == "shift"
    with pytest.raises(ConfigError, match="test_time_views='mirror' is not a choice"):
        ExportConfig(test_time_views="mirror")


def test_pipeline_views_are_the_bundle_stage_s() -> None:
    from trainer.pipeline.budget import Budget
    from trainer.pipeline.config import PipelineConfig
    from trainer.pipeline.runner import Context
    from trainer.pipeline.stages import _bundle_key, _export_config, bundle_views

    full = PipelineConfig.for_profile("full")
    assert _export_config(Context(None, {"config": full})).test_time_views == "none"
    assert bundle_views(full) == "auto"
    assert bundle_views(PipelineConfig.for_profile("quick")) == "none"
    assert bundle_views(PipelineConfig.for_profile("quick", test_time_views="flip")) == "flip"
    # under a budget "auto" still chooses; the bundle stage weighs the views artifact against
    # the budget (tests/test_views_budget.py), and the budget joins the stage's key only then
    budgeted = full.replace(budget=Budget(max_ms=5.0))
    assert bundle_views(budgeted) == "auto"
    assert _bundle_key(Context(None, {"config": budgeted}))["budget"]["max_ms"] == 5.0
    assert "budget" not in _bundle_key(Context(None, {"config": full}))
    named = budgeted.replace(test_time_views="flip")
    assert bundle_views(named) == "flip" and "budget" not in _bundle_key(
        Context(None, {"config": named})
    )
    with pytest.raises(ConfigError, match="test_time_views='sideways'"):
        PipelineConfig.for_profile("full", test_time_views="sideways")


def test_export_builds_the_views_into_every_artifact(tmp_path, data, model) -> None:
    x_train, y_train, x_test, y_test = data
    path = tmp_path / "m.keras"
    model.save(path)
    # The classes are quadrants, so a mirrored view votes for the neighbour class and many
    # averages are near-ties that float rounding breaks either way: the top-1 gate may fail, the
    # probabilities must still match (checked below), so failures are accepted here.
    cfg = ExportConfig(
        formats=("tflite_fp32", "tflite_int8", "onnx_fp32"),
        gate=GateConfig.lenient(),
        test_time_views="flip_shift",
        allow_parity_failure=True,
    )
    result = export_bundle(
        path, tmp_path / "b", cfg, x_train, y_train, x_test, y_test, LABELS,
        x_select=x_train[-100:], y_select=y_train[-100:], view_fill="zero",
    )  # fmt: skip
    rec = result.manifest.source_model["test_time_views"]
    assert rec["chosen"] == "flip_shift" and rec["count"] == 6 and rec["shift_fill"] == "zero"
    assert "Test-time views: **flip_shift**" in (tmp_path / "b" / "parity.md").read_text()
    x = x_test[:20].astype(np.float32)
    views = VIEW_SETS["flip_shift"]
    ref = np.mean([model.predict(v, verbose=0) for v in apply_views(x, views, "zero")], axis=0)
    plain = model.predict(x, verbose=0)
    assert np.abs(plain - ref).max() > 1e-3  # the views change the output, so the check can fail
    np.testing.assert_allclose(
        predict_tflite(tmp_path / "b" / "model_fp32.tflite", x), ref, atol=1e-5
    )
    np.testing.assert_allclose(predict_onnx(tmp_path / "b" / "model_fp32.onnx", x), ref, atol=1e-4)
    # the device runtime runs the same graph: batches of any size, views included
    from edge_runtime.predictor import Predictor

    for file in ("model_fp32.tflite", "model_fp32.onnx"):
        pred = Predictor.from_bundle(tmp_path / "b", file, threads=1)
        np.testing.assert_allclose(pred.predict_batch(x[:7]), ref[:7], atol=1e-4)
        pred.close()
    for a in result.artifacts:
        if a.key.endswith("fp32"):
            assert a.parity.metrics["max_abs_diff"] < 1e-5, a.key
    # the operator profile (edgetk bench --ops, the report's per-device table) carves each
    # operator of the views graph, whose constant reshape [6, -1, C] needs the inputs' shapes
    # set before the first allocation
    from ai_edge_litert.interpreter import Interpreter

    from edge_runtime.profiling.ops import profile_ops

    for file in ("model_fp32.tflite", "model_int8.tflite"):
        d = Interpreter(model_path=str(tmp_path / "b" / file)).get_input_details()[0]
        q = x[:1]
        if np.dtype(d["dtype"]) != np.float32:
            scale, zero = d["quantization"]
            q = np.clip(np.round(q / scale + zero), -128, 127).astype(d["dtype"])
        prof = profile_ops(tmp_path / "b" / file, "tflite", q, 1, runs=50)
        assert prof["ops"] and not prof.get("error"), (file, prof.get("error"))


def test_auto_export_on_quadrant_classes_refuses_the_mirror(tmp_path, data, model) -> None:
    """The synthetic classes are quadrants: a mirrored image is another class, so validation
    must reject the flip (the gate's test images are never consulted)."""
    x_train, y_train, x_test, y_test = data
    path = tmp_path / "m.keras"
    model.save(path)
    cfg = ExportConfig(formats=("tflite_fp32",), gate=GateConfig.lenient(), test_time_views="auto")
    result = export_bundle(
        path, tmp_path / "b", cfg, x_train, y_train, x_test, y_test, LABELS,
        x_select=x_train[-200:], y_select=y_train[-200:], view_transforms=("flip",),
    )  # fmt: skip
    rec = result.manifest.source_model["test_time_views"]
    assert rec["chosen"] == "none"
    flip = next(r for r in rec["validation"] if r["views"] == "flip")
    assert flip["lost_vs_none"] > flip["gained_vs_none"] and flip["images"] == 200
