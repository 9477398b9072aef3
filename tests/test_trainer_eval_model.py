"""evaluate_model on real (tiny) Keras models: outputs exist and decode, collapse is caught."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from PIL import Image  # noqa: E402

from edge_runtime.common.errors import CollapseError, DataError, ModelError  # noqa: E402
from trainer.evaluation import evaluate_model, raise_if_collapsed  # noqa: E402

SIZE = 16
CLASSES = ("left bar", "right bar", "top bar", "bottom bar")
OUTPUTS = (
    "metrics.json",
    "per_class.csv",
    "per_class.md",
    "confusion_matrix.png",
    "confusion_matrix_normalized.png",
    "misclassified.png",
)


def bar_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A bright bar along one edge (the class) on noise; a few labels are flipped so that the
    misclassified gallery has something to show."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(CLASSES)
    rng.shuffle(y)
    x = rng.integers(0, 80, size=(n, SIZE, SIZE, 1)).astype(np.uint8)
    for i, label in enumerate(y):
        sl = [np.s_[:, :3], np.s_[:, -3:], np.s_[:3, :], np.s_[-3:, :]][label]
        x[i][sl] = 220
    return x, y.astype(np.int64)


def tiny_cnn() -> keras.Model:
    inp = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Rescaling(1 / 255.0)(inp)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(len(CLASSES), activation="softmax")(h)
    return keras.Model(inp, out)


def constant_model(cls: int) -> keras.Model:
    """A deliberately broken model: zero weights, a bias that always favours ``cls``."""
    bias = np.zeros(len(CLASSES), dtype="float32")
    bias[cls] = 3.0
    inp = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Flatten()(inp)
    out = keras.layers.Dense(
        len(CLASSES),
        activation="softmax",
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(bias),
    )(h)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    x, y = bar_data(400, seed=5)
    y = y.copy()
    y[:12] = (y[:12] + 1) % len(CLASSES)  # label noise: guaranteed mistakes
    return x, y


@pytest.fixture(scope="module")
def good_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    x, y = bar_data(1000, seed=4)
    model = tiny_cnn()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x.astype("float32"), y, epochs=4, batch_size=64, verbose=0)
    return model


def test_good_model_passes_and_writes_everything(good_model, test_set, space_dir) -> None:
    x, y = test_set
    m = evaluate_model(good_model, x, y, CLASSES, space_dir / "baseline", stage="baseline")
    assert m["status"] == "ok" and not m["collapse"]["detected"]
    assert m["accuracy"] > 0.9
    assert m["n_samples"] == 400 and m["stage"] == "baseline"
    raise_if_collapsed(m, "baseline")  # silent

    out = space_dir / "baseline"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["accuracy"] == m["accuracy"]
    assert np.asarray(on_disk["confusion_matrix"]).sum() == 400
    assert on_disk["most_confused"] and on_disk["most_confused"][0]["count"] >= 1
    with open(out / "per_class.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == list(CLASSES)
    assert sum(int(r["support"]) for r in rows) == 400
    assert float(rows[0]["f1"]) == pytest.approx(m["per_class"][0]["f1"], abs=1e-6)
    md = (out / "per_class.md").read_text()
    assert "| left bar |" in md and "COLLAPSE" not in md
    for name in OUTPUTS[3:]:
        with Image.open(out / name) as im:
            im.load()
            assert im.width > 300 and im.height > 150, name


def test_constant_model_is_reported_as_collapse(test_set, space_dir, caplog) -> None:
    x, y = test_set
    with caplog.at_level("ERROR"):
        m = evaluate_model(constant_model(2), x, y, CLASSES, space_dir, stage="transfer")
    assert m["status"] == "COLLAPSE"
    c = m["collapse"]
    assert c["detected"] and c["dominant_class"] == 2 and c["dominant_share"] == 1.0
    assert c["accuracy"] == pytest.approx(0.25, abs=0.02)
    assert any(r.levelname == "ERROR" and "COLLAPSE" in r.getMessage() for r in caplog.records)
    assert "## COLLAPSE" in (space_dir / "per_class.md").read_text()
    assert json.loads((space_dir / "metrics.json").read_text())["status"] == "COLLAPSE"
    with pytest.raises(CollapseError, match="stage 'transfer' collapsed") as err:
        raise_if_collapsed(m, "transfer")
    assert str(space_dir / "confusion_matrix_normalized.png") in str(err.value)


def test_logits_need_to_be_declared(test_set, tmp_path) -> None:
    x, y = test_set
    inp = keras.Input((SIZE, SIZE, 1))
    logits = keras.layers.Dense(len(CLASSES))(keras.layers.Flatten()(inp))
    model = keras.Model(inp, logits)
    with pytest.raises(ModelError, match="not probabilities.*output_kind='logits'"):
        evaluate_model(model, x[:20], y[:20], CLASSES, tmp_path, stage="s")
    m = evaluate_model(model, x[:20], y[:20], CLASSES, tmp_path, stage="s", output_kind="logits")
    assert m["mean_confidence"] <= 1.0


def test_shape_mistakes_are_data_errors(good_model, test_set, tmp_path) -> None:
    x, y = test_set
    with pytest.raises(DataError, match="400 evaluation images but 399 labels"):
        evaluate_model(good_model, x, y[:-1], CLASSES, tmp_path, stage="s")
    with pytest.raises(DataError, match="must be NHWC"):
        evaluate_model(good_model, x[..., 0], y, CLASSES, tmp_path, stage="s")


class _DivergedModel:
    """Stands in for a model whose weights went NaN: half of its output rows are NaN."""

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), len(CLASSES)), 1.0 / len(CLASSES), dtype="float32")
        out[::2] = np.nan
        return out


def test_diverged_model_is_a_collapse_and_json_stays_valid(test_set, tmp_path) -> None:
    x, y = test_set
    m = evaluate_model(_DivergedModel(), x, y, CLASSES, tmp_path, stage="finetune", batch_size=64)
    assert m["status"] == "COLLAPSE" and m["non_finite_outputs"] == 200
    # allow_nan=False in the writer: the file must be strict JSON.
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["collapse"]["non_finite_outputs"] == 200
    with Image.open(tmp_path / "misclassified.png") as im:
        im.load()
