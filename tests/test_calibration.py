"""Calibration sets: stratified, seeded, saved with provenance, fed to both quantizers."""

from __future__ import annotations

import numpy as np
import pytest

from calibration import (
    CalibrationConfig,
    CalibrationSet,
    build_calibration_set,
    ort_calibration_reader,
    stratified_indices,
    tflite_representative_dataset,
)
from edge_runtime.common.errors import ConfigError, DataError


def _imbalanced_labels() -> np.ndarray:
    # 600 / 300 / 90 / 10 samples: proportions 60 / 30 / 9 / 1 %.
    return np.repeat(np.arange(4), [600, 300, 90, 10])


def test_sampling_is_stratified() -> None:
    y = _imbalanced_labels()
    idx = stratified_indices(y, 100, seed=3)
    assert len(idx) == 100 and len(set(idx.tolist())) == 100
    assert np.bincount(y[idx]).tolist() == [60, 30, 9, 1]


def test_sampling_keeps_rare_classes() -> None:
    y = _imbalanced_labels()
    counts = np.bincount(y[stratified_indices(y, 20, seed=0)], minlength=4)
    assert counts.sum() == 20 and (counts >= 1).all()


def test_sampling_is_reproducible_and_seeded() -> None:
    y = _imbalanced_labels()
    a = stratified_indices(y, 50, seed=7)
    assert np.array_equal(a, stratified_indices(y, 50, seed=7))
    assert not np.array_equal(a, stratified_indices(y, 50, seed=8))


@pytest.mark.parametrize("size", [0, 1001])
def test_sampling_size_out_of_range(size: int) -> None:
    with pytest.raises(ConfigError, match=f"calibration size={size} must be between 1 and"):
        stratified_indices(_imbalanced_labels(), size, seed=0)


def test_config_validation_names_value() -> None:
    with pytest.raises(ConfigError, match=r"calibration size=0 is out of range"):
        CalibrationConfig(size=0)
    assert CalibrationConfig.from_dict(CalibrationConfig(size=1000).to_dict()).size == 1000


def _set(size: int = 40, seed: int = 1) -> CalibrationSet:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(400, 8, 8, 1), dtype=np.uint8)
    y = np.arange(400) % 4
    return build_calibration_set(
        x, y, CalibrationConfig(size=size, seed=seed), {"dataset": "synthetic", "split": "train"}
    )


def test_provenance_describes_the_draw() -> None:
    s = _set()
    p = s.provenance
    assert p["count"] == 40 and p["seed"] == 1 and p["split"] == "train"
    assert p["per_class_counts"] == {"0": 10, "1": 10, "2": 10, "3": 10}
    assert p["source"] == {"dataset": "synthetic", "split": "train"}
    assert p["pool_size"] == 400 and len(p["sha256"]) == 64
    assert _set().provenance["sha256"] == p["sha256"]
    assert _set(seed=2).provenance["sha256"] != p["sha256"]


def test_save_load_round_trip(space_dir) -> None:
    s = _set()
    path = s.save(space_dir / "calib" / "set")
    assert path.name == "set.npz" and path.with_suffix(".json").exists()
    back = CalibrationSet.load(space_dir / "calib" / "set")
    assert np.array_equal(back.x, s.x) and np.array_equal(back.y, s.y)
    assert back.provenance == s.provenance


def test_load_refuses_tampered_set(space_dir) -> None:
    s = _set()
    path = s.save(space_dir / "set")
    x = s.x.copy()
    x[0, 0, 0, 0] ^= 0xFF
    np.savez_compressed(path, x=x, y=s.y)
    with pytest.raises(DataError, match="does not match the hash"):
        CalibrationSet.load(path)


def test_load_missing_set(space_dir) -> None:
    with pytest.raises(DataError, match="not found"):
        CalibrationSet.load(space_dir / "nothing")


def test_head_keeps_stratification() -> None:
    h = _set(size=200).head(20)
    assert len(h) == 20 and np.bincount(h.y).tolist() == [5, 5, 5, 5]
    assert h.provenance["count"] == 20


def test_tflite_feeder_yields_float_batches_of_one() -> None:
    s = _set(size=12)
    batches = list(tflite_representative_dataset(s)())
    assert len(batches) == 12
    assert all(b[0].shape == (1, 8, 8, 1) and b[0].dtype == np.float32 for b in batches)
    assert np.array_equal(np.concatenate([b[0] for b in batches]), s.x.astype(np.float32))


def test_ort_reader_reads_rewinds_and_strides() -> None:
    s = _set(size=12)
    r = ort_calibration_reader(s, "pixels", batch=5)
    got = []
    while (item := r.get_next()) is not None:
        got.append(item["pixels"])
    assert [len(g) for g in got] == [5, 5, 2] and len(r) == 3
    r.rewind()
    assert np.array_equal(r.get_next()["pixels"], s.x[:5].astype(np.float32))
    r.set_range(1, 2)  # ORT's strided calibration: batches [1, 2)
    assert np.array_equal(r.get_next()["pixels"], s.x[5:10].astype(np.float32))
    assert r.get_next() is None


def test_build_rejects_mismatched_arrays() -> None:
    with pytest.raises(DataError, match="40 calibration images but 39 labels"):
        build_calibration_set(np.zeros((40, 8, 8, 1), np.uint8), np.zeros(39, np.int64))


def test_size_over_the_pool_clamps_with_a_warning(caplog) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(57, 8, 8, 1), dtype=np.uint8)
    y = np.arange(57) % 3
    with caplog.at_level("WARNING", logger="calibration.calibset"):
        s = build_calibration_set(x, y, CalibrationConfig(size=300))
    assert len(s) == 57 and s.provenance["count"] == 57
    assert s.provenance["requested_count"] == 300 and s.provenance["pool_size"] == 57
    assert s.provenance["per_class_counts"] == {"0": 19, "1": 19, "2": 19}
    (msg,) = [r.getMessage() for r in caplog.records]
    assert "calibration size 300 asked for" in msg and "only 57 images" in msg
