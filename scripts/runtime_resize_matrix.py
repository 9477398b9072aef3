"""scripts/resize_check.py under each runtime version, each in a fresh venv; one record of all.

    .venv/bin/python scripts/runtime_resize_matrix.py [--versions ai-edge-litert==1.4.0,...]
        [--arm64-root arm64-root [--arm64-versions ai-edge-litert==1.4.0,...]] [--worktree]

Builds the bundles of every artifact kind once (``python -m tests.fixtures.every_artifact``, with
the dev venv's Python: it needs TensorFlow), from a snapshot of git HEAD (``--worktree``: this
checkout as it is), then for each ``DIST==VERSION`` creates a brand-new venv (``python3 -m venv``;
the runtime plus numpy and Pillow in the ``edge`` extra's ranges, from pip's configured index) and
runs ``scripts/resize_check.py`` there against the bundles: every artifact in its own child
process at batch sizes that grow, shrink and grow again. A venv holds one runtime, so only the
rows of its format are kept (TFLite rows from ai-edge-litert / tflite-runtime venvs, ONNX rows
from onnxruntime venvs). Each version is also marked as inside or outside the range that
pyproject.toml's extras allow, per platform (parsed with ``packaging``).

``--arm64-root``: the same check inside an arm64 Debian root under qemu-user (built by
``scripts/arm64_emulated_check.sh setup``, which also registers the binfmt handler), with
``QEMU_CPU`` (default cortex-a72, a Raspberry Pi 4), one venv per version inside the root, against
the bundles built here (copied in); ``/proc`` and ``/sys`` are bind-mounted for those runs only.
Emulation is about crashes and agreement, not timings. ``scripts/arm64_emulated_check.sh resize``
runs this script with the root.

Writes ``benchmarks/edge/runtime_resize.json`` and ``.md`` (``--out``): per runtime version and
machine, every artifact's status (ok / crashed (SIGNAL) / error / outputs differ; an error's
whole message from a rerun of that one artifact) or why the version could not be installed; the
machines, the date, the source commit and this command; no local paths. Exit status 1 when a
version inside the Linux range did not pass on every artifact.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
SCRIPT = "scripts/runtime_resize_matrix.py"
OUT = REPO / "benchmarks" / "edge" / "runtime_resize"
VERSIONS = (
    "ai-edge-litert==1.2.0",  # the negative control: segfaults on a dynamic-range resize
    "ai-edge-litert==1.3.0",
    "ai-edge-litert==1.4.0",
    "ai-edge-litert==2.3.0",
    "tflite-runtime==2.14.0",  # edge_runtime's fallback where ai-edge-litert is absent
    "onnxruntime==1.19.2",
    "onnxruntime==1.32.0",
)
ARM64_VERSIONS = ("ai-edge-litert==1.4.0", "ai-edge-litert==1.3.0", "onnxruntime==1.19.2")
FORMAT = {"ai-edge-litert": "tflite", "tflite-runtime": "tflite", "onnxruntime": "onnx"}
SHORT = {"ai-edge-litert": "litert", "tflite-runtime": "tflite-runtime", "onnxruntime": "ort"}
# Built against numpy 1.x: it does not import under numpy 2.
EXTRA_PINS = {"tflite-runtime": ["numpy<2"]}
NOTES = {("ai-edge-litert", "1.2.0"): "negative control: expected to crash on dynamic-range"}
PLATFORMS = ("linux", "darwin", "win32")
EMULATED = "aarch64 (qemu-user emulated)"
ROOT_DIR = "/opt/resize-check"  # inside the arm64 root
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")


@dataclass(frozen=True)
class Target:
    """One runtime release to check: a distribution and an exact version."""

    dist: str
    version: str

    @property
    def name(self) -> str:
        return f"{self.dist}-{self.version}"

    @property
    def format(self) -> str:
        return FORMAT[self.dist]


@dataclass
class Place:
    """Where venvs are made and checks run: this machine, or inside a chroot (``prefix``)."""

    machine: str
    host_dir: Path  # the working folder as seen from here
    inside_dir: str  # the same folder as seen by the commands
    python3: str
    prefix: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None

    def host(self, inside: str) -> Path:
        return self.host_dir / Path(inside).relative_to(self.inside_dir)

    def run(self, cmd: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *cmd], capture_output=True, text=True, timeout=timeout, env=self.env
        )


def parse_targets(text: str) -> list[Target]:
    """``"dist==1.0,dist==2.0"`` -> targets; only the runtimes this check knows."""
    targets = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        dist, sep, version = item.partition("==")
        if not sep or dist not in FORMAT:
            raise SystemExit(f"bad version {item!r}: use DIST==VERSION, DIST one of {list(FORMAT)}")
        targets.append(Target(dist, version))
    return targets


def extras_requirements(pyproject: Path) -> dict[str, list[Requirement]]:
    """Every extra's requirements, as ``packaging`` parses them."""
    import tomllib  # Python 3.11+, as the dev venv

    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    return {name: [Requirement(r) for r in reqs] for name, reqs in extras.items()}


