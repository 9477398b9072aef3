"""The SSH transport: the system's OpenSSH client, so the user's config, keys, agent, jump hosts
and connection sharing apply exactly as they set them up.

Every remote command is one string built with ``shlex.join`` from separate arguments: file names,
labels and paths travel as quoted words (or inside a JSON argument), never as shell syntax.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge_runtime.common.errors import ConfigError
from edge_runtime.remote.errors import AuthError, HostKeyError, RemoteError, UnreachableError

log = logging.getLogger(__name__)

# ssh exits 255 for its own failures; the remote command's status otherwise.
SSH_FAILURE = 255

_HOST_KEY = (
    "host key verification failed",
    "no ed25519 host key is known",
    "no ecdsa host key is known",
    "no rsa host key is known",
    "remote host identification has changed",
)
_AUTH = ("permission denied", "too many authentication failures", "no more authentication")
_UNREACHABLE = (
    "could not resolve hostname",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "no route to host",
    "network is unreachable",
    "connection closed by",
    "connection reset",
    "name or service not known",
)


def check_destination(destination: str) -> str:
    """Refuse destinations ssh would read as options (``-oProxyCommand=...``) or as nothing."""
    if not destination or destination.startswith("-") or any(c.isspace() for c in destination):
        raise ConfigError(
            f"--remote {destination!r} is not an SSH destination; give user@host or a Host alias "
            "from your SSH config"
        )
    return destination


def classify_failure(destination: str, stderr: str) -> RemoteError:
    """Turn ssh's own failure (exit 255) into one line that says what to do."""
    text = stderr.lower()
    last = next((ln.strip() for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
    if any(k in text for k in _HOST_KEY):
        return HostKeyError(
            f"{destination}: the host key is not known (or changed), so edgetk did not connect; "
            f"check it and accept it with `ssh {destination}` once (or add it to known_hosts), "
            "then rerun"
        )
    if any(k in text for k in _AUTH):
        return AuthError(
            f"{destination}: authentication refused ({last}); check the user name and that your "
            "key is in the device's authorized_keys (`ssh-copy-id`), or load it into your agent"
        )
    if any(k in text for k in _UNREACHABLE):
        return UnreachableError(
            f"{destination}: host unreachable ({last}); check the name or address, that the "
            "device is on and that its SSH server runs"
        )
    return RemoteError(
        f"{destination}: the connection or the remote command ended abnormally (ssh exit 255): "
        f"{last or 'no message'}"
    )


@dataclass(frozen=True)
class Ssh:
    """How to reach one device: the destination and an optional explicit client config file."""

    destination: str
    config_file: str | None = None
    connect_timeout_s: int = 15
    ssh_binary: str = "ssh"

    def __post_init__(self) -> None:
        check_destination(self.destination)
        if self.config_file is not None and not Path(self.config_file).is_file():
            raise ConfigError(
                f"--ssh-config {self.config_file}: no such file; give an OpenSSH client config"
            )

    def argv(self, remote_words: Sequence[str]) -> list[str]:
        """The local argv that runs ``remote_words`` (quoted word by word) on the device."""
        cmd = [self.ssh_binary]
        if self.config_file:
            cmd += ["-F", self.config_file]
        cmd += [
            # Never prompt (a password or passphrase prompt would hang a parallel run), and never
            # accept an unknown host key, whatever the user's config says about new hosts.
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"ConnectTimeout={self.connect_timeout_s}",
            "-o",
            "ServerAliveInterval=15",
            "-T",
            self.destination,
            "--",
            shlex.join(remote_words),
        ]
        return cmd

    def run(
        self,
        remote_words: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = 600.0,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a command on the device; ssh's own failures become typed one-line errors."""
        log.debug("ssh %s: %s", self.destination, shlex.join(remote_words)[:200])
        try:
            proc = subprocess.run(
                self.argv(remote_words),
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=timeout_s,
            )
        except FileNotFoundError:
            raise RemoteError(
                f"no `{self.ssh_binary}` client on this machine; install OpenSSH's client"
            ) from None
        except subprocess.TimeoutExpired:
            raise RemoteError(
                f"{self.destination}: no answer within {timeout_s:.0f} s; check the device"
            ) from None
        if proc.returncode == SSH_FAILURE:
            raise classify_failure(self.destination, proc.stderr.decode("utf-8", "replace"))
        return proc

    def popen(
        self,
        remote_words: Sequence[str],
        *,
        stdin: int | IO[bytes] | None = subprocess.PIPE,
    ) -> subprocess.Popen[bytes]:
        """Start a command on the device with pipes, for streaming progress or data."""
        try:
            return subprocess.Popen(
                self.argv(remote_words), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except FileNotFoundError:
            raise RemoteError(
                f"no `{self.ssh_binary}` client on this machine; install OpenSSH's client"
            ) from None


LineSink = Callable[[str], None]

__all__ = ["SSH_FAILURE", "LineSink", "Ssh", "check_destination", "classify_failure"]
