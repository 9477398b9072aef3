"""What each device extra installs: packages, size on disk, and the cold start of its commands.

    .venv/bin/python scripts/install_footprint.py [--runs 5] [--extras edge,onnx,...]
        [--litert 1.4.0,2.3.0,...]

Every extra goes into a brand-new venv (``python -m venv`` + ``pip install 'edgetk[EXTRA]'`` from
a wheel of this checkout, packages from pip's configured index), and so does the device install as
it was before the split (one ``edge`` extra with OpenCV and ONNX Runtime), so that sizes and start
times compare within one run. Sizes: each distribution's files from its RECORD (apparent bytes,
native libraries included), summed without pip / setuptools; and the whole venv as ``du`` counts it
(disk blocks, pip included). Cold start: wall time of a fresh process (``perf_counter_ns`` around
it) and its peak RSS (``ru_maxrss`` from ``os.wait4``); after every install is in place, ``--runs``
rounds each start every command of every install once (interleaved), medians. Writes
``benchmarks/edge/install_footprint.json`` and ``.md``. ``--litert`` adds, per version, the
``edge`` extra's requirements with that ai-edge-litert release instead of the extra's pin (how the
pin was chosen: ``benchmarks/edge/install_footprint_litert.*`` came from ``--extras none --litert
...``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import provenance  # noqa: E402

from edge_runtime.bench.device import device_info  # noqa: E402
from edge_runtime.common.fileio import write_json, write_text  # noqa: E402
from tests.fixtures.fresh_env import BOOTSTRAP, build_wheel, installed, make_env  # noqa: E402

BUNDLE = ROOT / "tests" / "fixtures" / "tiny_bundle"
IMAGE = ROOT / "tests" / "fixtures" / "images" / "box" / "02.png"
OUT = ROOT / "benchmarks" / "edge" / "install_footprint"
BEFORE = "edge (before the split)"
# The `edge` extra as it was before the split, taken from pyproject.toml at that time.
BEFORE_REQUIREMENTS = (
    "click>=8.1,<9",
    "numpy>=1.26,<3",
    "pillow>=10,<14",
    "opencv-python-headless>=4.8,<6",
    "ai-edge-litert>=1.4,<3",
    "onnxruntime>=1.19,<2",
    "psutil>=5.9,<8",
)
# The measurement of that install, for the acceptance ratio next to this run's own.
BEFORE_REPORTED_MB = 416.0


@dataclass(frozen=True)
class Command:
    """One device command to start cold: ``args`` after ``edgetk``, or a custom runner."""

    name: str
    args: tuple[str, ...] = ()
    until_ready: Callable[[Path], tuple[float, float]] | None = None


@dataclass(frozen=True)
class Target:
    name: str
    extra: str | None  # None: ``requirements`` + the wheel without its dependencies
    commands: tuple[Command, ...] = field(default_factory=tuple)
    requirements: tuple[str, ...] = ()


def _edge_requirements(litert: str) -> tuple[str, ...]:
    """The ``edge`` extra's requirements from pyproject.toml, ai-edge-litert pinned to ``litert``."""
    import tomllib  # Python 3.11+

    with open(ROOT / "pyproject.toml", "rb") as f:
        edge = tomllib.load(f)["project"]["optional-dependencies"]["edge"]
    return (*(r for r in edge if not r.startswith("ai-edge-litert")), f"ai-edge-litert=={litert}")


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one fresh process, which must succeed."""
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    # stderr is read only after exit: these commands write a few lines, far below a pipe's buffer.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter_ns() - t0) / 1e9
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({rc}): {err[-800:]}")
    return wall, usage.ru_maxrss / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_until_healthy(bin_dir: Path) -> tuple[float, float]:
    """Seconds from spawning ``edgetk serve`` to its first 200 on /v1/health; then SIGTERM."""
    port = _free_port()
    cmd = [str(bin_dir / "edgetk"), "serve", str(BUNDLE), "--port", str(port), "--no-access-log"]
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=bin_dir.parent
    )
    url = f"http://127.0.0.1:{port}/v1/health"
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"edgetk serve exited with {proc.returncode} before answering")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.02)
            if time.perf_counter_ns() - t0 > 120e9:
                raise SystemExit("edgetk serve did not answer /v1/health within 120 s")
        wall = (time.perf_counter_ns() - t0) / 1e9
    finally:
        proc.terminate()
    _, _, usage = os.wait4(proc.pid, 0)
    return wall, usage.ru_maxrss / 1024


PREDICT = Command("predict (int8 TFLite, 1 image)", ("predict", str(BUNDLE), str(IMAGE)))
BENCH = Command(
    "bench (2 TFLite artifacts, 1 thread, 20 runs)",
    ("bench", str(BUNDLE), "--artifacts", "model_int8.tflite,model_fp32.tflite")
    + ("--thread-counts", "1", "--runs", "20", "--warmup", "2"),
)


def _targets(video: Path) -> list[Target]:
    onnx = Command(
        "predict (fp32 ONNX, 1 image)",
        ("predict", str(BUNDLE), str(IMAGE), "--artifact", "model_fp32.onnx"),
    )
    camera = Command(
        "camera (video file, headless, 5 frames)",
        ("camera", str(BUNDLE), "--source", str(video), "--headless", "--max-frames", "5")
        + ("--no-pace",),
    )
    serve = Command("serve (spawn to first 200 on /v1/health)", until_ready=_serve_until_healthy)
    return [
        Target("edge", "edge", (PREDICT, BENCH)),
        Target("onnx", "onnx", (onnx,)),
        Target("camera", "camera", (camera,)),
        Target("camera-headless", "camera-headless", (camera,)),
        Target("serve", "serve", (serve,)),
        Target(BEFORE, None, (PREDICT, BENCH, onnx, camera), BEFORE_REQUIREMENTS),
    ]


def _litert_targets(versions: tuple[str, ...]) -> list[Target]:
    """The ``edge`` extra's packages with each ai-edge-litert release in ``versions``."""
    return [
        Target(f"edge, ai-edge-litert {v}", None, (PREDICT, BENCH), _edge_requirements(v))
        for v in versions
    ]


