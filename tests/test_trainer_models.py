"""Model builders: shapes, in-graph preprocessing, nested backbone, augmentation, save/reload."""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError, ModelError


@pytest.fixture(scope="module")
def keras():
    from trainer import env

    env.prepare()
    import keras

    return keras


def test_baseline_outputs_probabilities(keras) -> None:
    from trainer.models import build_baseline

    m = build_baseline((16, 16, 1), 4, filters=(8, 8, 8), dense_units=(16,))
    x = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 1)).astype("float32")
    p = np.asarray(m(x, training=False))
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # Scaling to 0..1 is a layer of the model: raw pixels go in.
    assert m.get_layer("scale").scale == pytest.approx(1 / 255)


def test_baseline_rejects_too_small_input(keras) -> None:
    from trainer.models import build_baseline

    with pytest.raises(ConfigError, match="too small for 3 pooling blocks"):
        build_baseline((4, 4, 1), 3)


def test_transfer_graph_preprocessing_matches_keras_preprocess_input(keras) -> None:
    """Resize -> grey-to-RGB -> preprocess layers equal the backbone's own preprocess_input."""
    from trainer.models import build_transfer, find_backbone

    m = build_transfer((16, 16, 1), 3, image_size=32, weights="none", dense_units=(8,))
    backbone = find_backbone(m)
    assert backbone.name == "backbone" and not backbone.trainable
    front = keras.Model(m.input, m.get_layer("preprocess").output)
    x = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 1)).astype("float32")
    got = np.asarray(front(x))
    resized = np.asarray(keras.ops.image.resize(x, (32, 32), interpolation="bilinear"))
    rgb = np.repeat(resized, 3, axis=-1)
    want = keras.applications.mobilenet_v2.preprocess_input(rgb.copy())
    assert got.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert got.min() >= -1.0 - 1e-6 and got.max() <= 1.0 + 1e-6


def test_augmentation_only_in_training(keras) -> None:
    from trainer.models import AugmentConfig, build_baseline, find_augmentation

    m = build_baseline((16, 16, 1), 3, filters=(4, 4, 4), augment=AugmentConfig(), seed=3)
    aug = find_augmentation(m)
    assert aug is not None and [lyr.name for lyr in aug.layers] == [
        "flip",
        "rotation",
        "translation",
    ]
    x = np.random.default_rng(2).integers(0, 256, (8, 16, 16, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    assert not np.allclose(np.asarray(aug(x, training=True)), x)
    assert find_augmentation(build_baseline((16, 16, 1), 3, augment=AugmentConfig.off())) is None


def test_find_backbone_on_baseline_says_why(keras) -> None:
    from trainer.models import build_baseline, find_backbone

    with pytest.raises(ModelError, match="no nested layer named 'backbone'"):
        find_backbone(build_baseline((16, 16, 1), 3))


def test_unknown_backbone_and_alpha_are_config_errors(keras) -> None:
    from trainer.models import build_transfer

    with pytest.raises(ConfigError, match="backbone='resnet9000' is not known"):
        build_transfer((16, 16, 1), 3, backbone="resnet9000", weights="none")
    with pytest.raises(ConfigError, match=r"alpha=0\.42 is not available for mobilenet_v2"):
        build_transfer((16, 16, 1), 3, alpha=0.42, weights="none")


def test_transfer_saves_and_reloads_identically(keras, space_dir) -> None:
    from trainer.models import AugmentConfig, build_transfer

    m = build_transfer(
        (16, 16, 1), 3, image_size=32, weights="none", augment=AugmentConfig(), dense_units=(8,)
    )
    path = space_dir / "m.keras"
    m.save(path)
    again = keras.models.load_model(path, compile=False)
    x = np.random.default_rng(4).integers(0, 256, (3, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(m(x)), atol=1e-6)
    assert again.get_layer("backbone").name == "backbone"