def allowed_range(extras: dict[str, list[Requirement]], target: Target) -> dict[str, Any]:
    """Per platform: the extras' specifier for the target's distribution and whether it fits."""
    out: dict[str, Any] = {}
    for plat in PLATFORMS:
        specs = [
            r.specifier
            for reqs in extras.values()
            for r in reqs
            if r.name == target.dist
            and (r.marker is None or r.marker.evaluate({"sys_platform": plat}))
        ]
        if specs:
            version = Version(target.version)
            fits = all(s.contains(version, prereleases=True) for s in specs)
            out[plat] = {"specifier": str(specs[0]), "allowed": fits}
        else:
            out[plat] = {"specifier": None, "allowed": None}
    return out


def venv_requirements(extras: dict[str, list[Requirement]], target: Target) -> list[str]:
    """The runtime at its exact version plus numpy and Pillow in the ``edge`` extra's ranges."""
    base = [str(r) for r in extras["edge"] if r.name in ("numpy", "pillow")]
    return [f"{target.dist}=={target.version}", *base, *EXTRA_PINS.get(target.dist, [])]


def snapshot_source(dest: Path, worktree: bool) -> str:
    """HEAD's files (or this checkout's) under ``dest``; a description of that source."""
    commit = git("rev-parse", "--short", "HEAD")
    if worktree:
        shutil.copytree(
            REPO, dest, ignore=shutil.ignore_patterns(".git", ".venv", "arm64-root", "runs")
        )
        return f"working tree at {commit} (with uncommitted changes, if any)"
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return f"git HEAD {commit}"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def build_bundles(src: Path, out: Path, python: str) -> list[Path]:
    """The fixture's three bundles (plain, mixed, views), exported once with TensorFlow."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    out.mkdir(parents=True)
    proc = subprocess.run(
        [python, "-m", "tests.fixtures.every_artifact", str(out)],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"building the bundles failed:\n{proc.stderr[-3000:]}")
    return sorted(p for p in out.iterdir() if (p / "manifest.json").is_file())


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (this machine's, also under qemu-user)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def host_machine() -> dict[str, Any]:
    return {
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
    }


def emulated_machine(place: Place, qemu_cpu: str) -> dict[str, Any]:
    qemu = subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True, text=True)
    inside = place.run([place.python3, "-c", "import platform; print(platform.platform())"], 300)
    os_name = place.run(["/bin/sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"], 300)
    return {
        "machine": EMULATED,
        "platform": inside.stdout.strip(),
        "os": os_name.stdout.strip(),
        "emulated_cpu": f"QEMU_CPU={qemu_cpu}",
        "emulator": (qemu.stdout.splitlines() or ["?"])[0],
        "host_cpu": cpu_model(),
        "note": "qemu-user emulation on an x86 host: crashes and agreement only, not timings",
    }


def scrub(text: str, paths: list[Path]) -> str:
    """``text`` without this machine's paths."""
    for p in sorted(paths, key=lambda p: -len(str(p))):
        text = text.replace(str(p), "<work>")
    return text


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["?"])[-1]


