"""What runs on the device, sent as ``PYTHON -c <this file's source> COMMAND JSON``.

Standard library only at module level (it also runs under the device's system Python before any
environment exists), so that nothing has to be installed for the probe, the upload or the setup.
Each command prints one JSON object on its last stdout line; progress goes to stderr as lines
that start with ``PROGRESS_TAG``; a failure the user can act on is one ``ERROR_TAG`` line and
exit code ``REPORTED_EXIT``.

Commands: ``probe`` (Python, architecture, cache folder, free space, present blobs and envs),
``receive`` (a tar stream of blobs named by their sha256, verified before they are kept),
``setup`` (create the environment from pushed wheels), ``bench`` (assemble the bundle from blobs,
verify it against its manifest, measure, on-device parity; temporary files always removed),
``cleanup`` (remove one run's temporary folder).
"""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time

PROGRESS_TAG = "EDGETK-PROGRESS "
ERROR_TAG = "EDGETK-ERROR "
REPORTED_EXIT = 97
MIN_PYTHON = (3, 10)
STAMP = ".edgetk-complete"
_SHA = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class Reported(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _emit(obj: dict) -> None:
    sys.stdout.write("\n" + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _progress(kind: str, **fields: object) -> None:
    sys.stderr.write(PROGRESS_TAG + json.dumps({"kind": kind, **fields}) + "\n")
    sys.stderr.flush()


def _safe_name(name: str) -> str:
    """A plain file name (no folders, no hidden files): names come from a user's manifest."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        raise Reported("usage", f"refusing file name {name!r}: not a plain file name")
    if "\x00" in name or len(name) > 255:
        raise Reported("usage", f"refusing file name {name!r}")
    return name


def _cache(args: dict) -> str:
    raw = args.get("cache") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "edgetk"
    )
    return os.path.abspath(os.path.expanduser(raw))


def _blob(cache: str, sha: str) -> str:
    if not _SHA.match(sha):
        raise Reported("usage", f"not a sha256: {sha!r}")
    return os.path.join(cache, "blobs", sha)


def _free_bytes(path: str) -> int:
    # The cache folder may not exist yet: measure the nearest existing parent.
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _complete_envs(cache: str) -> list[str]:
    return sorted(
        os.path.basename(os.path.dirname(p))
        for p in glob.glob(os.path.join(cache, "envs", "*", STAMP))
    )


def probe(args: dict) -> dict:
    cache = _cache(args)
    hashes = args.get("hashes") or []
    return {
        "python": list(sys.version_info[:3]),
        "python_ok": tuple(sys.version_info[:2]) >= MIN_PYTHON,
        "executable": sys.executable,
        "machine": platform.machine(),
        "system": platform.system(),
        "cache": cache,
        "free_bytes": _free_bytes(cache),
        "missing": [h for h in hashes if not os.path.isfile(_blob(cache, h))],
        "envs": _complete_envs(cache),
    }


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def receive(args: dict) -> dict:
    """Blobs from a tar stream on stdin; each is kept only if its content hashes to its name."""
    blobs = os.path.join(_cache(args), "blobs")
    os.makedirs(blobs, exist_ok=True)
    count = size = 0
    with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
        for member in tar:
            if not member.isfile() or not _SHA.match(member.name):
                raise Reported("usage", f"unexpected upload member {member.name!r}")
            src = tar.extractfile(member)
            tmp = os.path.join(blobs, f".{member.name}.{os.getpid()}.tmp")
            h = hashlib.sha256()
            try:
                with open(tmp, "wb") as out:
                    for block in iter(lambda s=src: s.read(1 << 20), b""):
                        h.update(block)
                        out.write(block)
                if h.hexdigest() != member.name:
                    raise Reported("verify", f"upload of {member.name[:12]} arrived corrupted")
                os.replace(tmp, os.path.join(blobs, member.name))
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            count += 1
            size += member.size
    return {"received": count, "bytes": size}


def _place(cache: str, sha: str, dest: str) -> None:
    """Put blob ``sha`` at ``dest``: a hard link when possible (no copy), else a copy."""
    src = _blob(cache, sha)
    if not os.path.isfile(src):
        raise Reported(
            "verify", f"blob {sha[:12]} for {os.path.basename(dest)} is not on the device"
        )
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _tail(text: str, n: int = 3) -> str:
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-n:])


def setup(args: dict) -> dict:
    """Create (or reuse) the environment ``envs/<key>`` holding edgetk and its extras."""
    cache = _cache(args)
    key = args["key"]
    if not _KEY.match(key):
        raise Reported("usage", f"bad environment key {key!r}")
    env = os.path.join(cache, "envs", key)
    if os.path.isfile(os.path.join(env, STAMP)):
        return {"reused": True, "env": env}
    if os.path.exists(env):  # left half-made by an interrupted setup
        shutil.rmtree(env, ignore_errors=True)
    _own_group()
    threading.Thread(target=_watch_stdin, args=(env,), daemon=True).start()
    t0 = time.perf_counter_ns()
    try:
        _progress("setup", message=f"creating the environment {env}")
        made = subprocess.run([sys.executable, "-m", "venv", env], capture_output=True, text=True)
        if made.returncode != 0:
            raise Reported(
                "venv",
                f"`{sys.executable} -m venv` failed ({_tail(made.stdout + made.stderr, 2)}); "
                "install the venv module (Debian / Raspberry Pi OS: sudo apt install python3-venv)",
            )
        wheels = os.path.join(env, "wheels")
        os.makedirs(wheels)
        for w in args["wheels"]:
            _place(cache, w["sha256"], os.path.join(wheels, _safe_name(w["name"])))
        cmd = [
            os.path.join(env, "bin", "python"), "-m", "pip", "install",
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        ]  # fmt: skip
        if args.get("offline"):
            cmd += ["--no-index", "--find-links", wheels]
        if args.get("constraints"):
            c = os.path.join(env, "constraints.txt")
            _place(cache, args["constraints"], c)
            cmd += ["-c", c]
        extras = ",".join(args.get("extras") or [])
        target = os.path.join(wheels, _safe_name(args["edgetk_wheel"]))
        cmd.append(f"{target}[{extras}]" if extras else target)
        _progress("setup", message="installing " + " ".join(cmd[4:]))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            del lines[:-20]
            _progress("pip", message=line.rstrip())
        if proc.wait() != 0:
            text = "".join(lines)
            kind = "disk" if "No space left" in text else "pip"
            raise Reported(kind, f"pip install failed on the device: {_tail(text)}")
        with open(os.path.join(env, STAMP), "w") as fh:
            json.dump({"key": key, "created": time.time()}, fh)
    except BaseException:
        shutil.rmtree(env, ignore_errors=True)
        raise
    # An older edgetk's environment is replaced, not kept beside the new one. It is renamed out
    # of the way first: a deletion cut short must not leave a stamped environment with holes.
    for old in glob.glob(os.path.join(cache, "envs", "*")):
        if os.path.basename(old) != key:
            trash = os.path.join(cache, "envs", f".old-{os.path.basename(old)}-{os.getpid()}")
            os.rename(old, trash)
            shutil.rmtree(trash, ignore_errors=True)
    for trash in glob.glob(os.path.join(cache, "envs", ".old-*")):
        shutil.rmtree(trash, ignore_errors=True)
    return {"reused": False, "env": env, "setup_s": (time.perf_counter_ns() - t0) / 1e9}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip("\x00\n ")
    except OSError:
        return None


# Raspberry Pi firmware's get_throttled bits (now / since boot).
_THROTTLE_BITS = {
    0: "under-voltage",
    1: "arm frequency capped",
    2: "throttled",
    3: "soft temperature limit",
    16: "under-voltage occurred",
    17: "arm frequency capping occurred",
    18: "throttling occurred",
    19: "soft temperature limit occurred",
}


def thermal() -> dict:
    """SoC temperatures, CPU clock and (on a Raspberry Pi) the firmware's throttling flags; None
    where the board does not expose them."""
    zones = []
    for zone in sorted(glob.glob("/sys/class/thermal/thermal_zone*")):
        temp = _read(os.path.join(zone, "temp"))
        if temp and temp.lstrip("-").isdigit():
            zones.append({"type": _read(os.path.join(zone, "type")), "celsius": int(temp) / 1000})
    raw = _read("/sys/devices/platform/soc/soc:firmware/get_throttled")
    if raw is None and shutil.which("vcgencmd"):
        try:
            out = subprocess.run(
                ["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5
            ).stdout
            raw = out.strip().split("=")[-1] or None
        except (OSError, subprocess.SubprocessError):
            raw = None
    flags = None
    if raw is not None:
        try:
            value = int(raw, 16)
            flags = [name for bit, name in _THROTTLE_BITS.items() if value >> bit & 1]
        except ValueError:
            flags = None
    cur = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    top = _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    return {
        "zones": zones,
        "throttled_raw": raw,
        "throttled_flags": flags,
        "cpu0_mhz": int(cur) / 1000 if cur and cur.isdigit() else None,
        "cpu0_max_mhz": int(top) / 1000 if top and top.isdigit() else None,
    }


def _own_group() -> None:
    try:
        os.setpgid(0, 0)  # our subprocesses share our group, for the interrupt path
    except OSError:
        pass  # already a group leader


def _watch_stdin(tmp: str) -> None:
    """The local side keeps our stdin open for the whole command; EOF means it went away (Ctrl-C,
    a dropped connection): remove ``tmp`` (the run's files, or a half-made environment) and stop
    every process we started."""
    # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside the buffered
    # reader makes the interpreter abort at exit ("could not acquire lock ... at shutdown").
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(130)


def _verify(bundle: str, files: dict) -> list:
    from edge_runtime.manifest import load_manifest

    manifest = load_manifest(bundle)
    checked = []
    for a in manifest.artifacts:
        if a.file not in files:
            continue
        path = os.path.join(bundle, a.file)
        size = os.path.getsize(path)
        if size != a.size_bytes or _sha256(path) != a.sha256:
            raise Reported("verify", f"{a.file} on the device does not match the bundle's manifest")
        checked.append(a.file)
    return checked


def _parity(bundle: str, tmp: str, cache: str, spec: dict) -> dict:
    from edge_runtime.predictor import Predictor
    from edge_runtime.preprocess import load_image

    folder = os.path.join(tmp, "parity")
    os.makedirs(folder)
    paths = []
    for i, img in enumerate(spec["images"]):
        suffix = img.get("suffix", "")
        if not re.match(r"^\.[A-Za-z0-9]{1,8}$", suffix):
            raise Reported("usage", f"refusing image suffix {suffix!r}")
        paths.append(os.path.join(folder, f"{i:06d}{suffix}"))
        _place(cache, img["sha256"], paths[-1])
    images = [load_image(p) for p in paths]
    out = {}
    for art in spec["artifacts"]:
        predictor = Predictor.from_bundle(
            bundle, art, spec.get("threads"), polarity=spec.get("polarity", "auto")
        )
        top1 = []
        for start in range(0, len(images), 32):
            top1 += [p.index for p in predictor.predict(images[start : start + 32], top_k=1)]
        predictor.close()
        out[art] = top1
    return out


def _layers(bundle: str, tmp: str, cache: str, specs: list) -> dict:
    from edge_runtime.profiling.layers import check_against

    out = {}
    for k, spec in enumerate(specs):
        art = _safe_name(spec["artifact"])
        ref = os.path.join(tmp, f"layers-{k}.npz")
        _place(cache, spec["reference"], ref)
        try:
            out[art] = check_against(ref, os.path.join(bundle, art))
        except Exception as exc:  # one artifact's failure is its entry, not the run's end
            out[art] = {"artifact": art, "error": f"{type(exc).__name__}: {exc}"}
    return out


def bench(args: dict) -> dict:
    """Assemble, verify, measure, check parity; the run's temporary folder is always removed."""
    cache = _cache(args)
    run_id = args["run_id"]
    if not re.match(r"^[0-9a-f]{8,64}$", run_id):
        raise Reported("usage", f"bad run id {run_id!r}")
    tmp = os.path.join(cache, "tmp", run_id)
    _own_group()
    threading.Thread(target=_watch_stdin, args=(tmp,), daemon=True).start()
    try:
        bundle = os.path.join(tmp, "bundle")
        os.makedirs(bundle)
        for name, sha in args["files"].items():
            _place(cache, sha, os.path.join(bundle, _safe_name(name)))
        t0 = time.perf_counter_ns()
        verified = _verify(bundle, args["files"])
        verify_s = (time.perf_counter_ns() - t0) / 1e9
        _progress("verified", artifacts=verified)
        from edge_runtime.bench import BenchConfig, run_bench

        config = BenchConfig.from_dict({**args["bench"], "bundle": bundle})
        before = thermal()
        t0 = time.perf_counter_ns()
        record = run_bench(config, lambda row: _progress("row", row=row))
        measure_s = (time.perf_counter_ns() - t0) / 1e9
        after = thermal()
        parity = None
        if args.get("parity"):
            _progress("parity", message=f"{len(args['parity']['images'])} images")
            parity = _parity(bundle, tmp, cache, args["parity"])
        layers = None
        if args.get("layers"):
            _progress("layers", message=f"layer check of {len(args['layers'])} artifact(s)")
            layers = _layers(bundle, tmp, cache, args["layers"])
        return {
            "record": record,
            "thermal": {"before": before, "after": after},
            "verify_s": verify_s,
            "measure_s": measure_s,
            "parity_top1": parity,
            "layers": layers,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cleanup(args: dict) -> dict:
    run_id = args["run_id"]
    if not re.match(r"^[0-9a-f]{8,64}$", run_id):
        raise Reported("usage", f"bad run id {run_id!r}")
    tmp = os.path.join(_cache(args), "tmp", run_id)
    existed = os.path.exists(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"removed": existed}


COMMANDS = {"probe": probe, "receive": receive, "setup": setup, "bench": bench, "cleanup": cleanup}


def main(argv: list) -> int:
    try:
        command, args = argv[0], json.loads(argv[1])
        _emit(COMMANDS[command](args))
        return 0
    except Reported as exc:
        sys.stderr.write(ERROR_TAG + json.dumps({"kind": exc.kind, "message": str(exc)}) + "\n")
        return REPORTED_EXIT
    except OSError as exc:
        kind = "disk" if exc.errno == errno.ENOSPC else "os"
        sys.stderr.write(ERROR_TAG + json.dumps({"kind": kind, "message": str(exc)}) + "\n")
        return REPORTED_EXIT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
