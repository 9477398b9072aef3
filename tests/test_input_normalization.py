"""Input normalization as part of the contract: stated with ``--input-normalization``, read from a
leading Rescaling / Normalization layer, or refused; the same arithmetic on the export side (the
gate's arrays) and the device side (the pixel table), per channel too."""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.common.errors import EXIT_USAGE, ConfigError
from edge_runtime.manifest import InputSpec, Manifest
from edge_runtime.preprocess import pixel_lookup, pixel_values, prepare
from export.normalization import Normalization, infer_normalization, normalize_pixels

RGB = InputSpec(height=4, width=4, channels=3, color="rgb", polarity="natural")
GREY = InputSpec(height=4, width=4, channels=1)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [("0..255", 0.0, 255.0), ("0..1", 0.0, 1.0), ("-1..1", -1.0, 1.0)],
)
def test_ranges_map_pixels_on_both_sides_alike(text, first, last) -> None:
    spec = Normalization.parse(text).apply(GREY)
    table = pixel_values(spec)
    assert table[0] == pytest.approx(first) and table[255] == pytest.approx(last)
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_allclose(normalize_pixels(pixels, spec), pixel_lookup(table, pixels), 1e-6)


def test_per_channel_mean_std_on_both_sides_and_layouts() -> None:
    norm = Normalization.parse("mean=123.7,116.3,103.5/std=58.4,57.1,57.4")
    spec = norm.apply(RGB)
    assert spec.mean == (123.7, 116.3, 103.5) and spec.std == (58.4, 57.1, 57.4)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    want = (img.astype(np.float32) - np.float32([123.7, 116.3, 103.5])) / np.float32(
        [58.4, 57.1, 57.4]
    )
    np.testing.assert_allclose(prepare(img, spec), want, rtol=1e-6)
    np.testing.assert_allclose(normalize_pixels(img[None], spec)[0], want, rtol=1e-6)
    nchw = spec.replace(layout="NCHW")
    np.testing.assert_allclose(prepare(img, nchw), want.transpose(2, 0, 1), rtol=1e-6)
    np.testing.assert_allclose(
        normalize_pixels(img.transpose(2, 0, 1)[None], nchw)[0], want.transpose(2, 0, 1), 1e-6
    )
    # The value range says the span over channels; one mean/std value serves every channel.
    assert spec.value_range[0] == pytest.approx(-123.7 / 58.4)
    one = Normalization.parse("mean=127.5/std=127.5").apply(RGB)
    assert one.mean == (127.5,) * 3 and pixel_values(one).shape == (256,)


def test_manifest_keeps_mean_std_and_omits_them_when_unset() -> None:
    assert "mean" not in GREY.to_dict() and "std" not in GREY.to_dict()
    spec = Normalization.parse("mean=120/std=60").apply(GREY)
    data = spec.to_dict()
    assert data["mean"] == [120.0] and InputSpec.from_dict(data) == spec
    assert spec.normalization() == ((120.0,), (60.0,))
    assert Normalization.parse("-1..1").apply(GREY).normalization() == ((127.5,), (127.5,))
    with pytest.raises(ConfigError, match="one value per channel"):
        InputSpec(height=4, width=4, channels=3, color="rgb", mean=(1.0, 2.0), std=(1.0, 1.0))
    assert Manifest.__dataclass_fields__["input"]  # the spec travels inside the manifest


@pytest.mark.parametrize("bad", ["0..2", "mean=1,2/std=1", "mean=1/std=0", "scale=2", ""])
def test_bad_spelling_names_the_option_and_the_choices(bad) -> None:
    with pytest.raises(ConfigError, match=r"--input-normalization .* is not one of 0\.\.255"):
        Normalization.parse(bad)