def check_target(
    place: Place,
    target: Target,
    reqs: list[str],
    bundles: list[str],
    sizes: str,
    scrub_paths: list[Path],
) -> dict[str, Any]:
    """A fresh venv for ``target`` in ``place``, the resize check there; the rows of its format."""
    run: dict[str, Any] = {
        "machine": place.machine,
        "runtime": target.dist,
        "version": target.version,
        "format": target.format,
        "requirements": reqs,
    }
    scrub_paths = [*scrub_paths, Path(place.inside_dir)]
    venv = f"{place.inside_dir}/venvs/{target.name}"
    shutil.rmtree(place.host(venv), ignore_errors=True)
    try:
        made = place.run([place.python3, "-m", "venv", venv], 600)
        if made.returncode == 0:
            made = place.run([f"{venv}/bin/pip", "install", "-q", *reqs], 2400)
        if made.returncode != 0:
            run["status"] = "not installable"
            run["error"] = scrub(last_line(made.stderr or made.stdout), scrub_paths)
            return run
        run["packages"] = place.run([f"{venv}/bin/pip", "freeze"], 600).stdout.split()
        out = f"{place.inside_dir}/results/{target.name}.json"
        place.host(out).parent.mkdir(parents=True, exist_ok=True)
        check = [f"{venv}/bin/python", f"{place.inside_dir}/src/scripts/resize_check.py"]
        proc = place.run([*check, *bundles, "--sizes", sizes, "--json", out], 3600)
        if not place.host(out).is_file():
            run["status"] = "check failed"
            run["error"] = scrub(last_line(proc.stderr), scrub_paths)
            return run
        result = json.loads(place.host(out).read_text())
        rows = [r for r in result["rows"] if r["format"] == target.format]
        for r in rows:
            if r["status"] == "error":
                detail = explain_error(place, check, bundles, r, sizes)
                r["error_detail"] = scrub(detail, scrub_paths)
            if "error" in r:
                r["error"] = scrub(r["error"], scrub_paths)
    finally:
        shutil.rmtree(place.host(venv), ignore_errors=True)
    others = len(result["rows"]) - len(rows)
    run.update(
        installed=result["versions"],
        rows=rows,
        left_out=f"{others} artifacts of other formats (no runtime for them in this venv)",
        status="ran",
        passed=sum(r["status"] == "ok" for r in rows),
    )
    return run


def explain_error(
    place: Place, check: list[str], bundles: list[str], row: dict[str, Any], sizes: str
) -> str:
    """The whole exception message of an artifact that errored (the check keeps its last line)."""
    bundle = next(b for b in bundles if Path(b).name == row["bundle"])
    proc = place.run([*check, "--one", bundle, row["artifact"], "--sizes", sizes], 1800)
    lines = proc.stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if EXCEPTION_LINE.match(line)]
    text = " ".join(line.strip() for line in lines[starts[-1] if starts else -1 :])
    return text[:600]


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    """``/proc`` and ``/sys`` bind-mounted into ``root`` for the block only."""
    done = []
    try:
        for name in ("proc", "sys"):
            target = root / name
            if subprocess.run(["mountpoint", "-q", str(target)]).returncode != 0:
                subprocess.run(["mount", "--bind", f"/{name}", str(target)], check=True)
                done.append(target)
        yield
    finally:
        for target in reversed(done):
            if subprocess.run(["umount", str(target)]).returncode != 0:
                subprocess.run(["umount", "-l", str(target)])


def arm64_place(root: Path, qemu_cpu: str) -> Place:
    """Runs inside the arm64 root under qemu-user, in a clean environment."""
    if not (root / "usr" / "bin" / "python3").is_file():
        raise SystemExit(f"{root} is no arm64 root: run scripts/arm64_emulated_check.sh setup")
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        raise SystemExit(
            "no qemu-aarch64 binfmt handler: run scripts/arm64_emulated_check.sh setup"
        )
    prefix = [
        "chroot",
        str(root),
        "/usr/bin/env",
        "-i",
        "HOME=/root",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        f"QEMU_CPU={qemu_cpu}",
        "LANG=C.UTF-8",
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
    ]
    env = {**os.environ, "QEMU_CPU": qemu_cpu}
    host_dir = root / ROOT_DIR.lstrip("/")
    return Place(EMULATED, host_dir, ROOT_DIR, "/usr/bin/python3", prefix, env)


