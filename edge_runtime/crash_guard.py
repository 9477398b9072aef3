"""One clear line instead of a silent death when the runtime crashes under ``edgetk predict`` or
``edgetk camera``.

A native crash (SIGSEGV, abort) inside a runtime library cannot be caught in the process it
happens in. So the command forks before it loads anything: the child runs the command as if
nothing happened (same stdin, stdout, stderr, window), and the parent only waits. When the child
dies of a crash signal, the parent names the artifact that was running and what to do about it,
and exits 1. Each ``Predictor`` writes the artifact it is about to run into a pipe to the parent
(``note_running``), so the line names the right one. The fork costs a millisecond or two of
start-up; where there is no fork (Windows) or when ``EDGETK_CRASH_GUARD=0``, the command runs in
the one process as before.

Only a real command-line process forks (``edgetk.cli.main`` allows it when it reads
``sys.argv``): a library or test calling the CLI in-process is never forked.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from edge_runtime.errors import RuntimeCrashedError

# Signals that mean the process crashed, as opposed to being stopped.
CRASH_SIGNALS = frozenset(
    getattr(signal, n)
    for n in ("SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE", "SIGSYS")
    if hasattr(signal, n)
)

_allowed = False
_note_fd: int | None = None


def allow() -> None:
    """Called by the CLI's entry point: this process is a command-line process of its own."""
    global _allowed
    _allowed = True


def exit_now(code: int = 0) -> None:
    """End a command-line process that has written everything it had to write, without the
    interpreter's teardown of numpy, Pillow and the runtime (tens of milliseconds of a device
    command's start-to-finish time). A no-op in-process (a library or a test calling the CLI)."""
    if not _allowed:
        return
    import logging

    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def note_running(path: Path, fmt: str) -> None:
    """Tell the waiting parent (if any) which artifact this process is about to load and run."""
    if _note_fd is None:
        return
    try:
        os.write(_note_fd, f"{path}\t{fmt}\n".encode())
    except OSError:
        pass


def _runtime_name(fmt: str) -> str:
    from edge_runtime.common.versions import installed_version

    if fmt == "onnx":
        return f"onnxruntime {installed_version('onnxruntime') or '?'}"
    for dist in ("ai-edge-litert", "tflite-runtime"):
        version = installed_version(dist)
        if version:
            return f"{dist} {version}"
    return "the TFLite runtime"


def _last_note(fd: int) -> tuple[str, str] | None:
    os.set_blocking(fd, False)
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    except BlockingIOError:
        pass
    os.close(fd)
    lines = [ln for ln in data.decode(errors="replace").splitlines() if "\t" in ln]
    if not lines:
        return None
    path, fmt = lines[-1].rsplit("\t", 1)
    return path, fmt


def guard() -> None:
    """Fork; the child returns and runs the command, the parent waits and ends with its status.

    In the parent this never returns: it ends the process with the child's exit status, or with
    exit 1 and one ``error:`` line naming the artifact when the child died of a crash signal.
    """
    global _note_fd
    if not _allowed or not hasattr(os, "fork") or os.environ.get("EDGETK_CRASH_GUARD") == "0":
        return
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run the command
        os.close(read_fd)
        _note_fd = write_fd
        return
    os.close(write_fd)
    # Ctrl-C in a terminal reaches the child too (same process group): it stops as it always
    # did, and the parent reports its status. A stop request sent to the parent is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    note = _last_note(read_fd)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in CRASH_SIGNALS:
        path, fmt = note or ("the bundle's artifact", "tflite")
        crash = RuntimeCrashedError(
            str(path), _runtime_name(fmt), signal.Signals(os.WTERMSIG(status)).name, "running"
        )
        sys.stderr.write(f"error: {crash}\n")
        code = crash.exit_code
    # The child has done the command's work and its own clean-up; this process only waited, so
    # it skips the interpreter's teardown (tens of milliseconds with numpy and Pillow loaded).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__all__ = ["CRASH_SIGNALS", "allow", "exit_now", "guard", "note_running"]
