"""The search objective is macro-F1, exactly as scikit-learn computes it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from trainer.tuning.metric import OBJECTIVE, macro_f1, macro_f1_callback

# A fixed prediction with an imperfect class, a never-predicted class (3) and a class that is
# predicted but absent from the truth (4): the cases where macro-F1 implementations disagree.
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 1])
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 2, 0, 4, 2, 0, 1])


def test_macro_f1_equals_sklearn_on_a_fixed_prediction() -> None:
    expected = f1_score(Y_TRUE, Y_PRED, labels=list(range(5)), average="macro", zero_division=0)
    assert macro_f1(Y_TRUE, Y_PRED, 5) == pytest.approx(expected, abs=1e-12)
    # Not accuracy, not micro-F1: the fixed case separates them.
    assert macro_f1(Y_TRUE, Y_PRED, 5) != pytest.approx(np.mean(Y_TRUE == Y_PRED))


def test_macro_f1_random_cases_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        k = int(rng.integers(2, 12))
        y = rng.integers(0, k, 200)
        p = np.where(rng.random(200) < 0.6, y, rng.integers(0, k, 200))
        expected = f1_score(y, p, labels=list(range(k)), average="macro", zero_division=0)
        assert macro_f1(y, p, k) == pytest.approx(expected, abs=1e-12)


def test_callback_logs_sklearn_macro_f1_of_the_models_predictions() -> None:
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    y = rng.integers(0, 3, 120)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    cb = macro_f1_callback(x, y, 3)
    hist = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[cb])
    pred = model.predict(x, verbose=0).argmax(axis=1)
    expected = f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0)
    assert len(hist.history[OBJECTIVE]) == 2  # logged each epoch, seen by History
    assert hist.history[OBJECTIVE][-1] == pytest.approx(expected, abs=1e-12)
    assert cb.epochs_run == 2
