"""The device commands share one definition of --artifact, --threads, --top-k and --invert."""

from __future__ import annotations

import pytest

from edge_runtime.cli import camera, predict
from edge_runtime.polarity import INVERT_CHOICES
from edge_runtime.prediction import DEFAULT_TOP_K


def _option(command, name):
    return next(p for p in command.params if p.name == name)


def _assert_shared_options(command) -> None:
    invert = _option(command, "invert")
    assert tuple(invert.type.choices) == tuple(INVERT_CHOICES) == ("auto", "never", "always")
    assert invert.default == "auto"
    threads = _option(command, "threads")
    assert threads.default is None and threads.type.min == 1
    assert _option(command, "artifact").default is None
    assert _option(command, "top_k").default == DEFAULT_TOP_K == 3


def test_shared_options_take_the_same_values_in_every_command() -> None:
    for command in (predict, camera):
        _assert_shared_options(command)


def test_serve_takes_the_same_shared_options() -> None:
    # The smallest install (the `edge` extra, e.g. the emulated arm64 check) has no FastAPI.
    pytest.importorskip("fastapi", reason="serve needs the 'serve' extra")
    from edge_runtime.server.cli import serve
    from edge_runtime.server.settings import ServeConfig

    _assert_shared_options(serve)
    assert _option(serve, "log_level").default == "info"
    assert ServeConfig(bundle="b").top_k == DEFAULT_TOP_K  # the config agrees with the option
