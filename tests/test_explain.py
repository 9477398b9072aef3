"""Saliency from the runtime (edge_runtime/explain.py): occlusion maps computed by each artifact's
own runtime find the evidence a model uses, agree between float and int8 artifacts of one model,
and fall to chance for a model with random weights (the sanity check a saliency method must pass).

The model is the test suite's quadrant classifier: each 16x16 image's class is the quadrant that
holds its one bright 4x4 square, so where the evidence is is known for every image.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.explain import (
    colorize,
    overlay,
    plan,
    positions,
    rank_correlation,
    top_overlap,
)
from tests.test_export_support import LABELS, synthetic_split, tiny_model, train_tiny

ARTIFACTS = ("model_fp32.tflite", "model_int8.tflite", "model_fp32.onnx")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """A trained model's bundle (TFLite fp32 / int8, ONNX fp32) and a random-weights model's."""
    from export import ExportConfig, GateConfig, export_bundle

    root = tmp_path_factory.mktemp("explain")
    x_train, y_train, x_test, y_test = synthetic_split()
    out = {}
    for name, model in (
        ("trained", train_tiny(x_train, y_train, epochs=10)),
        ("random", tiny_model(7)),
    ):
        path = root / f"{name}.keras"
        model.save(path)
        out[name] = export_bundle(
            path, root / name,
            ExportConfig(
                formats=("tflite_fp32", "tflite_int8", "onnx_fp32"),
                gate=GateConfig.lenient(), allow_parity_failure=True,
            ),
            x_train, y_train, x_test[:200], y_test[:200], LABELS, name=name,
        ).bundle_dir  # fmt: skip
    return out, x_test[:40], y_test[:40]


def _maps(bundle, artifact, images, targets=None):
    from edge_runtime import Predictor

    # never: these noise images are the model's own kind; auto would invert some of them
    p = Predictor.from_bundle(bundle, artifact, polarity="never")
    try:
        return [
            p.explain(img, target=None if targets is None else int(t))
            for img, t in zip(images, targets if targets is not None else [None] * len(images))
        ]
    finally:
        p.close()


def _bright_square(image: np.ndarray) -> tuple[slice, slice]:
    """Where the 4x4 bright square is (the evidence): the brightest 4x4 window."""
    img = image[..., 0].astype(np.float64)
    best = max(
        ((img[r : r + 4, c : c + 4].sum(), r, c) for r in range(13) for c in range(13)),
    )
    return slice(best[1], best[1] + 4), slice(best[2], best[2] + 4)


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_the_map_peaks_on_the_evidence(bundles, artifact: str) -> None:
    b, x, y = bundles
    maps = _maps(b["trained"], artifact, x)
    hits = []
    for img, label, e in zip(x, y, maps):
        if e.index != label:
            continue
        rs, cs = _bright_square(img)
        peak = np.unravel_index(np.argmax(e.saliency), e.saliency.shape)
        near = rs.start - 1 <= peak[0] < rs.stop + 1 and cs.start - 1 <= peak[1] < cs.stop + 1
        hits.append(near)
        assert e.saliency.shape == (16, 16) and e.saliency.min() >= 0 and e.saliency.max() <= 1
        assert e.passes <= 257 and e.label == LABELS[e.index]
    assert len(hits) >= 30, "the model should get most of these images right"
    assert np.mean(hits) >= 0.9, (
        f"{artifact}: the peak is on the bright square in {np.mean(hits):.0%}"
    )


def test_float_and_int8_maps_agree(bundles) -> None:
    b, x, y = bundles
    fp32 = _maps(b["trained"], "model_fp32.tflite", x, y)
    int8 = _maps(b["trained"], "model_int8.tflite", x, y)
    rho = [rank_correlation(a.saliency, c.saliency) for a, c in zip(fp32, int8)]
    iou = [top_overlap(a.saliency, c.saliency, 0.1) for a, c in zip(fp32, int8)]
    print("fp32 vs int8: median rank correlation", np.median(rho), "top-10% IoU", np.median(iou))
    assert np.median(rho) > 0.45 and np.median(iou) > 0.6, (np.median(rho), np.median(iou))


def test_random_weights_destroy_the_map(bundles) -> None:
    """The sanity check of Adebayo et al. (2018): a method whose maps survive randomizing the
    model's weights is not explaining the model. Here agreement with the trained model's maps
    falls to about zero, while the trained model's own float and int8 maps agree (above)."""
    b, x, y = bundles
    trained = _maps(b["trained"], "model_fp32.tflite", x, y)
    random = _maps(b["random"], "model_fp32.tflite", x, y)
    rho = [rank_correlation(a.saliency, c.saliency) for a, c in zip(trained, random)]
    hits = 0
    for img, e in zip(x, random):
        rs, cs = _bright_square(img)
        peak = np.unravel_index(np.argmax(e.saliency), e.saliency.shape)
        hits += rs.start <= peak[0] < rs.stop and cs.start <= peak[1] < cs.stop
    print("trained vs random weights: median rank correlation", np.median(rho))
    assert np.median(rho) < 0.3, np.median(rho)
    assert hits / len(x) < 0.5


