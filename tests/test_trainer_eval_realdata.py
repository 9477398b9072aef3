"""Real Fashion-MNIST: a briefly trained CNN passes the collapse check, a constant model fails it."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_real_fashion_mnist_good_and_collapsed(keras_home, space_dir) -> None:
    import keras

    from edge_runtime.common.errors import CollapseError
    from trainer.data import FASHION_MNIST_LABELS
    from trainer.evaluation import evaluate_model, raise_if_collapsed

    (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), 6000, replace=False)
    x, y, xt = x[idx, ..., None], y[idx], xt[..., None]

    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    h = keras.layers.Rescaling(1 / 255.0)(inp)
    h = keras.layers.Conv2D(16, 3, activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x.astype("float32"), y, epochs=2, batch_size=128, verbose=0)

    good = evaluate_model(model, xt, yt, FASHION_MNIST_LABELS, space_dir / "good", stage="baseline")
    assert good["n_samples"] == 10_000
    assert good["accuracy"] > 0.75 and good["status"] == "ok"
    raise_if_collapsed(good, "baseline")
    # Shirt is the classic hard class on Fashion-MNIST: it appears among the confused pairs.
    assert any("Shirt" in (p["true_name"], p["predicted_name"]) for p in good["most_confused"])

    # The user's failure: a model that answers one class scores exactly chance (10 %).
    broken = keras.Model(
        inp,
        keras.layers.Dense(
            10,
            activation="softmax",
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(np.eye(10)[8]),
        )(keras.layers.Flatten()(inp)),
    )
    bad = evaluate_model(broken, xt, yt, FASHION_MNIST_LABELS, space_dir / "bad", stage="transfer")
    assert bad["accuracy"] == pytest.approx(0.10)
    with pytest.raises(CollapseError, match="'Bag'"):
        raise_if_collapsed(bad, "transfer")
