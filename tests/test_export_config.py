"""Format table, configs, thresholds, metrics and the gate's judgement (no conversion)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from edge_runtime.common.errors import ConfigError
from export import (
    DEFAULT_FORMAT_KEYS,
    FORMATS,
    ExportConfig,
    GateConfig,
    ParityThresholds,
    accuracy,
    check_parity,
    get_format,
    macro_f1,
    per_class_f1,
    select_formats,
)
from export.parity import gate_message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 5, 300))
    p[p == 4] = 3  # class 4 is never predicted: its F1 is 0, not NaN
    assert accuracy(y, p) == pytest.approx(accuracy_score(y, p))
    assert macro_f1(y, p, 5) == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert per_class_f1(y, p, 5) == pytest.approx(
        f1_score(y, p, average=None, labels=range(5), zero_division=0)
    )


def test_absent_class_scores_zero_like_sklearn() -> None:
    y, p = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0])
    ours = per_class_f1(y, p, 3)
    ref = f1_score(y, p, average=None, labels=[0, 1, 2], zero_division=0)
    assert ours == pytest.approx(ref) and ours[2] == 0.0


def test_format_table_drives_selection() -> None:
    assert len({f.key for f in FORMATS}) == len(FORMATS)
    assert len({f.filename for f in FORMATS}) == len(FORMATS)
    assert select_formats(("onnx",), ("int8",)) == ("onnx_int8",)
    assert select_formats(("tflite", "onnx"), ("fp32",)) == ("tflite_fp32", "onnx_fp32")
    assert get_format("tflite_int8").needs_calibration
    assert set(DEFAULT_FORMAT_KEYS) >= {"tflite_int8", "tflite_fp32", "onnx_fp32", "onnx_int8"}


def test_unknown_format_names_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown format 'coreml'; choose from \['onnx', 'tfl"):
        select_formats(("coreml",), ("fp32",))
    with pytest.raises(ConfigError, match=r"unknown precision 'int4'"):
        select_formats(("tflite",), ("int4",))
    with pytest.raises(ConfigError, match="no export format matches"):
        select_formats(("onnx",), ("fp16",))
    with pytest.raises(ConfigError, match="unknown export format 'tflite_int4'"):
        ExportConfig(formats=("tflite_int4",))


def test_export_config_round_trips_json(space_dir) -> None:
    cfg = ExportConfig(formats=("tflite_fp32", "tflite_int8_mixed"), allow_parity_failure=True)
    path = cfg.save(space_dir / "export config.json")
    back = ExportConfig.load(path)
    assert back == cfg and back.gate.int8 == GateConfig.default().int8
    assert ExportConfig.quick().gate == GateConfig.lenient()


def test_config_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"unknown ExportConfig field\(s\) \['formts'\]"):
        ExportConfig.from_dict({"formts": ["tflite_fp32"]})
    with pytest.raises(ConfigError, match=r"max_accuracy_drop=1.5 is out of range"):
        ParityThresholds(1.5, None, None, None)
    with pytest.raises(ConfigError, match="unknown gate preset 'loose'"):
        GateConfig.preset("loose")
    with pytest.raises(ConfigError, match="onnx.method='minmx' is not allowed"):
        ExportConfig.from_dict({"onnx": {"method": "minmx"}})


def test_presets_order_strictness() -> None:
    s, d, lax = GateConfig.strict(), GateConfig.default(), GateConfig.lenient()
    assert s.int8.max_accuracy_drop < d.int8.max_accuracy_drop < lax.int8.max_accuracy_drop
    assert d.int8.max_accuracy_drop == 0.015 and d.int8_mixed.max_accuracy_drop == 0.005
    assert d.fp32.min_agreement >= 0.999


def _probs(pred: np.ndarray, k: int = 3) -> np.ndarray:
    p = np.full((len(pred), k), 0.1, np.float32)
    p[np.arange(len(pred)), pred] = 0.8
    return p


def test_gate_collects_every_failure_with_numbers() -> None:
    y = np.array([0, 1, 2] * 100)
    ref = _probs(y)
    bad_pred = y.copy()
    bad_pred[:45] = 2  # 30 of these 45 were not class 2: 30 errors
    r = check_parity("tflite_int8", "int8", ref, _probs(bad_pred), y, ("a", "b", "c"),
                     GateConfig.default().int8)  # fmt: skip
    assert not r.passed and len(r.failures) == 4
    assert "accuracy drop 10.00 points > 1.50 allowed (100.00% -> 90.00%)" in r.failures[0]
    assert any("top-1 agreement with Keras 90.00% < 93.00% required" in f for f in r.failures)
    msg = gate_message([r])
    assert msg.startswith("parity gate failed for 1 of 1 artifact(s): tflite_int8: accuracy drop")
    assert "--allow-parity-failure" in msg


def test_gate_passes_identical_outputs_and_flags_prob_diff() -> None:
    y = np.array([0, 1, 2] * 10)
    ref = _probs(y)
    ok = check_parity("x", "fp32", ref, ref.copy(), y, ("a", "b", "c"), GateConfig.default().fp32)
    assert ok.passed and ok.metrics["agreement"] == 1.0 and ok.metrics["max_abs_diff"] == 0.0
    moved = ref + np.float32(0.01)
    r = check_parity("x", "fp32", ref, moved, y, ("a", "b", "c"), GateConfig.default().fp32)
    assert r.failures == ("max output difference 1.00e-02 > 1.00e-03 allowed",)


def test_progress_is_quiet_off_a_terminal(capsys) -> None:
    from export.progress import progress

    assert list(progress(range(4), 4, "batches", min_seconds=0.0)) == [0, 1, 2, 3]
    assert capsys.readouterr().err == ""  # stderr is captured here: not a terminal


def test_partial_gate_config_keeps_defaults_but_names_missing_thresholds() -> None:
    t = {"max_accuracy_drop": 0.01, "max_macro_f1_drop": 0.01, "max_class_f1_drop": 0.04,
         "min_agreement": 0.95}  # fmt: skip
    cfg = ExportConfig.from_dict({"gate": {"int8": t}})
    assert cfg.gate.int8.max_accuracy_drop == 0.01 and cfg.gate.int8.max_prob_diff is None
    assert cfg.gate.fp32 == GateConfig.default().fp32
    with pytest.raises(ConfigError, match=r"gate.int8 miss \['max_macro_f1_drop'"):
        ExportConfig.from_dict({"gate": {"int8": {"max_accuracy_drop": 0.01}}})
