"""Calls into ``device_side`` over SSH: the source travels as one quoted ``-c`` argument, the
arguments as one JSON word, so nothing the user named is ever parsed by the device's shell."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from edge_runtime.remote import device_side
from edge_runtime.remote.errors import RemoteError
from edge_runtime.remote.ssh import Ssh

_SOURCE = Path(device_side.__file__).read_text(encoding="utf-8")
# The shell's "not found" status, and what a missing interpreter says on common shells.
_NOT_FOUND = 127

ProgressSink = Callable[[dict[str, Any]], None]


def device_words(python: str, command: str, args: dict[str, Any]) -> list[str]:
    """The remote argv: ``python -c SOURCE command JSON`` (joined with shlex quoting by Ssh)."""
    return [python, "-c", _SOURCE, command, json.dumps(args)]


class DeviceError(RemoteError):
    """The device side reported a failure it could name (kind: disk, python, pip, verify...)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _parse(ssh: Ssh, python: str, command: str, rc: int, out: bytes, err: str) -> dict[str, Any]:
    for line in err.splitlines():
        if line.startswith(device_side.ERROR_TAG):
            info = json.loads(line[len(device_side.ERROR_TAG) :])
            kind = info.get("kind", "os")
            hint = (
                " (free some space on the device or pass --remote-cache)" if kind == "disk" else ""
            )
            raise DeviceError(f"{ssh.destination}: {info.get('message')}{hint}", kind)
    if rc == _NOT_FOUND or (rc != 0 and "No such file or directory" in err and command == "probe"):
        raise DeviceError(
            f"{ssh.destination}: no Python at `{python}` on the device; install Python 3.10+ "
            "(or pass --remote-python PATH)",
            "python",
        )
    if rc != 0 and "SyntaxError" in err:
        raise DeviceError(
            f"{ssh.destination}: `{python}` on the device is too old for edgetk (needs 3.10+); "
            "install a newer Python or pass --remote-python PATH",
            "python",
        )
    if rc != 0:
        tail = " | ".join(ln for ln in err.strip().splitlines()[-3:] if ln.strip())
        if "No space left on device" in err:
            raise DeviceError(f"{ssh.destination}: no space left on the device ({tail})", "disk")
        raise RemoteError(
            f"{ssh.destination}: `{command}` failed on the device (exit {rc}): {tail}"
        )
    lines = [ln for ln in out.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        raise RemoteError(f"{ssh.destination}: `{command}` returned nothing")
    return json.loads(lines[-1])


def call(
    ssh: Ssh,
    python: str,
    command: str,
    args: dict[str, Any],
    *,
    stdin: bytes | None = None,
    timeout_s: float | None = 600.0,
) -> dict[str, Any]:
    """Run one short device-side command and return its JSON answer."""
    proc = ssh.run(device_words(python, command, args), stdin=stdin, timeout_s=timeout_s)
    return _parse(
        ssh, python, command, proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")
    )


class Streamed:
    """A long device-side command whose progress lines are forwarded while it runs.

    ``stdin`` stays open until the command ends: the device side treats its EOF as "the caller
    went away" and cleans up, so ``abort()`` (closing it and stopping ssh) is the interrupt path.
    """

    def __init__(self, ssh: Ssh, python: str, command: str, args: dict[str, Any]) -> None:
        self.ssh, self.python, self.command = ssh, python, command
        self.proc: subprocess.Popen[bytes] = ssh.popen(device_words(python, command, args))
        self._err: list[str] = []

    def feed(self, write: Callable[[IO[bytes]], None]) -> None:
        """Write data to the command's stdin (e.g. a tar stream) and close it."""
        assert self.proc.stdin is not None
        try:
            write(self.proc.stdin)
        finally:
            self.proc.stdin.close()

    def wait(self, progress: ProgressSink | None = None) -> dict[str, Any]:
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        out_chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
        reader.start()
        tag = device_side.PROGRESS_TAG
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith(tag):
                if progress:
                    progress(json.loads(line[len(tag) :]))
            else:
                self._err.append(line)
        reader.join()
        rc = proc.wait()
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()
        err = "\n".join(self._err)
        if rc == 255:
            from edge_runtime.remote.ssh import classify_failure

            raise classify_failure(self.ssh.destination, err)
        return _parse(self.ssh, self.python, self.command, rc, b"".join(out_chunks), err)

    def abort(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


__all__ = ["DeviceError", "Streamed", "call", "device_words"]
