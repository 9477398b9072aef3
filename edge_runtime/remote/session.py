"""One device, start to finish: probe, set up (once), push (only what is missing), measure,
bring back. Every step is timed so the record says what the device loop itself costs."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.bench.config import BenchConfig
from edge_runtime.remote import device
from edge_runtime.remote.device import DeviceError, Streamed
from edge_runtime.remote.errors import RemoteError
from edge_runtime.remote.parity import ParityImage
from edge_runtime.remote.push import Blob, unique, write_tar
from edge_runtime.remote.ssh import Ssh
from edge_runtime.remote.targets import DeviceTarget

log = logging.getLogger(__name__)

# A fresh environment with the edge runtime takes a few hundred MB (onnxruntime, OpenCV, numpy).
ENV_SPACE_BYTES = 600 * 1024 * 1024
SPARE_BYTES = 32 * 1024 * 1024

Say = Callable[[str], None]


@dataclass(frozen=True)
class Payload:
    """What every device gets: the wheel, the bundle's needed files, the parity images."""

    wheel: Callable[[], Blob]  # built on first need: a reused environment needs no wheel
    wheel_digest: str  # digest of the sources the wheel is built from
    version: str
    bundle_files: tuple[Blob, ...]  # manifest.json, labels.txt, the measured artifacts
    bench: BenchConfig
    parity_images: tuple[ParityImage, ...] = ()
    parity_artifacts: tuple[str, ...] = ()
    polarity: str = "auto"
    layer_refs: tuple[Blob, ...] = ()  # --check-layers: reference files, named by artifact


