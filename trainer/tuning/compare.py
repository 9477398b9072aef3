"""Best versus default hyperparameters: the same training protocol, scored on validation and test.

Both heads are trained on the cached training features for up to ``max_epochs`` with early
stopping on validation macro-F1 (best weights restored), then scored on the validation and the
TEST features. The result is reported as it comes out, including when the defaults win.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trainer.tuning.features import FeatureSet
from trainer.tuning.head import build_head, one_hot
from trainer.tuning.hyperparameters import HeadHyperparameters
from trainer.tuning.metric import OBJECTIVE, macro_f1, macro_f1_callback


def _scores(y: np.ndarray, probs: np.ndarray, class_names: tuple[str, ...]) -> dict[str, Any]:
    try:
        from trainer.evaluation.metrics import compute_metrics
    except ImportError:  # the evaluation package is optional for the search itself
        pred = probs.argmax(axis=1)
        return {
            "accuracy": float(np.mean(pred == y)),
            "macro_f1": macro_f1(y, pred, len(class_names)),
        }
    m = compute_metrics(y, None, probs, class_names)
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}


def train_and_score(
    features: FeatureSet,
    hps: HeadHyperparameters,
    *,
    max_epochs: int,
    patience: int,
    batch_size: int,
    seed: int,
) -> dict[str, Any]:
    """Train one head with ``hps`` and return its validation and test accuracy / macro-F1."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_head(features.feature_dim, features.num_classes, hps, seed=seed)
    f1 = macro_f1_callback(features.x_val, features.y_val, features.num_classes)
    stop = keras.callbacks.EarlyStopping(
        monitor=OBJECTIVE, mode="max", patience=max(patience, 1), restore_best_weights=True
    )
    t0 = time.perf_counter_ns()
    model.fit(
        features.x_train,
        one_hot(features.y_train, features.num_classes),
        epochs=max_epochs,
        batch_size=batch_size,
        callbacks=[f1, stop],
        verbose=0,
    )
    seconds = (time.perf_counter_ns() - t0) / 1e9
    out = {"hyperparameters": hps.to_dict(), "epochs": f1.epochs_run, "seconds": round(seconds, 2)}
    for split in ("val", "test"):
        x, y = getattr(features, f"x_{split}"), getattr(features, f"y_{split}")
        probs = model.predict(x, batch_size=1024, verbose=0)
        out[split] = _scores(y, probs, features.class_names)
    del model
    keras.backend.clear_session()
    return out


def compare_best_with_default(
    features: FeatureSet,
    best: HeadHyperparameters,
    *,
    max_epochs: int,
    patience: int,
    batch_size: int,
    seed: int,
) -> dict[str, Any]:
    """Train the default and the best head side by side; report both and the differences."""
    kw = {"max_epochs": max_epochs, "patience": patience, "batch_size": batch_size, "seed": seed}
    default = train_and_score(features, HeadHyperparameters.defaults(), **kw)
    tuned = train_and_score(features, best, **kw)
    delta = {
        split: {m: tuned[split][m] - default[split][m] for m in ("accuracy", "macro_f1")}
        for split in ("val", "test")
    }
    return {
        "protocol": {**kw, "early_stopping": OBJECTIVE, "restore_best_weights": True},
        "default": default,
        "best": tuned,
        "best_minus_default": delta,
        "winner_on_test_macro_f1": "best" if delta["test"]["macro_f1"] > 0 else "default",
    }
