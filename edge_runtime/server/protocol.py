"""Which guarded HTTP/1.1 protocol ``edgetk serve`` runs: httptools when it is installed, else h11.

Both are uvicorn's protocols with the same guard (``protocol_guard.py``): head size limit,
request deadline, JSON refusals. httptools (C) is the faster parser and comes with the ``serve``
extra (``uvicorn[standard]``); h11 (pure Python) is always there, as uvicorn's own dependency.
"""

from __future__ import annotations

import logging

from edge_runtime.common.errors import ConfigError
from edge_runtime.server.protocol_guard import RequestGuard
from edge_runtime.server.settings import HttpParser

log = logging.getLogger(__name__)


def guarded_protocol(parser: HttpParser, request_timeout_s: float) -> type[RequestGuard]:
    """The uvicorn protocol class for ``parser`` ("auto": httptools if importable, else h11)."""
    if parser in ("auto", "httptools"):
        try:
            from edge_runtime.server.protocol_httptools import GuardedHttpToolsProtocol
        except ImportError as exc:
            if parser == "httptools":
                raise ConfigError(
                    f"http='httptools' needs the httptools package ({exc}); install "
                    "edgetk[serve] (it brings uvicorn[standard]) or use --http h11"
                ) from None
            log.info("httptools is not installed (%s): serving with h11", exc)
        else:
            return GuardedHttpToolsProtocol.configured(request_timeout_s)
    from edge_runtime.server.protocol_h11 import GuardedH11Protocol

    return GuardedH11Protocol.configured(request_timeout_s)


__all__ = ["guarded_protocol"]