def test_inspection_reads_leading_layers_or_says_it_cannot_tell() -> None:
    import keras

    def model(*first):
        return keras.Sequential(
            [keras.Input((8, 8, 1)), *first, keras.layers.Flatten(), keras.layers.Dense(2)]
        )

    found = infer_normalization(model(keras.layers.Resizing(8, 8), keras.layers.Rescaling(1 / 255)))
    assert found is not None and found.value_range == (0.0, 255.0) and "Rescaling" in found.origin
    assert infer_normalization(model(keras.layers.Conv2D(2, 3))) is None
    # grey-to-RGB as a concatenation, then the backbone's scaling (scripts/export_quick_model.py)
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(keras.layers.Concatenate()([inp, inp, inp]))
    found = infer_normalization(keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(x))))
    assert found is not None and found.value_range == (0.0, 255.0)
    rng = np.random.default_rng(0)
    raw = keras.layers.Normalization()
    raw.adapt(rng.integers(0, 256, (32, 8, 8, 1)).astype("float32"))
    assert infer_normalization(model(raw)) is not None
    unit = keras.layers.Normalization()
    unit.adapt(rng.random((32, 8, 8, 1)).astype("float32"))
    assert infer_normalization(model(unit)) is None  # adapted on 0..1: the scale is not shown


# -- end to end on Fashion-MNIST: a model trained on 0..1 pixels, no scaling layer -----------------


