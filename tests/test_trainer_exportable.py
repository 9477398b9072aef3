"""The trainer's models convert with the TFLite converter and tf2onnx and match Keras.

The export layer does the real export; this guards the trainer side: no layer of the models
(augmentation, resize, grey-to-RGB, preprocessing, nested backbone) blocks conversion.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def model():
    from trainer import env

    env.prepare()
    from trainer.models import AugmentConfig, build_transfer

    return build_transfer(
        (16, 16, 1), 3, image_size=32, weights="none", dense_units=(8,), augment=AugmentConfig()
    )


def _x() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (4, 16, 16, 1)).astype("float32")


def test_tflite_conversion_matches_keras(model) -> None:
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    interp = Interpreter(model_content=tflite)
    inp = interp.get_input_details()[0]
    interp.resize_tensor_input(inp["index"], (4, 16, 16, 1))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], _x())
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, np.asarray(model(_x(), training=False)), atol=1e-5)


@pytest.mark.slow
def test_onnx_conversion_matches_keras(model, tmp_path) -> None:
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, 16, 16, 1), tf.float32, name="pixels"),)
    fn = tf.function(lambda x: model(x, training=False))
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: _x()})[0]
    np.testing.assert_allclose(got, np.asarray(model(_x(), training=False)), atol=1e-5)