def copy_into_root(place: Place, src: Path, bundles: list[Path]) -> list[str]:
    """The device side (edge_runtime, the check script) and the bundles into the root."""
    shutil.rmtree(place.host_dir, ignore_errors=True)
    (place.host_dir / "src" / "scripts").mkdir(parents=True)
    shutil.copytree(src / "edge_runtime", place.host_dir / "src" / "edge_runtime")
    shutil.copy2(src / "scripts" / "resize_check.py", place.host_dir / "src" / "scripts")
    inside = []
    for b in bundles:
        shutil.copytree(b, place.host_dir / "bundles" / b.name)
        inside.append(f"{ROOT_DIR}/bundles/{b.name}")
    return inside


def command_line(argv: list[str]) -> str:
    """This run's command, paths relative to the checkout."""
    args = [
        os.path.relpath(a, REPO) if os.path.isabs(a) and a.startswith(str(REPO)) else a
        for a in argv
    ]
    return shlex.join([".venv/bin/python", SCRIPT, *args])


def cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    status = row["status"]
    return status if status == "ok" else f"**{status}**"


def range_text(run: dict[str, Any]) -> str:
    rng = run["extras_range"]
    if all(rng[p]["allowed"] is None for p in PLATFORMS):
        return "not in the extras"
    word = {True: "yes", False: "no", None: "-"}
    return f"{word[rng['linux']['allowed']]} / {word[rng['win32']['allowed']]}"


def column(run: dict[str, Any]) -> str:
    emu = " (arm64 emu)" if run["machine"] == EMULATED else ""
    return f"{SHORT[run['runtime']]} {run['version']}{emu}"


