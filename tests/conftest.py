"""Shared test set-up: the offline Keras cache, quiet TensorFlow, a headless matplotlib."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # tests/test_conftest_ci.py runs this conftest in a scratch project

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

_SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "keras-home").resolve()
if "KERAS_HOME" not in os.environ and (_SHARED / "datasets").is_dir():
    os.environ["KERAS_HOME"] = str(_SHARED)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The smallest install (the 'edge' extra, e.g. on the emulated arm64 root) has no ONNX
    # Runtime: its tests run there, those of the ONNX artifacts say why they do not.
    if any(item.get_closest_marker("onnx") for item in items) and not _importable("onnxruntime"):
        skip = pytest.mark.skip(reason="needs onnxruntime: pip install 'edgetk[onnx]'")
        for item in items:
            if item.get_closest_marker("onnx"):
                item.add_marker(skip)


def _fashion_mnist_cache() -> Path | None:
    home = os.environ.get("KERAS_HOME")
    if home and (Path(home) / "datasets" / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists():
        return Path(home)
    return None


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def keras_home() -> Path:
    """The Fashion-MNIST / ImageNet-weights cache.

    A developer without it gets a skip; on CI (``CI=true``) its absence fails every test that
    needs it, so a CI run cannot pass having quietly tested less.
    """
    home = _fashion_mnist_cache()
    if home is None:
        why = (
            "no Fashion-MNIST cache: set KERAS_HOME or place ../shared/keras-home beside the "
            "checkout"
        )
        if _on_ci():
            pytest.fail(f"{why} (CI=true: the data tests must run)", pytrace=False)
        pytest.skip(why)
    return home


@pytest.fixture
def space_dir(tmp_path: Path) -> Path:
    """A fresh folder whose path contains spaces (paths with spaces must work everywhere)."""
    d = tmp_path / "dir with spaces"
    d.mkdir()
    return d
