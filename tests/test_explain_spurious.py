"""A constructed case where top-1 parity passes and explanation agreement does not.

Two models of the quadrant task (tests/test_export_support) are trained on versions of the data
that carry the label twice: the bright 4x4 square in the class's quadrant, and a spurious cue,
a 2x6 bar of 255 in the diagonally opposite quadrant. Model A is trained where the bar is in a
random quadrant (only the square carries the label), model B where the square is (only the bar
does). On images that carry both, the two answer the same, for different reasons: A looks at the
square, B at the bar, a quarter of the image away.

B's exported TFLite artifact, judged against A's Keras model with the gate's own functions
(``export.parity.check_parity``, ``export.explain_parity``), passes every top-1 budget of the
default int8 preset and fails both explanation budgets; A's own int8 artifact passes both. The
top-1 gate alone would ship B in A's place.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_export_support import LABELS, SIZE, synthetic_images, train_tiny

N_GATE = 200


def _with_bar(x: np.ndarray, quadrants: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = x.copy()
    half = SIZE // 2
    for i, q in enumerate(quadrants):
        r0 = (q // 2) * half + rng.integers(0, half - 2)
        c0 = (q % 2) * half + rng.integers(0, half - 6 + 1)
        x[i, r0 : r0 + 2, c0 : c0 + 6, 0] = 255
    return x


def cue_data(n: int, seed: int, informative: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels where ``informative`` ("square", "bar" or "both") carries the label."""
    rng = np.random.default_rng(seed + 100)
    x, y = synthetic_images(n, seed)
    bar = 3 - y if informative != "square" else rng.integers(0, 4, n)
    if informative == "bar":  # the square in a quadrant of its own, unrelated to y
        x, _ = synthetic_images(n, seed + 7)
    return _with_bar(x, bar, rng), y


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    from export import ExportConfig, GateConfig, export_bundle

    root = tmp_path_factory.mktemp("spurious cue")
    x_gate, y_gate = cue_data(N_GATE, 1, "both")
    out = {}
    for name, informative in (("square", "square"), ("bar", "bar")):
        x, y = cue_data(1600, 0, informative)
        model = train_tiny(x, y, epochs=10)
        path = root / f"{name}.keras"
        model.save(path)
        # each model is exported behind its own gate, on images that carry both cues
        cfg = ExportConfig(formats=("tflite_int8",), gate=GateConfig.default(), explain_images=0)
        bundle = export_bundle(path, root / name, cfg, x, y, x_gate, y_gate, LABELS, name=name)
        out[name] = (model, bundle.bundle_dir / "model_int8.tflite")
    return out, x_gate, y_gate


def _judge_against_square_model(case, artifact_of: str):
    """The gate's verdicts for ``artifact_of``'s int8 artifact against model A ("square")."""
    from export import GateConfig
    from export.explain_parity import agreement, judge_explanations, keras_reference
    from export.parity import check_parity
    from export.runners import predict_artifact

    models, x, y = case
    keras_a = lambda v: models["square"][0].predict(v, batch_size=256, verbose=0)  # noqa: E731
    path = models[artifact_of][1]
    run = lambda v: predict_artifact(path, "tflite", v, 64, 2)  # noqa: E731
    t = GateConfig.default().int8
    top1 = check_parity(
        artifact_of, "int8", keras_a(x.astype(np.float32)), run(x.astype(np.float32)), y, LABELS,
        t, confidence=GateConfig.default().confidence,
    )  # fmt: skip
    ref = keras_reference(keras_a, x, y, 16, seed=0, max_passes=256)
    explained = agreement(ref, run, LABELS)
    return top1, explained, judge_explanations(explained, t)


def test_same_answers_different_reasons(case) -> None:
    top1, explained, fails = _judge_against_square_model(case, "bar")
    m = top1.metrics
    print("bar model's int8 vs square model:", m["agreement"], explained["rank_correlation"],
          explained["top_overlap"])  # fmt: skip
    assert top1.passed, top1.failures  # the top-1 gate would ship it
    assert m["agreement"] >= 0.97 and m["accuracy"] >= 0.97
    # ... but it looks elsewhere: the maps share almost none of their most salient pixels
    assert explained["top_overlap"]["median"] < 0.1, explained["top_overlap"]
    assert explained["rank_correlation"]["median"] < 0.3, explained["rank_correlation"]
    assert len(fails) == 2 and all(f.startswith("explanation ") for f in fails)


def test_the_same_reasons_pass(case) -> None:
    """The control: model A's own int8 artifact keeps A's maps and passes both budgets."""
    top1, explained, fails = _judge_against_square_model(case, "square")
    print("square model's int8 vs itself:", explained["rank_correlation"], explained["top_overlap"])
    assert top1.passed and fails == [], (top1.failures, fails)
    assert explained["top_overlap"]["median"] >= 0.6