@dataclass
class Interrupts:
    """Live remote runs, so Ctrl-C can close them and clean their temporary files."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    live: dict[str, tuple[Ssh, str, str, Streamed]] = field(default_factory=dict)

    def add(self, key: str, entry: tuple[Ssh, str, str, Streamed]) -> None:
        with self.lock:
            self.live[key] = entry

    def drop(self, key: str) -> None:
        with self.lock:
            self.live.pop(key, None)

    def abort_all(self) -> list[str]:
        """Stop every live run and remove its remote temporary folder; returns what was cleaned."""
        with self.lock:
            entries = list(self.live.values())
            self.live.clear()
        cleaned = []
        for ssh, python, args_json, stream in entries:
            stream.abort()
            if not args_json:  # a setup: the device removes its half-made environment itself
                continue
            args = json.loads(args_json)
            try:
                device.call(ssh, python, "cleanup", args, timeout_s=30)
                cleaned.append(ssh.destination)
            except RemoteError as exc:
                log.warning("could not clean up on %s: %s", ssh.destination, exc)
        return cleaned


def env_key(
    payload: Payload, target: DeviceTarget, probe: dict[str, Any], extra: list[Blob]
) -> str:
    """Names the device environment by everything that shapes it: a new edgetk, other extras or
    other pins make a new one (and the old one is removed after)."""
    version = payload.version
    h = hashlib.sha256()
    for part in (
        payload.wheel_digest,
        ",".join(sorted(target.extras)),
        ",".join(sorted(b.sha256 for b in extra)),
        ".".join(str(v) for v in probe["python"][:2]),
        probe["machine"],
    ):
        h.update(part.encode() + b"\0")
    return f"edgetk-{version}-{h.hexdigest()[:16]}"


def _setup_blobs(target: DeviceTarget) -> tuple[list[Blob], Blob | None]:
    # The edgetk wheel always comes from this checkout, never from the wheelhouse.
    wheelhouse = (
        sorted(
            Blob.of(p)
            for p in Path(target.wheelhouse).glob("*.whl")
            if not p.name.startswith("edgetk-")
        )
        if target.wheelhouse
        else []
    )
    constraints = Blob.of(target.constraints, "constraints.txt") if target.constraints else None
    return wheelhouse, constraints


def bench_target(
    target: DeviceTarget,
    payload: Payload,
    say: Say,
    interrupts: Interrupts,
) -> dict[str, Any]:
    """Measure ``payload`` on ``target``; returns the device side's answer plus timings."""
    t_start = time.perf_counter_ns()
    ssh = Ssh(target.destination, target.ssh_config)
    wheelhouse, constraints = _setup_blobs(target)
    setup_blobs = [*wheelhouse] + ([constraints] if constraints else [])
    run_blobs = (
        list(payload.bundle_files)
        + [i.blob for i in payload.parity_images]
        + list(payload.layer_refs)
    )
    all_blobs = unique(setup_blobs + run_blobs)
    base = {"cache": target.cache}

    probe = device.call(
        ssh, target.python, "probe", {**base, "hashes": [b.sha256 for b in all_blobs]}
    )
    if not probe["python_ok"]:
        have = ".".join(str(v) for v in probe["python"])
        raise DeviceError(
            f"{target.destination}: Python {have} at `{target.python}` is too old (edgetk needs "
            "3.10+); install a newer one or pass --remote-python PATH",
            "python",
        )
    base = {"cache": probe["cache"]}
    key = env_key(payload, target, probe, wheelhouse + ([constraints] if constraints else []))
    env_ready = key in probe["envs"]
    missing = set(probe["missing"])
    needed = unique([b for b in (run_blobs if env_ready else all_blobs) if b.sha256 in missing])
    # Checked before the wheel is built: a full device should fail in seconds, not after a build.
    want = sum(b.size for b in needed) + SPARE_BYTES + (0 if env_ready else ENV_SPACE_BYTES)
    if probe["free_bytes"] < want:
        raise DeviceError(
            f"{target.destination}: not enough disk space in {probe['cache']} "
            f"({probe['free_bytes'] / 2**20:.0f} MiB free, about {want / 2**20:.0f} MiB needed); "
            "free some space or pass --remote-cache DIR on a larger disk",
            "disk",
        )
    wheel = None
    if not env_ready:
        wheel = payload.wheel()
        needed = unique([*needed, wheel])  # small; the device keeps it only if it is new
    push_bytes = sum(b.size for b in needed)
    say(
        f"{probe['machine']}, Python {'.'.join(map(str, probe['python']))}; environment "
        f"{'reused' if env_ready else 'to be created'}; pushing {len(needed)} file(s), "
        f"{push_bytes / 1024:.1f} KiB"
    )
    t_push = time.perf_counter_ns()
    if needed:
        up = Streamed(ssh, target.python, "receive", base)
        up.feed(lambda fh: write_tar(needed, fh))
        up.wait()
    push_s = (time.perf_counter_ns() - t_push) / 1e9

    setup_s = 0.0
    if not env_ready:
        t_setup = time.perf_counter_ns()
        say(f"setting up the environment {key} (once per edgetk version)")
        assert wheel is not None
        wheels = [wheel, *wheelhouse]
        spec = {
            **base,
            "key": key,
            "wheels": [{"name": b.name, "sha256": b.sha256} for b in unique(wheels)],
            "edgetk_wheel": wheel.name,
            "extras": list(target.extras),
            "constraints": constraints.sha256 if constraints else None,
            "offline": bool(target.wheelhouse),
        }
        # stdin stays open while it runs: closing it (Ctrl-C here) stops pip and removes the
        # half-made environment there.
        setup = Streamed(ssh, target.python, "setup", spec)
        interrupts.add(target.name, (ssh, target.python, "", setup))

        def pip_line(p: dict[str, Any]) -> None:
            msg = str(p.get("message", ""))
            # pip's milestones are shown (a first install takes minutes), its chatter is not.
            if p.get("kind") == "setup" or msg.startswith(("Collecting", "Successfully", "ERROR")):
                say(msg)
            else:
                log.debug("%s: %s", target.name, msg)

        try:
            setup.wait(pip_line)
        finally:
            interrupts.drop(target.name)
        setup_s = (time.perf_counter_ns() - t_setup) / 1e9

    run_id = uuid.uuid4().hex[:16]
    env_python = f"{probe['cache']}/envs/{key}/bin/python"
    bench_cfg = payload.bench.to_dict()
    bench_cfg.pop("bundle")
    bench_cfg.update(data=None, data_limit=None, label=target.label)
    spec = {
        **base,
        "run_id": run_id,
        "files": {b.name: b.sha256 for b in payload.bundle_files},
        "bench": bench_cfg,
        "parity": (
            {
                "images": [
                    {"sha256": i.blob.sha256, "suffix": i.path.suffix.lower()}
                    for i in payload.parity_images
                ],
                "artifacts": list(payload.parity_artifacts),
                "polarity": payload.polarity,
            }
            if payload.parity_images
            else None
        ),
        "layers": [{"artifact": b.name, "reference": b.sha256} for b in payload.layer_refs],
    }
    t_run = time.perf_counter_ns()
    stream = Streamed(ssh, env_python, "bench", spec)
    interrupts.add(
        target.name, (ssh, target.python, json.dumps({**base, "run_id": run_id}), stream)
    )

    def on_progress(p: dict[str, Any]) -> None:
        if p["kind"] == "row":
            row = p["row"]
            state = "ok" if row.get("status") == "ok" else f"ERROR {row.get('error')}"
            p50 = row.get("latency_ms", {}).get("p50") if row.get("status") == "ok" else None
            say(
                f"{row['artifact']} x{row['threads']}: {state}"
                + (f" (p50 {p50:.3f} ms)" if p50 is not None else "")
            )
        elif p["kind"] == "verified":
            say(f"verified against the manifest: {', '.join(p['artifacts'])}")
        else:
            say(str(p.get("message", p["kind"])))

    try:
        answer = stream.wait(on_progress)
    finally:
        interrupts.drop(target.name)
    run_s = (time.perf_counter_ns() - t_run) / 1e9
    total_s = (time.perf_counter_ns() - t_start) / 1e9
    answer["loop"] = {
        "env_key": key,
        "env_reused": env_ready,
        "setup_s": round(setup_s, 3),
        "push_s": round(push_s, 3),
        "pushed_files": len(needed),
        "pushed_bytes": push_bytes,
        "remote_run_s": round(run_s, 3),
        "measure_s": round(answer["measure_s"], 3),
        "total_s": round(total_s, 3),
        # Everything the loop costs beyond the measurement itself (connections, probe, push,
        # setup, verification, parity, transfer of results).
        "overhead_s": round(total_s - answer["measure_s"], 3),
        "device_python": probe["python"],
        "device_cache": probe["cache"],
    }
    return answer


__all__ = ["ENV_SPACE_BYTES", "Interrupts", "Payload", "bench_target", "env_key"]
