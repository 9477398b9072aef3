"""The device commands share one definition of --artifact, --threads and --polarity."""

from __future__ import annotations

from edge_runtime.cli import camera, predict
from edge_runtime.polarity import POLARITY_CHOICES
from edge_runtime.server.cli import serve


def _option(command, name):
    return next(p for p in command.params if p.name == name)


def test_shared_options_take_the_same_values_in_every_command() -> None:
    for command in (predict, camera, serve):
        polarity = _option(command, "polarity")
        assert tuple(polarity.type.choices) == tuple(POLARITY_CHOICES)
        assert polarity.default == "auto"
        threads = _option(command, "threads")
        assert threads.default is None and threads.type.name == "integer"
        assert _option(command, "artifact").default is None
    assert _option(serve, "log_level").default == "info"
