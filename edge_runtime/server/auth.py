"""The optional API key: one shared secret, sent as the ``X-API-Key`` header."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import Security
from fastapi.security import APIKeyHeader

from edge_runtime.server.errors import ApiError

API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "EDGETK_API_KEY"

_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The key the server was started with (--api-key or $EDGETK_API_KEY).",
)


def api_key_checker(expected: str) -> Callable[[str | None], None]:
    """A FastAPI dependency that refuses requests without ``expected`` in ``X-API-Key`` (401)."""
    want = expected.encode("utf-8")

    def require_api_key(key: str | None = Security(_scheme)) -> None:
        if not key:
            raise ApiError(
                401,
                "unauthorized",
                f"this service needs an API key; send it in the {API_KEY_HEADER} header",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )
        # Constant-time comparison: the time taken says nothing about how much of a guess matched.
        if not secrets.compare_digest(key.encode("utf-8"), want):
            raise ApiError(
                401,
                "unauthorized",
                f"the {API_KEY_HEADER} header does not match this service's key",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )

    return require_api_key


__all__ = ["API_KEY_ENV", "API_KEY_HEADER", "api_key_checker"]
