"""Interop forms of a model: what runtimes that cannot take the dataset's own input need.

MediaPipe Tasks' ``ImageClassifier`` (and most camera pipelines) feed RGB frames: a grey model is
refused ("depth = 3 or 4"). ``rgb_front`` puts the grey conversion inside the graph, with the
device's own luma weights (``edge_runtime.preprocess.to_grey``), so the artifact takes RGB pixels
and answers as the grey model does; combined with ``tflite_uint8`` (raw uint8 pixels in) it is the
form MediaPipe loads (benchmarks/interop/mediapipe.md). The wrapped graph goes through the same
parity gate as any other: the gate's images are the dataset's, in RGB form.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from edge_runtime.manifest import InputSpec
from edge_runtime.preprocess import LUMA_WEIGHTS

OPTION = "--rgb-input"


def rgb_front(model: Any) -> Any:
    """``model`` (grey NHWC input) behind an RGB input and a fixed luma 1x1 convolution."""
    import keras

    h, w, c = (int(d) for d in model.input_shape[1:])
    if c != 1:
        raise ConfigError(f"{OPTION} is for models of grey input; this one takes {c} channels")
    inp = keras.Input((h, w, 3), name="pixels")
    grey = keras.layers.Conv2D(1, 1, use_bias=False, trainable=False, name="rgb_to_grey")
    x = grey(inp)
    grey.set_weights([np.asarray(LUMA_WEIGHTS, np.float32).reshape(1, 1, 3, 1)])
    return keras.Model(inp, model(x), name=f"{model.name}_rgb")


def rgb_arrays(x: np.ndarray | None) -> np.ndarray | None:
    """Grey NHWC images in RGB form (the channel repeated), as the device's ``to_rgb`` gives."""
    return None if x is None else np.repeat(np.asarray(x), 3, axis=-1)


def rgb_spec(spec: InputSpec) -> InputSpec:
    """The grey contract ``spec`` for the RGB-front graph (a single mean/std per channel)."""
    mean, std = spec.mean, spec.std
    return spec.replace(
        channels=3,
        color="rgb",
        mean=mean * 3 if len(mean) == 1 else mean,
        std=std * 3 if len(std) == 1 else std,
    )


__all__ = ["OPTION", "rgb_arrays", "rgb_front", "rgb_spec"]
