"""Every failure the service reports has one JSON shape: ``{"error": {"code", "message"}}``.

Handlers here turn our ``ApiError``, Starlette's 404 / 405, FastAPI's parameter validation and any
unexpected exception into that shape, so a client never has to parse HTML or a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every non-2xx response."""

    error: ErrorDetail


class ApiError(Exception):
    """A request the service refuses: HTTP ``status``, a stable machine ``code``, a human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON response for an error (also used by middleware that runs outside the router)."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


# Codes for the statuses Starlette raises itself (unknown route, wrong method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no route {request.url.path!r}; see /openapi.json for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}; see /openapi.json for the API"
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None))


def _describe_validation(errors: list[Any]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "header"))
        value = err.get("input")
        shown = f" (got {value!r})" if value is not None and not isinstance(value, dict) else ""
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "invalid request"


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, "invalid_parameter", _describe_validation(list(exc.errors())))


async def _client_gone(_: Request, exc: ClientDisconnect) -> JSONResponse:
    # Nobody will read this answer; the status keeps the metrics honest (not a server fault).
    # 499 is the de-facto code for "client closed request".
    return error_response(499, "client_closed_request", "the client went away mid-request")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal_error", "the service failed on this request; the server log has the cause"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the ``ErrorBody`` shape."""
    # Each handler is registered for exactly the type its signature names.
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ClientDisconnect, _client_gone)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


__all__ = ["ApiError", "ErrorBody", "error_response", "install_error_handlers"]
