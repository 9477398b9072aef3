"""Grad-CAM for Keras 3 classifiers, including models whose backbone is a nested ``keras.Model``.

Why not the textbook recipe: ``keras.Model(model.inputs, [conv.output, model.output])`` fails
in Keras 3 when ``conv`` lives inside a nested backbone (the inner model's tensors are not
connected to the outer graph). Instead the model is cut into two callables at the chosen layer,

    to_features:  raw pixels -> [outer layers before the backbone] -> backbone up to the layer
    to_scores:    the layer's output -> rest of the backbone -> head -> class scores

built from sub-models of the existing graphs (no weights copied), and the gradient of the class
score with respect to the layer's output is taken under ``tf.GradientTape`` with that output
watched explicitly, which also works when the backbone is frozen (``trainable=False``).

Class scores are the pre-softmax logits when the model ends in a softmax (a ``Dense`` with softmax
activation, or a ``Softmax`` / ``Activation('softmax')`` layer): softmax saturation would make the
gradients of confident predictions vanish.
"""

from __future__ import annotations

import logging
import textwrap
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from edge_runtime.common.errors import ConfigError, DataError, ModelError
from edge_runtime.common.fileio import write_json
from trainer.evaluation.evaluate import predict_probabilities
from trainer.evaluation.figures import new_figure, save_figure, show_image

log = logging.getLogger(__name__)

# Layers with a 4-D output that are not feature extractors: a CAM there explains nothing.
_NOT_FEATURE_LAYERS = (
    "InputLayer",
    "Resizing",
    "Rescaling",
    "Normalization",
    "CenterCrop",
    "Flatten",
    "Reshape",
    "ZeroPadding2D",
    "Cropping2D",
    "UpSampling2D",
)


def _node0(layer: Any) -> Any:
    """The layer's first call in a graph: the one of the model it was built in.

    Later entries can be clones Keras appended when a sub-model was cut from the graph.
    """
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        raise ModelError(f"layer {layer.name!r} is not connected in the model graph")
    return nodes[0]


def _graph_output(layer: Any) -> Any:
    """The layer's output tensor in the graph that contains it (nested models included)."""
    outs = _node0(layer).output_tensors
    if len(outs) != 1:
        raise ModelError(f"layer {layer.name!r} has {len(outs)} outputs; Grad-CAM needs one")
    return outs[0]


def _linear_chain(layers: Sequence[Any], start: Any, end: Any) -> list[Any] | None:
    """The layers leading from tensor ``start`` to ``end`` if they form a simple chain, else None.

    In a chain every layer has one input and one output, so ``end`` depends on ``start`` only.
    """
    chain, cur = [], start
    while cur is not end:
        consumers = [lyr for lyr in layers if any(t is cur for t in _node0(lyr).input_tensors)]
        if len(consumers) != 1:
            return None
        node = _node0(consumers[0])
        if len(node.input_tensors) != 1 or len(node.output_tensors) != 1:
            return None
        chain.append(consumers[0])
        cur = node.output_tensors[0]
    return chain


def _path(layers: Sequence[Any], start: Any, end: Any) -> Callable[[Any], Any]:
    """A callable computing tensor ``end`` from tensor ``start`` of the graph holding ``layers``."""
    chain = _linear_chain(layers, start, end)
    if chain is not None:
        # Eager calls add no nodes to the graph: the user's model is left exactly as it was.
        def run(t: Any) -> Any:
            for lyr in chain:
                t = lyr(t, training=False)
            return t

        return run
    # A branching graph: Keras cuts a sub-model by cloning the nodes between the two tensors
    # (it appends them to the layers' node lists, which is why _node0 reads the first node).
    sub = keras.Model(start, end)
    return lambda t: sub(t, training=False)


def _is_feature_layer(layer: Any) -> bool:
    kind = type(layer).__name__
    if kind in _NOT_FEATURE_LAYERS or kind.startswith("Random"):
        return False
    if "Pooling" in kind or "Dropout" in kind:
        return False
    try:
        return len(_graph_output(layer).shape) == 4
    except ModelError:
        return False


def _last_feature_layer(model: Any) -> Any | None:
    return next((lyr for lyr in reversed(model.layers) if _is_feature_layer(lyr)), None)


