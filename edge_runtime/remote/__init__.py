"""Benchmark and verify a bundle on the user's own devices over SSH (``edgetk bench --remote``).

The system's OpenSSH client carries everything (config, keys, agent, jump hosts); the device gets
an environment made once from a wheel of this edgetk, only the files it lacks (by content hash),
and runs the same ``edge_runtime.bench`` as a local benchmark. No TensorFlow anywhere here.
"""

from edge_runtime.remote.errors import AuthError, HostKeyError, RemoteError, UnreachableError
from edge_runtime.remote.run import Outcome, ParityRequest, run_remote, summary
from edge_runtime.remote.targets import DeviceTarget, load_devices_file

__all__ = [
    "AuthError",
    "DeviceTarget",
    "HostKeyError",
    "Outcome",
    "ParityRequest",
    "RemoteError",
    "UnreachableError",
    "load_devices_file",
    "run_remote",
    "summary",
]
