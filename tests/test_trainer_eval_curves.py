"""Learning-curve diagnosis on synthetic histories, and the figure it draws."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edge_runtime.common.errors import ConfigError
from trainer.curves import diagnose, plot_learning_curves


def _history(train_acc, val_acc, train_loss, val_loss) -> dict[str, list[float]]:
    return {
        "loss": list(train_loss),
        "accuracy": list(train_acc),
        "val_loss": list(val_loss),
        "val_accuracy": list(val_acc),
    }


def high_bias() -> dict[str, list[float]]:
    e = np.arange(10)
    return _history(0.50 + 0.01 * e, 0.49 + 0.01 * e, 1.6 - 0.02 * e, 1.62 - 0.02 * e)


def high_variance() -> dict[str, list[float]]:
    e = np.arange(12)
    val_loss = 0.6 - 0.05 * np.minimum(e, 4) + 0.04 * np.maximum(e - 4, 0)
    return _history(np.minimum(0.80 + 0.02 * e, 0.99), np.full(12, 0.85), 0.5 * 0.75**e, val_loss)


def good_fit() -> dict[str, list[float]]:
    e = np.arange(8)
    return _history(
        0.93 - 0.2 * 0.6**e, 0.915 - 0.2 * 0.6**e, 0.2 + 0.5 * 0.6**e, 0.24 + 0.5 * 0.6**e
    )


def test_high_bias() -> None:
    d = diagnose(high_bias())
    assert d["verdict"] == "high_bias"
    assert d["diagnosis"].startswith("high bias")
    assert d["train_accuracy"] == pytest.approx(0.59)


def test_high_variance_with_rising_validation_loss() -> None:
    d = diagnose(high_variance())
    assert d["verdict"] == "high_variance"
    assert d["best_epoch"] == 5  # validation loss bottoms out at the fifth epoch
    assert d["train_val_gap"] == pytest.approx(0.03)  # small where EarlyStopping would stop ...
    assert d["final_train_val_gap"] == pytest.approx(0.14)  # ... large once it overfits
    assert d["val_loss_rise"] == pytest.approx(0.7)
    assert "val loss rose" in d["diagnosis"]


def test_good_fit_still_improving() -> None:
    d = diagnose(good_fit())
    assert d["verdict"] == "good_fit"
    assert d["best_epoch"] == 8 and d["still_improving"] is True
    assert d["train_val_gap"] == pytest.approx(0.015, abs=1e-6)
    assert "more epochs may help" in d["diagnosis"]


def test_history_without_validation_or_accuracy() -> None:
    d = diagnose({"loss": [1.0, 0.8, 0.7]})
    assert d["verdict"] == "no_validation" and d["best_epoch"] == 3
    with pytest.raises(ConfigError, match="history has no 'loss' series"):
        diagnose({"accuracy": [0.5]})
    # Keras names accuracy after the metric requested; the alias works too.
    h = {
        "loss": [0.5, 0.4],
        "val_loss": [0.5, 0.45],
        "sparse_categorical_accuracy": [0.9, 0.95],
        "val_sparse_categorical_accuracy": [0.88, 0.93],
    }
    assert diagnose(h)["train_val_gap"] == pytest.approx(0.02)


def test_plot_writes_a_figure_and_returns_the_diagnosis(space_dir) -> None:
    out = space_dir / "curves" / "learning_curves.png"
    result = plot_learning_curves(high_variance(), out, title="baseline")
    assert result["verdict"] == "high_variance"
    assert result["figure"] == str(out)
    with Image.open(out) as im:
        im.load()
        assert im.width > im.height > 200  # two panels side by side
    assert not list(out.parent.glob(".*tmp"))  # the atomic write left nothing behind
