"""KerasTuner's own distributed mode: one chief oracle, any number of workers.

KerasTuner reads three environment variables when a tuner is created:

- ``KERASTUNER_TUNER_ID``: ``chief`` for the process that runs the oracle (a gRPC server that
  hands out trials and never trains), any other unique name (``tuner0``, ``tuner1``...) for a worker.
- ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT``: where the chief listens (the chief binds
  this address; workers connect to it).

Every process runs the same ``edgetk tune`` command with the same run directory, which must be
shared storage: workers write their trials and checkpoints into it, and Hyperband's later rounds
load checkpoints written by other workers. The chief's oracle enforces ``--max-trials`` and
``--time-budget`` for all workers. The gRPC transport is ``grpcio``, installed with TensorFlow.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Literal

from edge_runtime.common.errors import ConfigError

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"

Role = Literal["single", "chief", "worker"]


def role(environ: Mapping[str, str] | None = None) -> Role:
    """``single`` (no oracle address set), ``chief`` or ``worker``; ConfigError if half-configured."""
    env = os.environ if environ is None else environ
    if ENV_ORACLE_IP not in env:
        return "single"
    missing = [v for v in (ENV_ORACLE_PORT, ENV_TUNER_ID) if not env.get(v)]
    if missing:
        raise ConfigError(
            f"{ENV_ORACLE_IP}={env[ENV_ORACLE_IP]!r} is set but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not; a distributed search needs all three "
            f"({ENV_TUNER_ID}=chief on the oracle, a unique name on each worker)"
        )
    port = env[ENV_ORACLE_PORT]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{ENV_ORACLE_PORT}={port!r} is not a TCP port (1..65535)")
    return "chief" if "chief" in env[ENV_TUNER_ID] else "worker"


def environment(tuner_id: str, ip: str, port: int) -> dict[str, str]:
    """The three variables for one process of a distributed search."""
    return {ENV_TUNER_ID: tuner_id, ENV_ORACLE_IP: ip, ENV_ORACLE_PORT: str(port)}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host`` (for loopback demos and tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
