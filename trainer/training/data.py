"""tf.data pipelines from the uint8 arrays: shuffled, batched, cast to float32 raw pixels."""

from __future__ import annotations

from typing import Any

import numpy as np


def make_pipeline(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    num_classes: int,
    shuffle: bool,
    seed: int,
    one_hot: bool = False,
) -> Any:
    """A ``tf.data.Dataset`` of (float32 raw pixels 0..255, labels) batches.

    Images stay uint8 in memory (4x smaller) and are cast per batch; ``one_hot`` labels are needed
    for label smoothing. Shuffling is reseeded every epoch from ``seed`` (reproducible order).
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def cast(xb: Any, yb: Any) -> tuple[Any, Any]:
        xb = tf.cast(xb, tf.float32)
        if one_hot:
            yb = tf.one_hot(yb, num_classes)
        return xb, yb

    return ds.map(cast, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
