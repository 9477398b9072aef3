"""The device commands share one definition of --artifact, --threads and --polarity."""

from __future__ import annotations

import pytest

from edge_runtime.cli import camera, predict
from edge_runtime.polarity import POLARITY_CHOICES


def _option(command, name):
    return next(p for p in command.params if p.name == name)


def _assert_shared_options(command) -> None:
    polarity = _option(command, "polarity")
    assert tuple(polarity.type.choices) == tuple(POLARITY_CHOICES)
    assert polarity.default == "auto"
    threads = _option(command, "threads")
    assert threads.default is None and threads.type.name == "integer"
    assert _option(command, "artifact").default is None


def test_shared_options_take_the_same_values_in_every_command() -> None:
    for command in (predict, camera):
        _assert_shared_options(command)


def test_serve_takes_the_same_shared_options() -> None:
    # The smallest install (the `edge` extra, e.g. the emulated arm64 check) has no FastAPI.
    pytest.importorskip("fastapi", reason="serve needs the 'serve' extra")
    from edge_runtime.server.cli import serve

    _assert_shared_options(serve)
    assert _option(serve, "log_level").default == "info"
