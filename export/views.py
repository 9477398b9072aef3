"""Test-time views: average the model over a few transformed copies of each image, in the graph.

A network trained with random flips and shifts has learned that a mirrored or slightly moved
garment is the same garment, and its errors on the copies are partly independent: averaging the
probabilities of the copies is a cheap ensemble (Fashion-MNIST, ``resnet_fast``: about +0.3 points
on the 10,000 test images with 6 views, docs/candidates.md). It costs inference, not training:
the deployed graph runs the network on every view (6 views: 6x the compute per image).

The views live inside the exported graph, so every runtime (TFLite, ONNX Runtime, the service,
the camera) gets them without code of its own:

    pixels (B, H, W, C) -> ViewStack -> (V*B, H, W, C) -> network -> (V*B, K) -> ViewMean -> (B, K)

Both layers are gathers, a concatenation, a reshape and a mean: plain ops in TFLite (also int8)
and ONNX. Shifts repeat the edge row instead of filling with a colour, so they fit either image
polarity. Only the transforms training used may be views (a flipped digit is another digit):
flips need the ``flip`` augmentation, shifts a translation or padded crop.

Which views ship is chosen on the validation split only (``choose_views``): a richer option
must beat the plain model by a margin an exact McNemar test calls real, else the plain model
ships.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from export.significance import binomial_sf

log = logging.getLogger(__name__)

View = tuple[bool, int]  # (mirror left-right, rows shifted down; negative: up)

# The menu, in order of cost. "auto" picks among the allowed entries on validation.
VIEW_SETS: dict[str, tuple[View, ...]] = {
    "none": ((False, 0),),
    "flip": ((False, 0), (True, 0)),
    "shift": ((False, 0), (False, -1), (False, 1)),
    "flip_shift": ((False, 0), (True, 0), (False, -1), (False, 1), (True, -1), (True, 1)),
}
VIEW_CHOICES = ("auto", *VIEW_SETS)
NEEDS = {"flip": ("flip",), "shift": ("shift",), "flip_shift": ("flip", "shift"), "none": ()}
ALPHA = 0.05  # a richer view set must beat the plain model at this one-sided McNemar level


def check_choice(value: str) -> None:
    if value not in VIEW_CHOICES:
        raise ConfigError(
            f"test_time_views={value!r} is not a choice; use one of {list(VIEW_CHOICES)}"
        )


def allowed_transforms(augment: dict[str, Any] | None) -> tuple[str, ...]:
    """The view transforms a model's training augmentation (its config's ``augment``) covers."""
    aug = augment or {}
    out = []
    if aug.get("flip"):
        out.append("flip")
    if (aug.get("crop_padding") or 0) > 0 or (aug.get("translation") or 0) > 0:
        out.append("shift")
    return tuple(out)


def shift_fill(augment: dict[str, Any] | None) -> str:
    """How a shifted view fills the rows it uncovers: as the training shift did. The padded
    crop fills with zeros ("zero"); a translation alone repeats the edge ("edge")."""
    return "zero" if ((augment or {}).get("crop_padding") or 0) > 0 else "edge"


def _index(n: int, shift: int, mirror: bool, fill: str = "edge") -> np.ndarray:
    """Source index of every output row/column: a shift repeats the edge, or points at index
    ``n`` (a zero row appended by the caller) with ``fill="zero"``; a mirror reverses."""
    src = np.arange(n) - shift
    idx = np.where((src < 0) | (src >= n), n, src) if fill == "zero" else np.clip(src, 0, n - 1)
    return idx[::-1].copy() if mirror else idx


def apply_views(x: np.ndarray, views: tuple[View, ...], fill: str = "edge") -> list[np.ndarray]:
    """The views of NHWC images ``x`` in numpy (what ``ViewStack`` computes in the graph)."""
    h, w = x.shape[1], x.shape[2]
    padded = np.concatenate([x, np.zeros_like(x[:, :1])], axis=1) if fill == "zero" else x
    return [padded[:, _index(h, dy, False, fill)][:, :, _index(w, 0, flip)] for flip, dy in views]


@cache
def _layers():
    import keras

    @keras.saving.register_keras_serializable(package="edgetk")
    class ViewStack(keras.layers.Layer):
        """(B, H, W, C) -> (V*B, H, W, C): the views stacked along the batch, view-major."""

        def __init__(self, views, fill="edge", **kwargs):
            super().__init__(**kwargs)
            self.views = [(bool(f), int(dy)) for f, dy in views]
            self.fill = str(fill)

        def call(self, x):
            h, w = int(x.shape[1]), int(x.shape[2])
            shifted = any(dy for _, dy in self.views)
            src = x
            if shifted and self.fill == "zero":  # one zero row below the image to gather from
                src = keras.ops.concatenate([x, keras.ops.zeros_like(x[:, :1])], axis=1)
            out = []
            for flip, dy in self.views:
                v = x
                if dy:
                    idx = _index(h, dy, False, self.fill).astype("int32")
                    v = keras.ops.take(src, idx, axis=1)
                if flip:
                    v = keras.ops.take(v, _index(w, 0, True).astype("int32"), axis=2)
                out.append(v)
            return keras.ops.concatenate(out, axis=0) if len(out) > 1 else out[0]

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {
                **super().get_config(),
                "views": [list(v) for v in self.views],
                "fill": self.fill,
            }

    @keras.saving.register_keras_serializable(package="edgetk")
    class ViewMean(keras.layers.Layer):
        """(V*B, K) -> (B, K): the mean of each image's V rows."""

        def __init__(self, count, **kwargs):
            super().__init__(**kwargs)
            self.count = int(count)

        def call(self, p):
            k = int(p.shape[-1])
            return keras.ops.mean(keras.ops.reshape(p, (self.count, -1, k)), axis=0)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "count": self.count}

    return ViewStack, ViewMean