def _find_target(model: Any, layer_name: str | None) -> tuple[Any | None, Any]:
    """(nested container or None, target layer). ``layer_name`` may be ``"backbone/layer"``."""
    if layer_name:
        # Some Keras layer names contain "/" themselves (MobileNetV3's "conv_1/BatchNorm"), so
        # the whole name is tried first, then "container/rest", then a search of nested models.
        try:
            return None, model.get_layer(layer_name)
        except ValueError:
            pass
        head, sep, rest = layer_name.partition("/")
        if sep:
            try:
                container = model.get_layer(head)
                if isinstance(container, keras.Model):
                    return container, container.get_layer(rest)
            except ValueError:
                pass
        for lyr in model.layers:
            if isinstance(lyr, keras.Model):
                try:
                    return lyr, lyr.get_layer(layer_name)
                except ValueError:
                    continue
        choices = []
        for lyr in model.layers:
            if isinstance(lyr, keras.Model):
                # The deepest few are the useful ones; a backbone has a hundred.
                inner = [f"{lyr.name}/{i.name}" for i in lyr.layers if _is_feature_layer(i)]
                choices += (["..."] if len(inner) > 5 else []) + inner[-5:]
            elif _is_feature_layer(lyr):
                choices.append(lyr.name)
        raise ConfigError(
            f"no layer {layer_name!r} in model {model.name!r}; layers with a 4-D output: "
            f"{choices} (use 'backbone_name/layer_name' for a layer inside a nested backbone)"
        )
    top = _last_feature_layer(model)
    if top is None:
        raise ModelError(
            f"model {model.name!r} has no layer with a 4-D (N, H, W, C) output to explain; "
            "Grad-CAM needs a convolutional model"
        )
    if isinstance(top, keras.Model):
        inner = _last_feature_layer(top)
        if inner is None:
            raise ModelError(f"nested model {top.name!r} has no layer with a 4-D output")
        if isinstance(inner, keras.Model):
            raise ModelError(
                f"{top.name!r} nests another model {inner.name!r}; pass layer_name explicitly"
            )
        return top, inner
    return None, top


def _is_softmax(fn: Any) -> bool:
    return getattr(fn, "__name__", "") == "softmax"


class _CamGraph:
    """The model cut at the target layer: ``to_features`` and ``to_scores`` (see module doc)."""

    def __init__(self, model: Any, layer_name: str | None) -> None:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ModelError(
                f"Grad-CAM needs a single-input, single-output model; {model.name!r} has "
                f"{len(model.inputs)} inputs and {len(model.outputs)} outputs"
            )
        container, target = _find_target(model, layer_name)
        self.layer_path = f"{container.name}/{target.name}" if container else target.name

        last = model.layers[-1]
        self._dense: Any | None = None
        if isinstance(last, keras.layers.Dense) and _is_softmax(last.activation):
            score_src, self._dense, self.logits = _node0(last).input_tensors[0], last, True
        elif isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)
        ):
            score_src, self.logits = _node0(last).input_tensors[0], True
        else:
            score_src, self.logits = model.outputs[0], False

        feat = _graph_output(target)
        self._to_f: list[Callable[[Any], Any]] = []
        self._to_s: list[Callable[[Any], Any]] = []
        try:
            if container is None:
                self._to_f.append(keras.Model(model.inputs, feat))
                self._to_s.append(_path(model.layers, feat, score_src))
            else:
                node = _node0(container)
                if len(node.input_tensors) != 1 or len(container.outputs) != 1:
                    raise ModelError(f"nested model {container.name!r} must have one input/output")
                pre_out, outer_out = node.input_tensors[0], node.output_tensors[0]
                if pre_out is not model.inputs[0]:
                    self._to_f.append(keras.Model(model.inputs, pre_out))
                self._to_f.append(keras.Model(container.inputs, feat))
                self._to_s.append(_path(container.layers, feat, container.outputs[0]))
                self._to_s.append(_path(model.layers, outer_out, score_src))
        except ValueError as exc:
            # Keras says "not connected" when a skip connection bypasses the cut.
            raise ModelError(
                f"cannot cut model {model.name!r} at layer {self.layer_path!r} for Grad-CAM "
                f"({exc}); choose a layer that every path to the output goes through"
            ) from None

    def to_features(self, x: Any) -> Any:
        for stage in self._to_f:
            x = stage(x) if not isinstance(stage, keras.Model) else stage(x, training=False)
        return x

    def to_scores(self, f: Any) -> Any:
        for stage in self._to_s:
            f = stage(f)
        if self._dense is not None:
            f = tf.matmul(f, self._dense.kernel)
            if self._dense.use_bias:
                f = f + self._dense.bias
        return tf.cast(f, tf.float32)


