"""Errors of remote benchmarking: one line each, naming the device and what to do."""

from __future__ import annotations

from edge_runtime.common.errors import EdgetkError


class RemoteError(EdgetkError):
    """A device could not be reached, set up or measured (exit code 1)."""


class UnreachableError(RemoteError):
    """The SSH connection could not be opened (name, route, refused, timed out)."""


class AuthError(RemoteError):
    """The device refused our credentials."""


class HostKeyError(RemoteError):
    """The device's host key is unknown or changed: never accepted silently."""


__all__ = ["AuthError", "HostKeyError", "RemoteError", "UnreachableError"]