def test_plan_bounds_the_passes() -> None:
    assert plan(28, 28) == (7, 2) and len(positions(28, 28, 7, 2)) == 144
    for h, w, budget in ((224, 224, 256), (40, 120, 64), (16, 16, 10), (3, 5, 1)):
        patch, stride = plan(h, w, budget)
        where = positions(h, w, patch, stride)
        assert len(where) <= budget or patch == min(h, w)
        covered = np.zeros((h, w), bool)
        for r, c in where:
            covered[r : r + patch, c : c + patch] = True
        assert covered.all(), (h, w, budget)  # every pixel gets a value
    with pytest.raises(ValueError, match="max_passes"):
        plan(10, 10, 0)


def test_agreement_measures() -> None:
    a = np.arange(16, dtype=float).reshape(4, 4)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert rank_correlation(a, np.zeros_like(a)) == 0.0
    assert top_overlap(a, a, 0.25) == 1.0 and top_overlap(a, -a, 0.25) == 0.0


def test_overlay_is_the_image_size_in_colour() -> None:
    img = np.zeros((30, 50), np.uint8)
    sal = np.zeros((10, 10), np.float32)
    sal[0, 0] = 1
    out = overlay(img, sal)
    assert out.shape == (30, 50, 3) and out.dtype == np.uint8
    assert out[0, 0].sum() > out[-1, -1].sum()  # hot where the map is
    assert colorize(np.array([[0.0, 1.0]])).shape == (1, 2, 3)


def test_bundle_api_and_cli(bundles, tmp_path, capsys) -> None:  # noqa: ANN001
    from PIL import Image

    import edgetk
    from edgetk.cli import main

    b, x, y = bundles
    for i in range(3):
        Image.fromarray(x[i][..., 0]).save(tmp_path / f"img{i}.png")
    with edgetk.load(b["trained"], polarity="never") as bundle:
        e = bundle.explain(tmp_path / "img0.png")
        assert e.saliency.shape == (16, 16) and e.ms > 0
        assert bundle.explain(x[0], target=LABELS[1]).index == 1
        with pytest.raises(Exception, match="is not a class of this bundle"):
            bundle.explain(x[0], target="sideways")
    out = tmp_path / "maps out"
    args = ["predict", str(b["trained"]), str(tmp_path), "--invert", "never", "--explain", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "wrote 3 saliency overlay(s)" in err
    assert sorted(p.name for p in out.iterdir()) == ["img0.png", "img1.png", "img2.png"]
    assert Image.open(out / "img0.png").size == (16, 16)


def test_the_gate_records_explanation_agreement(bundles) -> None:
    """Every artifact's manifest entry and parity.md carry its agreement with the Keras model's
    maps; an artifact of the trained model agrees far better than chance."""
    from edge_runtime.manifest import load_manifest

    b, _, _ = bundles
    m = load_manifest(b["trained"])
    for art in m.artifacts:
        e = art.parity["explanations"]
        assert e["images"] == 16 and set(e["per_class"]) <= set(LABELS)
        assert e["rank_correlation"]["q1"] <= e["rank_correlation"]["median"] <= 1
        assert e["top_overlap"]["median"] > 0.5, (art.file, e)
    md = (b["trained"] / "parity.md").read_text()
    assert "## Explanation agreement" in md and "| tflite_int8 |" in md.split("## Explanation")[1]