# One cut per (model, layer): cutting a branching graph makes Keras append cloned nodes to the
# layers, which must not pile up when Grad-CAM runs repeatedly on the same model.
_CUTS: weakref.WeakKeyDictionary[Any, dict[str | None, _CamGraph]] = weakref.WeakKeyDictionary()


def _cut(model: Any, layer_name: str | None) -> _CamGraph:
    per_model = _CUTS.setdefault(model, {})
    if layer_name not in per_model:
        per_model[layer_name] = _CamGraph(model, layer_name)
    return per_model[layer_name]


def resolve_gradcam_layer(model: Any, layer_name: str | None = None) -> str:
    """The layer Grad-CAM would use, as ``"layer"`` or ``"nested_model/layer"``."""
    container, target = _find_target(model, layer_name)
    return f"{container.name}/{target.name}" if container else target.name


def gradcam_heatmaps(
    model: Any,
    images: np.ndarray,
    class_indices: Sequence[int] | np.ndarray | None = None,
    layer_name: str | None = None,
    *,
    batch_size: int = 64,
) -> np.ndarray:
    """Grad-CAM heatmaps, one per image, at the images' own resolution.

    Args:
        model: a single-input Keras classifier taking raw pixels (NHWC).
        images: (N, H, W, C) raw pixels (uint8 or float).
        class_indices: the class to explain per image; ``None`` explains the predicted class.
        layer_name: the layer to explain, ``"layer"`` or ``"nested_model/layer"``; ``None`` picks
            the last layer with a 4-D output (inside the backbone when the backbone is nested).
        batch_size: images per gradient pass.

    Returns:
        float32 array (N, H, W) in [0, 1]; each map is scaled so its maximum is 1 (all zeros when
        no location has positive evidence).
    """
    x = np.asarray(images)
    if x.ndim != 4:
        raise DataError(f"images must be NHWC, got shape {x.shape}")
    n, h, w = x.shape[:3]
    if class_indices is not None:
        cls = np.asarray(class_indices, dtype=np.int64).ravel()
        if len(cls) != n:
            raise DataError(f"{n} images but {len(cls)} class_indices")
    graph = _cut(model, layer_name)
    k = int(model.outputs[0].shape[-1])
    if class_indices is not None and len(cls) and (cls.min() < 0 or cls.max() >= k):
        raise DataError(
            f"class_indices span {cls.min()}..{cls.max()} but the model has {k} classes"
        )
    out = np.zeros((n, h, w), dtype=np.float32)
    for start in range(0, n, batch_size):
        xb = tf.convert_to_tensor(x[start : start + batch_size], dtype=tf.float32)
        feats = tf.cast(graph.to_features(xb), tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(feats)
            scores = graph.to_scores(feats)
            if class_indices is None:
                chosen = tf.argmax(scores, axis=1)
            else:
                chosen = tf.constant(cls[start : start + batch_size])
            target = tf.gather(scores, chosen, axis=1, batch_dims=1)
        grads = tape.gradient(target, feats)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * feats, axis=-1, keepdims=True))
        cam = tf.image.resize(cam, (h, w), method="bilinear")[..., 0].numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1)
        cam = np.divide(
            cam, peak[:, None, None], out=np.zeros_like(cam), where=peak[:, None, None] > 0
        )
        out[start : start + len(cam)] = np.clip(cam, 0.0, 1.0)
    return out


def _pick(
    idx: np.ndarray, confidence: np.ndarray, k: int, rng: np.random.Generator, confident: bool
) -> np.ndarray:
    if confident:
        return idx[np.argsort(-confidence[idx], kind="stable")][:k]
    return np.sort(rng.choice(idx, size=min(k, len(idx)), replace=False)) if len(idx) else idx


