"""Grad-CAM finds the evidence where it is: plain CNNs and nested-backbone models (Keras 3)."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from PIL import Image  # noqa: E402

from edge_runtime.common.errors import ConfigError, DataError  # noqa: E402
from trainer.gradcam import (  # noqa: E402
    gradcam_heatmaps,
    resolve_gradcam_layer,
    save_gradcam_grids,
)

SIZE = 16
PATCH = 6
CLASSES = ("horizontal stripes", "vertical stripes", "checkerboard", "solid")


def _pattern(label: int) -> np.ndarray:
    r, c = np.indices((PATCH, PATCH))
    return [r % 2 == 0, c % 2 == 0, (r + c) % 2 == 0, np.ones((PATCH, PATCH), bool)][label]


def pattern_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dim noise everywhere and one bright patch whose texture is the class.

    The patch sits at a random but KNOWN place (returned as its top-left corner), and nothing
    else in the image carries evidence, so a faithful heatmap peaks on the patch.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(CLASSES)
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, SIZE, SIZE, 1)).astype(np.uint8)
    corners = rng.integers(0, SIZE - PATCH + 1, size=(n, 2))
    for i, label in enumerate(y):
        r, c = corners[i]
        x[i, r : r + PATCH, c : c + PATCH, 0][_pattern(label)] = 230
    return x, y.astype(np.int64), corners


def peak_on_patch(heatmaps: np.ndarray, corners: np.ndarray, margin: int = 1) -> np.ndarray:
    """Whether each heatmap's maximum lies on its patch (grown by ``margin`` pixels)."""
    flat = heatmaps.reshape(len(heatmaps), -1).argmax(axis=1)
    rows, cols = np.unravel_index(flat, heatmaps.shape[1:])
    r0, c0 = corners[:, 0] - margin, corners[:, 1] - margin
    r1, c1 = corners[:, 0] + PATCH + margin, corners[:, 1] + PATCH + margin
    return (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)


def plain_cnn() -> keras.Model:
    inp = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Rescaling(1 / 255.0)(inp)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.GlobalMaxPooling2D()(h)
    out = keras.layers.Dense(len(CLASSES), activation="softmax")(h)
    return keras.Model(inp, out, name="plain")