def markdown(record: dict[str, Any]) -> str:
    """A short summary: one line per run, then one table per format (artifact x run)."""
    lines = [
        "# Batch resizing across runtime versions",
        "",
        f"Written by `{record['command']}` on {record['date']} from {record['source']}. Every "
        "artifact runs in its own child process through batch sizes "
        f"{', '.join(map(str, record['sizes']))}, each batch compared with the same images run "
        "one at a time (tolerance 1e-4); each runtime version in its own fresh venv. JSON: "
        "`runtime_resize.json`.",
        "",
        "Machines: " + "; ".join(f"{k}: {describe(v)}" for k, v in record["machines"].items()),
        "",
        "| machine | runtime | version | in extras' range (Linux, macOS / Windows) | numpy "
        "| artifacts ok | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in record["runs"]:
        result = (
            f"{run['passed']} / {len(run['rows'])}"
            if run["status"] == "ran"
            else f"{run['status']}: {run.get('error', '')}"
        )
        numpy = run.get("installed", {}).get("numpy", "-")
        lines.append(
            f"| {run['machine']} | {run['runtime']} | {run['version']} | "
            f"{range_text(run)} | {numpy} | {result} | {run.get('note', '')} |"
        )
    for fmt, title in (("tflite", "TFLite artifacts"), ("onnx", "ONNX artifacts")):
        if any(run["format"] == fmt for run in record["runs"]):
            lines += ["", f"## {title}", "", *format_table(record["runs"], fmt)]
    errors = error_lines(record["runs"])
    if errors:
        lines += ["", "## Errors", "", *errors]
    return "\n".join(lines) + "\n"


def error_lines(runs: list[dict[str, Any]]) -> list[str]:
    """One bullet per runtime version and message, naming the artifacts it hit."""
    hits: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        for r in run.get("rows", []):
            if r.get("error"):
                text = r.get("error_detail") or r["error"]
                hits.setdefault((column(run), text), []).append(f"{r['bundle']}/{r['artifact']}")
    return [f"- {col}, {', '.join(arts)}: `{text}`" for (col, text), arts in hits.items()]


def format_table(runs: list[dict[str, Any]], fmt: str) -> list[str]:
    runs = [r for r in runs if r["format"] == fmt]
    keys: list[tuple[str, str, str]] = []
    for run in runs:
        for r in run.get("rows", []):
            key = (r["bundle"], r["artifact"], r["precision"])
            if key not in keys:
                keys.append(key)
    lines = [
        "| bundle | artifact | precision | " + " | ".join(column(r) for r in runs) + " |",
        "|---|---|---|" + "---|" * len(runs),
    ]
    for bundle, art, prec in keys:
        cells = []
        for run in runs:
            hit = [r for r in run.get("rows", []) if (r["bundle"], r["artifact"]) == (bundle, art)]
            cells.append(
                cell(hit[0])
                if hit
                else ("not installable" if run["status"] == "not installable" else "-")
            )
        lines.append(f"| {bundle} | {art} | {prec} | " + " | ".join(cells) + " |")
    return lines


def describe(machine: dict[str, Any]) -> str:
    if machine["machine"] == EMULATED:
        emu = f"{machine['emulated_cpu']}, {machine['emulator']}"
        return f"{machine['os']}, {emu} on {machine['host_cpu']}"
    return f"{machine['platform']}, {machine['cpu']}, {machine['cores']} cores"


def passed(run: dict[str, Any]) -> bool:
    return run["status"] == "ran" and run["passed"] == len(run["rows"]) > 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--versions", default=",".join(VERSIONS), help="DIST==VERSION,... on this machine"
    )
    ap.add_argument(
        "--arm64-root", type=Path, default=None, help="also check inside this arm64 root"
    )
    ap.add_argument(
        "--arm64-versions", default=",".join(ARM64_VERSIONS), help="DIST==VERSION,... there"
    )
    ap.add_argument("--qemu-cpu", default=os.environ.get("QEMU_CPU", "cortex-a72"))
    ap.add_argument("--sizes", default="1,8,16,2,16,64,3,128,1", help="batch sizes, in order")
    ap.add_argument("--python", default="python3", help="the Python that makes the fresh venvs")
    ap.add_argument("--dev-python", default=None, help="builds the bundles (default: .venv's)")
    ap.add_argument("--worktree", action="store_true", help="this checkout as it is, not git HEAD")
    ap.add_argument("--out", type=Path, default=OUT, help="writes OUT.json and OUT.md")
    a = ap.parse_args()
    targets, arm64 = parse_targets(a.versions), parse_targets(a.arm64_versions)
    dev_python = a.dev_python or str(REPO / ".venv" / "bin" / "python")
    extras = extras_requirements(REPO / "pyproject.toml")
    work = Path(tempfile.mkdtemp(prefix="runtime-resize-"))
    scrub_paths = [work, REPO]
    record: dict[str, Any] = {
        "script": SCRIPT,
        "command": command_line(sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "sizes": [int(s) for s in a.sizes.split(",")],
        "machines": {platform.machine(): host_machine()},
        "runs": [],
    }
    try:
        record["source"] = snapshot_source(work / "src", a.worktree)
        print(f"building the bundles ({record['source']})", file=sys.stderr)
        bundles = build_bundles(work / "src", work / "bundles", dev_python)
        record["bundles"] = [b.name for b in bundles]
        local = Place(platform.machine(), work, str(work), a.python)
        runs = [(local, t, [str(b) for b in bundles]) for t in targets]
        for place, target, paths in runs:
            record["runs"].append(one_run(place, target, paths, a.sizes, extras, scrub_paths))
        if a.arm64_root:
            root = a.arm64_root.resolve()
            place = arm64_place(root, a.qemu_cpu)
            inside = copy_into_root(place, work / "src", bundles)
            with mounted(root):
                record["machines"][EMULATED] = emulated_machine(place, a.qemu_cpu)
                for target in arm64:
                    record["runs"].append(
                        one_run(place, target, inside, a.sizes, extras, scrub_paths)
                    )
            shutil.rmtree(place.host_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    a.out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))
    bad = [
        column(r) for r in record["runs"] if r["extras_range"]["linux"]["allowed"] and not passed(r)
    ]
    if bad:
        print(f"inside the Linux range but not passing: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


def one_run(
    place: Place,
    target: Target,
    bundles: list[str],
    sizes: str,
    extras: dict[str, list[Requirement]],
    scrub_paths: list[Path],
) -> dict[str, Any]:
    print(f"[{place.machine}] {target.dist} {target.version}", file=sys.stderr)
    run = check_target(
        place, target, venv_requirements(extras, target), bundles, sizes, scrub_paths
    )
    run["extras_range"] = allowed_range(extras, target)
    if (target.dist, target.version) in NOTES:
        run["note"] = NOTES[(target.dist, target.version)]
    status = f"{run['passed']}/{len(run['rows'])} ok" if run["status"] == "ran" else run["status"]
    print(f"  {status} {run.get('error', '')}", file=sys.stderr)
    return run


if __name__ == "__main__":
    sys.exit(main())