def build_view_model(model: Any, views: tuple[View, ...], fill: str = "edge") -> Any:
    """``model`` averaged over ``views`` (the model itself for the single plain view)."""
    if tuple(views) == VIEW_SETS["none"]:
        return model
    import keras

    view_stack, view_mean = _layers()
    inp = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name="pixels", dtype="float32")
    x = view_stack(views, fill, name="test_time_views")(inp)
    x = model(x, training=False)
    out = view_mean(len(views), name="view_mean")(x)
    return keras.Model(inp, out, name=f"{model.name}_views{len(views)}")


@dataclass(frozen=True)
class ViewChoice:
    """Which view set ships, and the validation numbers it was chosen on."""

    name: str
    views: tuple[View, ...]
    reason: str
    table: tuple[dict[str, Any], ...] = ()
    fill: str = "edge"

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.name,
            "views": [{"mirror": f, "shift_rows": dy} for f, dy in self.views],
            "count": len(self.views),
            "shift_fill": self.fill,
            "reason": self.reason,
            "validation": list(self.table),
            "alpha": ALPHA,
        }


def choose_views(
    predict,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    setting: str,
    allowed: tuple[str, ...],
    fill: str = "edge",
) -> ViewChoice:
    """The view set for ``setting`` ("auto" or a name of ``VIEW_SETS``).

    ``predict(x) -> probabilities`` runs the plain model. "auto" reads the validation images only
    (never the gate's test images) and keeps the plain model unless a richer allowed set beats it
    significantly; among those that do, the most accurate wins (the cheaper on a tie).
    """
    check_choice(setting)
    if setting != "auto":
        missing = [t for t in NEEDS[setting] if t not in allowed]
        if missing:
            raise ConfigError(
                f"test_time_views={setting!r} needs the {' and '.join(missing)} augmentation, "
                f"which this model was not trained with (it used {list(allowed) or 'none'}); "
                "use 'auto' or 'none'"
            )
        return ViewChoice(setting, VIEW_SETS[setting], "set by the export config", fill=fill)
    options = [n for n in VIEW_SETS if n != "none" and all(t in allowed for t in NEEDS[n])]
    if not options:
        why = "training used neither flips nor shifts, so no view is known to be harmless"
        return ViewChoice("none", VIEW_SETS["none"], why)
    if x_val is None or y_val is None or not len(y_val):
        return ViewChoice("none", VIEW_SETS["none"], "no validation images to choose on")
    y = np.asarray(y_val, np.int64)
    needed = sorted({v for n in options for v in VIEW_SETS[n]} | {(False, 0)})
    probs = dict(zip(needed, (predict(v) for v in apply_views(np.asarray(x_val), needed, fill))))
    plain_ok = probs[(False, 0)].argmax(1) == y
    rows: list[dict[str, Any]] = [
        {"views": "none", "count": 1, "accuracy": float(plain_ok.mean()), "images": len(y)}
    ]
    best, best_acc = "none", float(plain_ok.mean())
    for name in options:
        ok = sum(probs[v] for v in VIEW_SETS[name]).argmax(1) == y
        gained, lost = int((ok & ~plain_ok).sum()), int((plain_ok & ~ok).sum())
        p = binomial_sf(gained, gained + lost, 0.5) if gained + lost else 1.0
        acc = float(ok.mean())
        rows.append(
            {
                "views": name,
                "count": len(VIEW_SETS[name]),
                "accuracy": acc,
                "images": len(y),
                "gained_vs_none": gained,
                "lost_vs_none": lost,
                "p_vs_none": p,
            }
        )
        if p <= ALPHA and acc > best_acc:
            best, best_acc = name, acc
    reason = (
        f"the most accurate on {len(y)} validation images of the sets that beat the plain model "
        f"at p <= {ALPHA} (exact McNemar, one-sided)"
        if best != "none"
        else f"no richer set beat the plain model on {len(y)} validation images at p <= {ALPHA}"
    )
    return ViewChoice(best, VIEW_SETS[best], reason, tuple(rows), fill)


def views_markdown(choice: ViewChoice) -> list[str]:
    """Lines for parity.md: the views shipped and the validation table they were chosen on."""
    lines = [
        "",
        f"Test-time views: **{choice.name}** ({len(choice.views)} per image, shifts fill "
        f"{choice.fill}; {choice.reason}).",
    ]
    if choice.table:
        lines += ["", "| views | count | validation accuracy | gained / lost vs none | p |"]
        lines += ["|---|---:|---:|---:|---:|"]
        for r in choice.table:
            gl = f"{r['gained_vs_none']} / {r['lost_vs_none']}" if "gained_vs_none" in r else "-"
            p = f"{r['p_vs_none']:.3g}" if "p_vs_none" in r else "-"
            lines.append(
                f"| {r['views']} | {r['count']} | {100 * r['accuracy']:.2f} % | {gl} | {p} |"
            )
    return lines
