"""Which HTTP/1.1 protocol ``edgetk serve`` runs (httptools when installed, else h11), and what
both share. Their behaviour on real sockets is in ``test_serve_connections.py``."""

from __future__ import annotations

import sys

import pytest
from uvicorn.protocols.http import h11_impl

from edge_runtime.common.errors import ConfigError
from edge_runtime.server.protocol import guarded_protocol
from edge_runtime.server.protocol_guard import RequestGuard, json_service_unavailable
from edge_runtime.server.protocol_h11 import GuardedH11Protocol
from edge_runtime.server.settings import ServeConfig
from tests.test_serve_support import TINY_BUNDLE

httptools_impl = pytest.importorskip("uvicorn.protocols.http.httptools_impl")
GuardedHttpToolsProtocol = pytest.importorskip(
    "edge_runtime.server.protocol_httptools"
).GuardedHttpToolsProtocol


@pytest.fixture
def without_httptools(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import httptools`` fails, and the modules built on it import afresh (and fail)."""
    monkeypatch.setitem(sys.modules, "httptools", None)
    for name in ("uvicorn.protocols.http.httptools_impl", "edge_runtime.server.protocol_httptools"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_the_default_is_httptools_when_it_is_importable() -> None:
    assert ServeConfig(bundle=TINY_BUNDLE).http == "auto"
    chosen = guarded_protocol("auto", 3.0)
    assert issubclass(chosen, GuardedHttpToolsProtocol)
    assert chosen.parser_name == "httptools" and chosen.request_timeout_s == 3.0


def test_h11_on_request_and_as_the_fallback(without_httptools: None) -> None:
    for choice in ("h11", "auto"):
        chosen = guarded_protocol(choice, 2.5)  # type: ignore[arg-type]
        assert issubclass(chosen, GuardedH11Protocol) and chosen.request_timeout_s == 2.5
    with pytest.raises(ConfigError, match="http='httptools' needs the httptools package"):
        guarded_protocol("httptools", 2.5)


def test_both_protocols_are_the_shared_guard_over_uvicorns_own() -> None:
    assert issubclass(GuardedHttpToolsProtocol, httptools_impl.HttpToolsProtocol)
    assert issubclass(GuardedH11Protocol, h11_impl.H11Protocol)
    for cls in (GuardedHttpToolsProtocol, GuardedH11Protocol):
        # The guard comes first, so that its methods wrap uvicorn's.
        assert cls.__mro__[1] is RequestGuard
        assert cls.configured(7.0).request_timeout_s == 7.0 and cls.request_timeout_s == 20.0
    # uvicorn's concurrency-limit answer is the JSON one in both protocol modules.
    assert h11_impl.service_unavailable is json_service_unavailable
    assert httptools_impl.service_unavailable is json_service_unavailable


def test_an_unknown_parser_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"http='spdy' is not allowed; choose one of \['auto'"):
        ServeConfig(bundle=TINY_BUNDLE, http="spdy")  # type: ignore[arg-type]
