"""Click options shared by the device commands (predict, camera, bench, serve).

One definition per option, so ``--artifact`` or ``--polarity`` mean the same in every command;
a command may word the help for its own context (``serve``'s thread count is per worker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from edge_runtime.polarity import POLARITY_CHOICES

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def artifact_option(
    help: str = "Artifact file or format:precision (default: the manifest's).",
) -> Decorator:
    return click.option("--artifact", default=None, help=help)


def threads_option(help: str = "Runtime CPU threads (default: runtime's).") -> Decorator:
    return click.option("--threads", default=None, type=int, help=help)


def polarity_option(
    help: str = (
        "Invert the picture to match the model's training polarity: auto (invert when the border "
        "is brighter than the centre, for a light-on-dark model), as-is, or invert."
    ),
) -> Decorator:
    return click.option(
        "--polarity",
        type=click.Choice(POLARITY_CHOICES),
        default="auto",
        show_default=True,
        help=help,
    )


def log_level_option(default: str = "info") -> Decorator:
    return click.option(
        "--log-level", type=click.Choice(LOG_LEVELS), default=default, show_default=True
    )


__all__ = [
    "LOG_LEVELS",
    "artifact_option",
    "log_level_option",
    "polarity_option",
    "threads_option",
]
