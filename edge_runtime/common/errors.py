"""Typed errors with the exit code the CLI returns for each.

Library code raises these with a message that names the bad value or path and says what to do;
the CLI prints the message (never a traceback) and exits with ``exit_code``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARITY_GATE = 3
EXIT_COLLAPSE = 4


class EdgetkError(Exception):
    """Base of every error a user can cause or fix."""

    exit_code: int = EXIT_FAILURE


class ConfigError(EdgetkError, ValueError):
    """A configuration value is out of range or of the wrong kind."""

    exit_code = EXIT_USAGE


class DataError(EdgetkError):
    """Input data is missing, unreadable or inconsistent."""


class ModelError(EdgetkError):
    """A model, bundle or manifest is missing, corrupt or does not match its description."""


class ParityGateError(EdgetkError):
    """An exported artifact failed its accuracy-parity gate."""

    exit_code = EXIT_PARITY_GATE


class CollapseError(EdgetkError):
    """A trained model collapsed (near-chance accuracy or one dominant predicted class)."""

    exit_code = EXIT_COLLAPSE