def _draw_grid(
    x: np.ndarray,
    heat: dict[int, np.ndarray],
    rows: list[np.ndarray],
    y: np.ndarray,
    pred: np.ndarray,
    conf: np.ndarray,
    class_names: Sequence[str],
    per_class: int,
    title: str,
    out_path: Path,
) -> Path:
    k = len(class_names)
    fig = new_figure(1.3 * 2 * per_class + 1.6, 1.35 * k + 0.6)
    axes = fig.subplots(k, 2 * per_class, squeeze=False)
    for c in range(k):
        for j in range(per_class):
            ax_img, ax_cam = axes[c, 2 * j], axes[c, 2 * j + 1]
            if j >= len(rows[c]):
                ax_img.axis("off")
                ax_cam.axis("off")
                if j == 0:
                    ax_img.text(0.5, 0.5, "none", ha="center", va="center", fontsize=8)
                continue
            i = int(rows[c][j])
            show_image(ax_img, x[i])
            show_image(ax_cam, x[i])
            hh, ww = x[i].shape[:2]
            ax_cam.imshow(
                heat[i],
                cmap="jet",
                alpha=0.45,
                vmin=0,
                vmax=1,
                interpolation="bilinear",
                extent=(-0.5, ww - 0.5, hh - 0.5, -0.5),
            )
            ax_img.set_title(f"T: {class_names[y[i]]}", fontsize=7)
            ax_cam.set_title(f"P: {class_names[pred[i]]} {conf[i]:.2f}", fontsize=7)
        axes[c, 0].set_ylabel(class_names[c], fontsize=8, rotation=0, ha="right", va="center")
    width = 1.3 * 2 * per_class + 1.6
    # About 12 characters of 10-pt text per inch of figure.
    fig.suptitle("\n".join(textwrap.wrap(title, int(12 * width))), fontsize=10)
    return save_figure(fig, out_path)


def save_gradcam_grids(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str],
    out_dir: str | Path,
    per_class: int = 2,
    *,
    layer_name: str | None = None,
    max_scan: int = 3000,
    seed: int = 0,
    batch_size: int = 256,
) -> list[Path]:
    """Grad-CAM overlay grids for correct and misclassified examples of every class.

    Writes ``gradcam_correct.png`` (random correct examples per class, seeded),
    ``gradcam_misclassified.png`` (the most confident mistakes per true class) and
    ``gradcam.json`` (the layer explained and the sample indices) into ``out_dir``. Each example
    is shown plain and with the heatmap of the class the model predicted. At most ``max_scan``
    samples (a seeded random subset) are predicted to find the examples.

    Returns:
        The paths of the two PNG grids.
    """
    if per_class < 1:
        raise ConfigError(f"per_class={per_class!r} is out of range; allowed [1, inf]")
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.int64)
    if len(x) != len(y) or len(x) == 0:
        raise DataError(f"need equally many images and labels (> 0), got {len(x)} and {len(y)}")
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    scan = np.arange(len(x))
    if len(x) > max_scan:
        scan = np.sort(rng.choice(len(x), size=max_scan, replace=False))
    probs = predict_probabilities(model, x[scan], batch_size=batch_size)
    pred_s = np.nan_to_num(probs, nan=-np.inf).argmax(axis=1)
    conf_s = probs.max(axis=1)
    pred = np.full(len(x), -1, dtype=np.int64)
    conf = np.zeros(len(x))
    pred[scan], conf[scan] = pred_s, conf_s

    k = len(class_names)
    correct_rows, wrong_rows = [], []
    for c in range(k):
        in_c = scan[y[scan] == c]
        correct_rows.append(_pick(in_c[pred[in_c] == c], conf, per_class, rng, confident=False))
        wrong_rows.append(_pick(in_c[pred[in_c] != c], conf, per_class, rng, confident=True))
    chosen = np.unique(np.concatenate(correct_rows + wrong_rows)).astype(np.int64)
    layer = resolve_gradcam_layer(model, layer_name)
    maps = gradcam_heatmaps(model, x[chosen], pred[chosen], layer_name, batch_size=32)
    heat = dict(zip(chosen.tolist(), maps))

    names = [str(c) for c in class_names]
    paths = [
        _draw_grid(
            x,
            heat,
            correct_rows,
            y,
            pred,
            conf,
            names,
            per_class,
            f"Grad-CAM ({layer}): correctly classified, heatmap of the predicted class",
            out / "gradcam_correct.png",
        ),
        _draw_grid(
            x,
            heat,
            wrong_rows,
            y,
            pred,
            conf,
            names,
            per_class,
            f"Grad-CAM ({layer}): misclassified (most confident mistakes), heatmap of the "
            "predicted class",
            out / "gradcam_misclassified.png",
        ),
    ]
    write_json(
        out / "gradcam.json",
        {
            "layer": layer,
            "explained_class": "predicted",
            "scanned": int(len(scan)),
            "correct": {names[c]: correct_rows[c].tolist() for c in range(k)},
            "misclassified": {names[c]: wrong_rows[c].tolist() for c in range(k)},
            "figures": [str(p) for p in paths],
        },
    )
    log.info("Grad-CAM grids (%s) -> %s", layer, out)
    return paths
