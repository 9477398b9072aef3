"""Polarity of a whole training set: decided by a clear majority, never guessed per picture."""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError
from edge_runtime.polarity import dataset_polarity


def test_dataset_polarity_is_decided_by_a_clear_majority() -> None:
    light = np.zeros((20, 20), np.uint8)
    light[6:14, 6:14] = 200  # a bright object on black
    dark = 255 - light
    assert dataset_polarity([light] * 19 + [dark]) == "light_on_dark"
    assert dataset_polarity([dark] * 19 + [light]) == "dark_on_light"
    # Photos: borders brighter in some, darker in others. Never invert any of them.
    assert dataset_polarity([light] * 12 + [dark] * 8) == "natural"
    assert dataset_polarity([np.full((20, 20), 90, np.uint8)] * 5) == "natural"  # no evidence
    with pytest.raises(ConfigError, match=r"polarity majority=0.4 must be in"):
        dataset_polarity([light], majority=0.4)


def test_fashion_mnist_reads_as_light_on_dark(keras_home) -> None:
    import gzip

    path = keras_home / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as fh:
        x = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    assert dataset_polarity(x[:2000]) == "light_on_dark"