def nested_model() -> keras.Model:
    """Like the real transfer models: resize + grey-to-RGB + scaling layers, then a nested backbone."""
    b_in = keras.Input((None, None, 3))
    b = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="b_conv1")(b_in)
    b = keras.layers.MaxPooling2D(name="b_pool")(b)
    b = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="b_conv2")(b)
    r = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="b_conv3")(b)
    b = keras.layers.Add(name="b_add")([b, r])  # a residual, like MobileNetV2's blocks
    backbone = keras.Model(b_in, b, name="tiny_backbone")

    inp = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.RandomFlip("horizontal")(inp)  # training-only, must not disturb Grad-CAM
    h = keras.layers.Resizing(2 * SIZE, 2 * SIZE)(h)
    h = keras.layers.Concatenate(name="grey_to_rgb")([h, h, h])
    h = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(h)
    h = backbone(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dropout(0.1)(h)
    out = keras.layers.Dense(len(CLASSES), activation="softmax")(h)
    return keras.Model(inp, out, name="nested")


def _train(model: keras.Model, x: np.ndarray, y: np.ndarray) -> keras.Model:
    keras.utils.set_random_seed(0)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x.astype("float32"), y, epochs=6, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    x, y, _ = pattern_data(1200, seed=1)
    xt, yt, corners = pattern_data(200, seed=2)
    return {"x": x, "y": y, "xt": xt, "yt": yt, "corners": corners}


@pytest.fixture(scope="module")
def trained_plain(data: dict[str, np.ndarray]) -> keras.Model:
    keras.utils.set_random_seed(0)
    return _train(plain_cnn(), data["x"], data["y"])


@pytest.fixture(scope="module")
def trained_nested(data: dict[str, np.ndarray]) -> keras.Model:
    keras.utils.set_random_seed(0)
    return _train(nested_model(), data["x"], data["y"])


def _check_localises(model: keras.Model, xt: np.ndarray, yt: np.ndarray, corners) -> None:
    pred = model.predict(xt.astype("float32"), verbose=0).argmax(axis=1)
    assert (pred == yt).mean() > 0.9, "the tiny model did not learn the pattern task"
    maps = gradcam_heatmaps(model, xt, class_indices=yt)
    assert maps.shape == (len(xt), SIZE, SIZE)
    assert maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    hit = peak_on_patch(maps, corners).mean()
    assert hit >= 0.85, f"heatmap peak on the evidence patch for only {hit:.0%} of images"
    # The evidence is ~14 % of the image; a faithful map concentrates its mass there.
    inside = np.zeros_like(maps, dtype=bool)
    for i, (r, c) in enumerate(corners):
        inside[i, r : r + PATCH, c : c + PATCH] = True
    assert maps[inside].mean() > 2.0 * maps[~inside].mean()


def test_plain_cnn_heatmap_peaks_at_the_evidence(trained_plain, data) -> None:
    assert resolve_gradcam_layer(trained_plain) == "last_conv"
    _check_localises(trained_plain, data["xt"], data["yt"], data["corners"])


def test_nested_backbone_heatmap_peaks_at_the_evidence(trained_nested, data) -> None:
    # The naive recipe cannot reach inside the nested backbone; ours picks its last conv.
    assert resolve_gradcam_layer(trained_nested) == "tiny_backbone/b_add"
    _check_localises(trained_nested, data["xt"], data["yt"], data["corners"])


def test_frozen_backbone_gives_the_same_heatmaps(trained_nested, data) -> None:
    xt = data["xt"][:16]
    before = gradcam_heatmaps(trained_nested, xt)
    backbone = trained_nested.get_layer("tiny_backbone")
    backbone.trainable = False  # frozen variables are not watched by the tape by default
    try:
        after = gradcam_heatmaps(trained_nested, xt)
    finally:
        backbone.trainable = True
    assert after.max() > 0.99  # not silently all zeros
    np.testing.assert_allclose(after, before, atol=1e-5)


def test_named_layers_and_bad_names(trained_nested, data) -> None:
    xt, yt, corners = data["xt"], data["yt"], data["corners"]
    # b_conv1 sits before the residual: the cut goes through Keras' sub-model fallback.
    early = gradcam_heatmaps(trained_nested, xt, yt, layer_name="tiny_backbone/b_conv1")
    assert peak_on_patch(early, corners).mean() >= 0.85
    bare = gradcam_heatmaps(trained_nested, xt[:8], yt[:8], layer_name="b_conv1")
    np.testing.assert_allclose(early[:8], bare, atol=1e-6)
    with pytest.raises(ConfigError, match="no layer 'nope'.*'tiny_backbone/b_add'"):
        gradcam_heatmaps(trained_nested, xt[:8], layer_name="nope")
    with pytest.raises(DataError, match="class_indices span"):
        gradcam_heatmaps(trained_nested, xt[:8], class_indices=[9] * 8)


def test_gradcam_leaves_the_model_unchanged(trained_nested, data, tmp_path) -> None:
    xt = data["xt"][:20].astype("float32")
    config, before = trained_nested.get_config(), trained_nested.predict(xt, verbose=0)
    gradcam_heatmaps(trained_nested, xt)
    gradcam_heatmaps(trained_nested, xt, layer_name="b_conv1")
    assert trained_nested.get_config() == config
    trained_nested.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded.predict(xt, verbose=0), before, atol=1e-6)


def test_save_grids_writes_decodable_figures(trained_nested, data, space_dir) -> None:
    # Mislabel a few test images so the misclassified grid has content for some classes.
    y = data["yt"].copy()
    y[:6] = (y[:6] + 1) % len(CLASSES)
    paths = save_gradcam_grids(trained_nested, data["xt"], y, CLASSES, space_dir, per_class=2)
    assert [p.name for p in paths] == ["gradcam_correct.png", "gradcam_misclassified.png"]
    for p in paths:
        with Image.open(p) as im:
            im.load()
            assert im.width > 200 and im.height > 200
    meta = json.loads((space_dir / "gradcam.json").read_text())
    assert meta["layer"] == "tiny_backbone/b_add"
    assert all(len(v) == 2 for v in meta["correct"].values())
    wrong = [i for v in meta["misclassified"].values() for i in v]
    assert wrong and all(i < 6 for i in wrong)
