"""A backend whose runtime lives in a child process, so a native crash costs one call, not the
process that asked.

The REST service runs each worker's interpreter this way: a runtime that segfaults or aborts on
some input takes down its child only. The call in flight raises ``RuntimeCrashedError`` (the
service answers 503), a fresh child loads the artifact again, and the next call runs there.

What crosses the process boundary is small: the quantized input batch (already resized to the
model's input) and the dequantized outputs. Children come from a fork server on Linux (forked
from a clean process that has already imported numpy, so safe with the service's threads and
quick to restart) and are spawned elsewhere.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.backends.base import Backend
from edge_runtime.errors import ModelError, RuntimeCrashedError
from edge_runtime.manifest import Artifact

log = logging.getLogger(__name__)

_CONTEXT_LOCK = threading.Lock()
_CONTEXT: Any = None


def _context() -> Any:
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            if sys.platform.startswith("linux"):
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["edge_runtime.backends.isolated"])
            else:
                ctx = multiprocessing.get_context("spawn")
            _CONTEXT = ctx
        return _CONTEXT


def _child(conn: Connection, path: str, artifact: Artifact, threads: int | None) -> None:
    """The child's loop: load the artifact, then run batches until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the child stops
    from edge_runtime.backends import open_backend

    try:
        backend = open_backend(path, artifact, threads)
    except Exception as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(
        ("ready", backend.runtime, backend.model_input, backend.model_output, backend.batchable)
    )
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg[0] == "close":
            break
        try:
            out = backend.run_quantized(msg[1]) if msg[0] == "run" else backend.invoke(msg[1])
        except Exception as exc:
            conn.send(("error", str(exc)))
            continue
        conn.send(("ok", out))
    backend.close()


def _how(exitcode: int | None) -> str:
    if exitcode is None:
        return "no answer"
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


class IsolatedBackend(Backend):
    """``open_backend(path, artifact, threads)`` run in a child process, restarted after a crash."""

    def __init__(self, path: Path, artifact: Artifact, threads: int | None) -> None:
        super().__init__(path, artifact, threads)
        self.format = artifact.format
        self.restarts = 0
        self._runtime = f"{artifact.format} runtime"  # until the child names it
        self._start()
        self._handshake()

    # -- the child's life ------------------------------------------------------------------------
    def _start(self) -> None:
        ctx = _context()
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child,
            args=(child, str(self.path), self.artifact, self.threads),
            name=f"edgetk-runtime-{self.path.name}",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._conn = parent
        self._ready = False

    def _handshake(self) -> None:
        msg = self._recv("loading")
        if msg[0] == "error":
            self._stop()
            raise ModelError(msg[1])
        _, self._runtime, self.model_input, self.model_output, self.batchable = msg
        self._ready = True

    def _recv(self, doing: str) -> tuple[Any, ...]:
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            raise self._crashed(doing) from None

    def _crashed(self, doing: str) -> RuntimeCrashedError:
        """The child died: a fresh one starts loading now; the error for the call in flight."""
        self._proc.join(timeout=5)
        how = _how(self._proc.exitcode)
        self._conn.close()
        log.error(
            "the runtime (%s) crashed (%s) while %s %s; starting a fresh one",
            self._runtime, how, doing, self.path.name,
        )  # fmt: skip
        self.restarts += 1
        self._start()
        return RuntimeCrashedError(self.path.name, self._runtime, how, doing)

    def _call(self, kind: str, q: np.ndarray) -> np.ndarray:
        if not self._ready:
            self._handshake()
        try:
            self._conn.send((kind, q))
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            raise self._crashed("running") from None
        msg = self._recv("running")
        if msg[0] == "error":
            raise ModelError(f"{self.path.name}: {msg[1]}")
        return msg[1]

    def _stop(self) -> None:
        try:
            self._conn.send(("close",))
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            pass
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()

    # -- the Backend interface -------------------------------------------------------------------
    @property
    def runtime(self) -> str:
        return self._runtime

    @property
    def pid(self) -> int | None:
        """The child process running the artifact now."""
        return self._proc.pid

    def invoke(self, q: np.ndarray) -> np.ndarray:
        return self._call("invoke", q)

    def run_quantized(self, q: np.ndarray) -> np.ndarray:
        # One round trip per batch: the child splits it when its runtime cannot batch.
        return self._call("run", q)

    def close(self) -> None:
        self._stop()


__all__ = ["IsolatedBackend"]