def _train(ds, first_layers, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), *first_layers, keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = ds.x_train[:8000].astype(np.float32) / 255.0  # the outside convention: 0..1
    model.fit(x, ds.y_train[:8000], epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def fashion(keras_home):
    from trainer.data import DataConfig, load_dataset

    return load_dataset(DataConfig())


def _export(model_path, out, *extra):
    from edgetk.cli import main

    return main(["export", str(model_path), "--out-dir", str(out), "--parity-size", "500",
                 "--calib-size", "100", *extra])  # fmt: skip


@pytest.mark.slow
@pytest.mark.realdata
def test_unscaled_model_is_refused_then_right_with_the_option(fashion, space_dir, capsys) -> None:
    import keras

    from edge_runtime.manifest import load_manifest
    from edge_runtime.predictor import Predictor

    model = _train(
        fashion,
        [keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(),
         keras.layers.Flatten()],
        seed=0,
    )  # fmt: skip
    path = space_dir / "outside cnn.keras"
    model.save(path)
    assert _export(path, space_dir / "refused", "--artifacts", "tflite_fp32") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "cannot tell what pixel values the model takes" in err
    assert "--input-normalization" in err and "Traceback" not in err
    assert not (space_dir / "refused").exists()

    out = space_dir / "bundle"
    rc = _export(
        path, out, "--artifacts", "tflite_fp32,tflite_int8", "--input-normalization", "0..1"
    )
    printed = capsys.readouterr()
    assert rc == 0, printed.out + printed.err
    assert "pixel values 0..1 (--input-normalization)" in printed.out
    m = load_manifest(out, verify_hashes=True)
    assert m.input.value_range == (0.0, 1.0)
    assert m.source_model["normalization_from"] == "--input-normalization"
    # The device, fed raw uint8 test images, answers as the model does on the 0..1 inputs it
    # was trained for.
    x, y = fashion.x_test[:500], fashion.y_test[:500]
    want = model.predict(x.astype(np.float32) / 255.0, verbose=0).argmax(1)
    for artifact, least in (("tflite_fp32", 0.998), ("tflite_int8", 0.97)):
        predictor = Predictor.from_bundle(out, artifact)
        got = np.array([p.index for p in predictor.predict(list(x), polarity="never")])
        predictor.close()
        assert (got == want).mean() >= least, artifact
        # The file alone (its embedded contract: 0..1, labels, polarity) answers the same.
        alone = Predictor.from_artifact(out / m.artifact(artifact).file)
        bare = np.array([p.index for p in alone.predict(list(x), polarity="never")])
        alone.close()
        assert (bare == got).all() and alone.labels == m.labels, artifact
    keras_acc = (want == y).mean()
    assert m.artifact("tflite_fp32").parity["keras_accuracy"] == pytest.approx(keras_acc, abs=0.03)


@pytest.mark.slow
@pytest.mark.realdata
def test_wrong_scale_visibly_hurts_a_saturating_model(fashion, space_dir, capsys) -> None:
    import keras

    from edge_runtime.manifest import load_manifest

    # Batch normalization learned on 0..1 feeding a sigmoid: fed 0..255, the sigmoid saturates.
    # (A ReLU network is nearly scale-invariant; this one is not.)
    layers = keras.layers
    model = _train(
        fashion,
        [layers.Conv2D(8, 3), layers.BatchNormalization(), layers.Activation("sigmoid"),
         layers.MaxPooling2D(), layers.Flatten()],
        seed=1,
    )  # fmt: skip
    path = space_dir / "sigmoid.keras"
    model.save(path)
    acc = {}
    for norm in ("0..1", "0..255"):
        out = space_dir / f"bundle {norm}"
        rc = _export(path, out, "--artifacts", "tflite_fp32", "--input-normalization", norm)
        assert rc == 0, capsys.readouterr().err
        acc[norm] = load_manifest(out).artifact("tflite_fp32").parity["keras_accuracy"]
    # Trained on 0..1 (75 % on these 500 images when this test was written, 59 % fed 0..255):
    # the wrong scale costs far more than the two-standard-error noise of 500 images (~4 points).
    assert acc["0..1"] > 0.7 and acc["0..255"] < acc["0..1"] - 0.08, acc


@pytest.mark.onnx
def test_per_channel_mean_std_through_export_and_the_device(tmp_path) -> None:
    """An RGB model that takes (pixel - mean[c]) / std[c] with a different mean and std per
    channel: exported behind the gate, every artifact answers on raw RGB pictures as the grey
    model it wraps does on the raw grey ones (a runtime that mixed up the channels' statistics
    would feed it other pictures)."""
    import keras

    from edge_runtime.predictor import Predictor
    from export import ExportConfig, GateConfig, export_bundle
    from tests.test_export_support import LABELS, synthetic_split, train_tiny

    x_train, y_train, x_test, y_test = synthetic_split()
    grey_model = train_tiny(x_train, y_train)
    # Channel 2 carries the picture at its own scale (mean 0, std 1); channels 0 and 1 have
    # other statistics, so a runtime that applied one channel's to another feeds other values.
    mean, std = (255.0, 60.0, 0.0), (255.0, 70.0, 1.0)
    inp = keras.Input((*x_train.shape[1:3], 3))
    undo = keras.layers.DepthwiseConv2D(1, name="undo_normalization")  # v * std + mean
    pixels = undo(inp)
    undo.set_weights([np.float32(std).reshape(1, 1, 3, 1), np.float32(mean)])
    pick = keras.layers.Conv2D(1, 1, use_bias=False, name="channel_2")
    grey = pick(pixels)
    pick.set_weights([np.float32([0, 0, 1]).reshape(1, 1, 3, 1)])
    path = tmp_path / "rgb normalized.keras"
    keras.Model(inp, grey_model(grey)).save(path)

    spec = Normalization.parse("mean=255,60,0/std=255,70,1").apply(
        InputSpec(height=16, width=16, channels=3, color="rgb", polarity="natural")
    )
    rgb = lambda a: np.repeat(a, 3, axis=-1)  # noqa: E731
    out = tmp_path / "bundle"
    export_bundle(
        path, out, ExportConfig(formats=("tflite_fp32", "tflite_int8", "onnx_fp32"),
                                gate=GateConfig.lenient()),
        rgb(x_train), y_train, rgb(x_test), y_test, LABELS, input_spec=spec,
    )  # fmt: skip
    want = grey_model.predict(x_test.astype(np.float32), verbose=0).argmax(1)
    for key, least in (("tflite_fp32", 0.995), ("onnx_fp32", 0.995), ("tflite_int8", 0.95)):
        p = Predictor.from_bundle(out, key, polarity="never")
        assert p._input_table.ndim == 2  # the per-channel table, not a shared one
        got = np.array([r.index for r in p.predict(list(rgb(x_test)))])
        p.close()
        assert (got == want).mean() >= least, key
