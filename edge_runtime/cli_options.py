"""Click options shared by the device commands (predict, camera, bench, serve).

One definition per option, so ``--artifact`` or ``--polarity`` mean the same in every command;
a command may word the help for its own context (``serve``'s thread count is per worker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from edge_runtime.polarity import POLARITY_CHOICES

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def path_option(*decls: str, **attrs: Any) -> Decorator:
    """A file or folder on this machine, a ``Path``; left out, None and the command picks (each
    help says what). ``attrs`` go to ``click.option`` (a narrower ``type``, ``multiple``, ...)."""
    return click.option(*decls, **{"type": click.Path(path_type=Path), "default": None, **attrs})


def shown_option(*decls: str, default: Any, **attrs: Any) -> Decorator:
    """An option whose default ``--help`` shows; its type is the default's (click's rule)."""
    return click.option(*decls, default=default, show_default=True, **attrs)


def choice_option(*decls: str, choices: Sequence[str], **attrs: Any) -> Decorator:
    """One of ``choices``; left out, None and the command picks (each help says what)."""
    return click.option(*decls, type=click.Choice(choices), default=None, **attrs)


_VERIFY_HELP = (
    "Check the artifact's sha256 against the manifest before loading it (default); "
    "--no-verify runs a changed file anyway, with a warning."
)


def verify_option(help: str = _VERIFY_HELP) -> Decorator:
    """``--verify/--no-verify``: the artifact integrity check every bundle-loading command has."""
    return shown_option("--verify/--no-verify", default=True, help=help)


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
    return shown_option(
        "--polarity", type=click.Choice(POLARITY_CHOICES), default="auto", help=help
    )


def log_level_option(default: str = "info") -> Decorator:
    return shown_option("--log-level", type=click.Choice(LOG_LEVELS), default=default)


__all__ = [
    "LOG_LEVELS",
    "Decorator",
    "artifact_option",
    "choice_option",
    "log_level_option",
    "path_option",
    "polarity_option",
    "shown_option",
    "threads_option",
    "verify_option",
]