_SIZES = r"""
import json, os
from importlib import metadata
out = {}
for d in metadata.distributions():
    total = 0
    for f in d.files or ():
        p = f.locate()
        try:
            total += os.lstat(p).st_size
        except OSError:
            pass
    out[d.metadata["Name"].lower()] = total
print(json.dumps(out))
"""


def _du_bytes(path: Path) -> int:
    """Disk usage like ``du -s``: allocated blocks, each hard-linked file once."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def _write_video(python: Path, path: Path) -> None:
    code = (
        "import sys, cv2, numpy as np\n"
        "w = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*'MJPG'), 30.0, (64, 64))\n"
        "f = np.zeros((64, 64, 3), np.uint8); f[14:50, 14:50] = 230; f[20:44, 20:44] = 0\n"
        "[w.write(f) for _ in range(30)]\n"
        "w.release()\n"
    )
    subprocess.run([str(python), "-c", code, str(path)], check=True, timeout=120)


def install(target: Target, work: Path, wheel: Path, video: Path) -> tuple[Path, dict]:
    """A fresh venv for ``target``; returns its bin folder and the record without timings."""
    t0 = time.perf_counter()
    venv = work / f"venv-{target.name.replace(' ', '_').replace(',', '')}"
    bin_dir = make_env(venv, target.extra, wheel, target.requirements)
    install_s = time.perf_counter() - t0
    if target.extra in ("camera", "camera-headless") and not video.exists():
        _write_video(bin_dir / "python", video)
    pkgs = installed(bin_dir)
    sizes = json.loads(
        subprocess.run(
            [str(bin_dir / "python"), "-c", _SIZES], capture_output=True, text=True, check=True
        ).stdout
    )
    package_sizes = {k: v for k, v in sorted(sizes.items()) if k not in BOOTSTRAP}
    return bin_dir, {
        "extra": target.name,
        "install": f"edgetk[{target.extra}]"
        if target.extra
        else "edgetk + " + " ".join(target.requirements),
        "packages": pkgs,
        "package_count": len(pkgs),
        "package_bytes": package_sizes,
        "installed_mb": round(sum(package_sizes.values()) / 1e6, 1),
        "venv_du_mb": round(_du_bytes(bin_dir.parent) / 1e6, 1),
        "install_s": round(install_s, 1),
        "commands": [],
    }


def cold_starts(envs: list[tuple[Target, Path, dict]], runs: int) -> None:
    """``runs`` rounds; each round starts every command of every install once, interleaved, so
    that load from other jobs on the machine falls on all of them alike."""
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i in range(runs):
        for target, bin_dir, _ in envs:
            for cmd in target.commands:
                if cmd.until_ready:
                    res = cmd.until_ready(bin_dir)
                else:
                    res = _timed([str(bin_dir / "edgetk"), *cmd.args], bin_dir.parent)
                samples.setdefault((target.name, cmd.name), []).append(res)
        print(f"  cold starts: round {i + 1}/{runs} done", flush=True)
    for target, _, row in envs:
        for cmd in target.commands:
            walls = [w for w, _ in samples[(target.name, cmd.name)]]
            peaks = [p for _, p in samples[(target.name, cmd.name)]]
            row["commands"].append(
                {
                    "command": cmd.name,
                    "runs": runs,
                    "wall_s_median": round(statistics.median(walls), 3),
                    "wall_s_min": round(min(walls), 3),
                    "wall_s_max": round(max(walls), 3),
                    "peak_rss_mib_median": round(statistics.median(peaks), 1),
                }
            )


def _markdown(record: dict, json_name: str) -> str:
    rows = record["extras"]
    before = next((r for r in rows if r["extra"] == BEFORE), None)
    dev = record["device"]
    lines = [
        "# Install footprint of the device extras",
        "",
        f"Written by `{record.get('command', 'scripts/install_footprint.py')}` on {record['created_utc']}: {dev['cpu_model']}, "
        f"{dev['cores_usable']} usable cores, {dev['os']}, Python {dev['python']}, "
        f"{record['platform']}. Each extra in a fresh venv; cold starts are medians of "
        f"{record['runs']} fresh processes per command, interleaved across the installs in "
        "rounds, on a shared machine with other jobs running (absolute times are noisy; compare "
        "rows of this run with each other).",
        "",
        "| extra | packages | installed MB | venv MB (du) | vs before, same run | "
        "vs the issue's 416 MB | largest packages (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        top = sorted(r["package_bytes"].items(), key=lambda kv: -kv[1])[:4]
        largest = ", ".join(f"{k} {v / 1e6:.0f}" for k, v in top)
        lines.append(
            f"| {r['extra']} | {r['package_count']} | {r['installed_mb']:.1f} | "
            f"{r['venv_du_mb']:.1f} | "
            + (f"{r['venv_du_mb'] / before['venv_du_mb']:.0%}" if before else "not in this run")
            + f" | {r['venv_du_mb'] / BEFORE_REPORTED_MB:.0%} | {largest} |"
        )
    lines += [
        "",
        "| extra | command | runs | wall s median (min-max) | peak RSS MiB median |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        for c in r["commands"]:
            lines.append(
                f"| {r['extra']} | {c['command']} | {c['runs']} | {c['wall_s_median']:.3f} "
                f"({c['wall_s_min']:.3f}-{c['wall_s_max']:.3f}) | {c['peak_rss_mib_median']:.1f} |"
            )
    lines += ["", f"Packages and versions of each install: `{json_name}`.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="Cold starts per command (median).")
    ap.add_argument(
        "--extras", default=None, help="Comma-separated subset (default: all; 'none': none)."
    )
    ap.add_argument(
        "--litert",
        default="",
        help="Comma-separated ai-edge-litert versions to measure the edge extra's packages with.",
    )
    ap.add_argument("--out", default=str(OUT), help="Output path without extension.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgetk footprint ") as tmp:
        work = Path(tmp)
        video = work / "box.avi"
        targets = _targets(video)
        if args.extras:
            wanted = set(args.extras.split(","))
            targets = [t for t in targets if t.name in wanted or (t.extra or "before") in wanted]
        litert = _litert_targets(tuple(v for v in args.litert.split(",") if v))
        targets += litert
        # A camera env writes the test video, so one goes before anything else that needs it.
        targets.sort(key=lambda t: t.extra not in ("camera", "camera-headless"))
        wheel = build_wheel(work / "wheel")
        envs = []
        for t in targets:
            print(f"{t.name}: installing", flush=True)
            bin_dir, row = install(t, work, wheel, video)
            envs.append((t, bin_dir, row))
        cold_starts(envs, args.runs)
        order = [t.name for t in _targets(video) + litert]
        rows = sorted((row for _, _, row in envs), key=lambda r: order.index(r["extra"]))
    record = {
        "schema": 1,
        **provenance(__file__),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": device_info(),
        "platform": f"{platform.machine()} {platform.system()}",
        "runs": args.runs,
        "before_reported_mb": BEFORE_REPORTED_MB,
        "extras": rows,
    }
    out = Path(args.out)
    write_json(out.with_suffix(".json"), record)
    text = _markdown(record, out.with_suffix(".json").name)
    write_text(out.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
