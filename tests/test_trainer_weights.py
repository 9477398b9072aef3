"""Backbone weights: ImageNet through the Keras cache, a file, or a clear error - never random."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_runtime.common.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]


def test_missing_weights_file_is_a_clear_error(space_dir) -> None:
    from trainer.models import build_transfer

    missing = space_dir / "no such weights.h5"
    with pytest.raises(ModelError, match="weights file .*no such weights.h5 does not exist"):
        build_transfer((16, 16, 1), 3, weights=str(missing))


def test_wrong_weights_file_is_a_clear_error(space_dir) -> None:
    from trainer.models import build_transfer

    bogus = space_dir / "bogus.weights.h5"
    bogus.write_bytes(b"not an hdf5 file")
    with pytest.raises(ModelError, match="does not fit mobilenet_v2"):
        build_transfer((16, 16, 1), 3, weights=str(bogus))


def test_no_imagenet_cache_offline_says_how_to_provide_weights(tmp_path) -> None:
    """KERAS_HOME with no weights and no network: ModelError naming the three remedies."""
    code = (
        "from trainer.models import build_transfer\n"
        "from edge_runtime.common.errors import ModelError\n"
        "try:\n"
        "    build_transfer((28, 28, 1), 10)\n"
        "except ModelError as exc:\n"
        "    print('MODELERROR', exc)\n"
        "else:\n"
        "    print('BUILT')\n"
    )
    home = tmp_path / "empty keras home"
    home.mkdir()
    env = {**os.environ, "KERAS_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    # Any proxy would let Keras reach the internet; this test is about the offline case.
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(k, None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if "BUILT" in out.stdout:
        pytest.skip("this machine can download ImageNet weights; the offline error cannot occur")
    assert "MODELERROR cannot load ImageNet weights for mobilenet_v2 alpha=0.35" in out.stdout
    assert "run once with internet access" in out.stdout
    assert "set KERAS_HOME" in out.stdout
    assert "--weights /path/to/file.h5" in out.stdout


def test_imagenet_weights_from_the_offline_cache(keras_home) -> None:
    """The shared cache's _224_ file loads into the open-size backbone: real, non-random weights."""
    from trainer.models import build_transfer, find_backbone

    a = find_backbone(build_transfer((28, 28, 1), 10, weights="imagenet"))
    b = find_backbone(build_transfer((28, 28, 1), 10, weights="imagenet"))
    r = find_backbone(build_transfer((28, 28, 1), 10, weights="none", seed=1))
    first = a.get_layer("Conv1").get_weights()[0]
    assert (first == b.get_layer("Conv1").get_weights()[0]).all()  # deterministic: loaded
    assert not (first == r.get_layer("Conv1").get_weights()[0]).all()  # not random init
