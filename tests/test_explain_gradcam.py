"""Sanity of the runtime's saliency on the float model: occlusion (edge_runtime.explain) against
Grad-CAM (trainer/gradcam.py), and against the model itself (deletion).

1. The quadrant task (tests/test_export_support), where the evidence is known: the occlusion map
   the runtime computes with the TFLite fp32 artifact and Grad-CAM of the Keras model find the same
   square (on the images where Grad-CAM has a map at all), and agree far more with each other
   than with the map of an image of another class.
2. Real Fashion-MNIST (slow): a small CNN trained on 12,000 images of the training split, 256
   other training-split images explained. The two methods barely agree there (their maps answer
   different questions), so the check that decides which to trust is deletion: hide each map's
   10 % most salient pixels and see how much the explained class's probability falls. The
   occlusion map's pixels matter to the model; Grad-CAM's no more than random pixels do. The
   numbers are printed and quoted in docs/edge_runtime.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.explain import occlusion_maps, rank_correlation, top_overlap
from tests.test_export_support import LABELS, synthetic_split, train_tiny


def _q(a) -> str:
    q1, m, q3 = np.percentile(a, [25, 50, 75])
    return f"{m:.2f} [{q1:.2f}, {q3:.2f}] (n={len(a)})"


def _other_same_class(classes: np.ndarray) -> np.ndarray:
    """For each image, the next image explained for the same class (the chance baseline)."""
    out = np.arange(len(classes))
    for i, c in enumerate(classes):
        same = [j for j in range(len(classes)) if j != i and classes[j] == c]
        out[i] = same[0] if same else i
    return out


def test_occlusion_and_gradcam_find_the_same_evidence(tmp_path) -> None:
    from edge_runtime import Predictor
    from export import ExportConfig, GateConfig, export_bundle
    from trainer.gradcam import gradcam_heatmaps

    x_train, y_train, x_test, y_test = synthetic_split()
    model = train_tiny(x_train, y_train, epochs=10)
    path = tmp_path / "quadrants.keras"
    model.save(path)
    cfg = ExportConfig(formats=("tflite_fp32",), gate=GateConfig.lenient(), explain_images=0)
    bundle = export_bundle(
        path, tmp_path / "b", cfg, x_train, y_train, x_test[:200], y_test[:200], LABELS
    ).bundle_dir
    x = x_test[:40]
    p = Predictor.from_bundle(bundle, polarity="never")
    try:
        occ = [p.explain(img) for img in x]
    finally:
        p.close()
    classes = np.asarray([e.index for e in occ])
    cams = gradcam_heatmaps(model, x, classes)
    # Grad-CAM is empty (no positive evidence at the last convolution) on some images; occlusion
    # never is here. The comparison is on the images where both have a map.
    full = np.flatnonzero([c.max() > 0 for c in cams])
    other = _other_class(classes)  # the chance baseline: an image whose square is elsewhere
    rho = np.array([rank_correlation(occ[i].saliency, cams[i]) for i in full])
    iou = np.array([top_overlap(occ[i].saliency, cams[i], 0.1) for i in full])
    rho_other = np.array([rank_correlation(occ[i].saliency, cams[other[i]]) for i in full])
    iou_other = np.array([top_overlap(occ[i].saliency, cams[other[i]], 0.1) for i in full])
    hit_occ = np.mean([_on_square(e.saliency, img) for e, img in zip(occ, x)])
    hit_cam = np.mean([_on_square(cams[i], x[i]) for i in full])
    print(f"quadrants, {len(x)} images, {len(full)} with a Grad-CAM map: occlusion vs Grad-CAM "
          f"rho {_q(rho)}, top-10% IoU {_q(iou)}; against another class's image: rho "
          f"{_q(rho_other)}, IoU {_q(iou_other)}; peak on the square: occlusion {hit_occ:.0%} of "
          f"{len(x)}, Grad-CAM {hit_cam:.0%} of {len(full)}")  # fmt: skip
    assert len(full) >= 25 and hit_occ >= 0.95 and hit_cam >= 0.9
    assert np.median(rho) > np.median(rho_other) + 0.3, (np.median(rho), np.median(rho_other))
    assert np.median(iou) > np.median(iou_other) + 0.2, (np.median(iou), np.median(iou_other))


def _on_square(saliency: np.ndarray, image: np.ndarray) -> bool:
    from tests.test_explain import _bright_square

    rs, cs = _bright_square(image)
    r, c = np.unravel_index(np.argmax(saliency), saliency.shape)
    return rs.start - 1 <= r < rs.stop + 1 and cs.start - 1 <= c < cs.stop + 1


def _other_class(classes: np.ndarray) -> np.ndarray:
    """For each image, the next image explained for another class."""
    return np.array([next(j for j in range(len(classes)) if classes[j] != c) for c in classes])


def _deletion_drop(run, x: np.ndarray, classes: np.ndarray, maps, fraction: float = 0.1):
    """The explained class's probability drop when each map's top ``fraction`` pixels are
    filled with the image's mean (the occlusion's own fill)."""
    idx = np.arange(len(x))
    before = run(x)[idx, classes]
    hidden = x.copy()
    k = int(fraction * x[0, ..., 0].size)
    for i, m in enumerate(maps):
        top = np.argsort(-np.asarray(m).ravel(), kind="stable")[:k]
        flat = hidden[i, ..., 0].reshape(-1)
        flat[top] = np.round(x[i].mean())
        hidden[i, ..., 0] = flat.reshape(x.shape[1:3])
    return before - run(hidden)[idx, classes]


@pytest.mark.slow
@pytest.mark.realdata
def test_fashion_mnist_occlusion_is_faithful_gradcam_disagrees(keras_home) -> None:
    import keras

    from trainer.gradcam import gradcam_heatmaps

    (x, y), _ = keras.datasets.fashion_mnist.load_data()  # the training split only
    order = np.random.default_rng(0).permutation(len(x))
    train, held = order[:12000], order[-256:]
    x = x[..., None]
    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    h = keras.layers.Rescaling(1 / 255.0)(inp)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(64, activation="relu")(h)
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[train].astype("float32"), y[train].astype("int32"), epochs=3, batch_size=128,
              verbose=0)  # fmt: skip
    xv, yv = x[held], y[held]
    run = lambda p: model.predict(p.astype("float32"), batch_size=512, verbose=0)  # noqa: E731
    assert (run(xv).argmax(1) == yv).mean() > 0.75

    occ = occlusion_maps(run, xv)
    classes = np.asarray([c for _, c, _, _ in occ])
    occ_maps = [m for m, *_ in occ]
    cams = gradcam_heatmaps(model, xv, classes)
    other = _other_same_class(classes)
    rho = np.array([rank_correlation(a, b) for a, b in zip(occ_maps, cams)])
    iou = np.array([top_overlap(a, b, 0.1) for a, b in zip(occ_maps, cams)])
    rho_other = np.array([rank_correlation(occ_maps[i], cams[j]) for i, j in enumerate(other)])
    rng = np.random.default_rng(1)
    d_occ = _deletion_drop(run, xv, classes, occ_maps)
    d_cam = _deletion_drop(run, xv, classes, cams)
    d_rand = _deletion_drop(run, xv, classes, [rng.random((28, 28)) for _ in occ_maps])
    print(
        f"fashion-mnist, {len(xv)} images: occlusion vs Grad-CAM rho {_q(rho)}, top-10% IoU "
        f"{_q(iou)}; vs another image's Grad-CAM rho {_q(rho_other)}; empty Grad-CAM maps "
        f"{int(sum(c.max() <= 0 for c in cams))}. Deletion of the top 10 %: occlusion "
        f"{_q(d_occ)}, Grad-CAM {_q(d_cam)}, random {_q(d_rand)}"
    )
    # Occlusion's most salient pixels are the ones the model needs ...
    assert np.median(d_occ) > 0.15 and np.mean(d_occ > d_rand) > 0.85
    # ... Grad-CAM's (at the last convolution of this small CNN) far less so
    assert np.median(d_occ) > 3 * max(np.median(d_cam), 0.01)
    # and the two maps share little: same-image agreement is close to another image's
    assert np.median(rho) < 0.4, np.median(rho)
