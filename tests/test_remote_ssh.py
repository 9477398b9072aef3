"""`edgetk bench --remote` against a real OpenSSH server on 127.0.0.1 (throwaway keys, this
machine's Python as the device's): each failure is one line and leaves nothing locally; a full
run gives a record of the local schema, a second run reuses the device's environment, and file
names or labels never reach the device's shell as syntax."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_runtime.bench import BenchConfig, run_bench
from edge_runtime.common.fileio import write_json
from edge_runtime.manifest import load_manifest
from edgetk.cli import main
from tests.fixtures.edge_helpers import BUNDLE, IMAGES, copy_bundle
from tests.fixtures.sshd import Sshd, SshdUnavailable, start_sshd

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "m'; touch pwned-name; echo '$(touch pwned-subst)`touch pwned-tick`.tflite"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except SshdUnavailable as exc:
        pytest.skip(f"no loopback OpenSSH server: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def device_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("device") / "edgetk cache"


def _bench(sshd: Sshd, cache: Path, results: Path, *extra: str, config: Path | None = None):
    return main(
        [
            "bench", str(BUNDLE), "--remote", sshd.destination,
            "--ssh-config", str(config or sshd.client_config),
            "--remote-cache", str(cache), "--results-dir", str(results),
            "--thread-counts", "1", "--runs", "10", "--warmup", "1", *extra,
        ]
    )  # fmt: skip


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1, err
    return err[0]


def test_unreachable_host_is_one_line(sshd: Sshd, tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens once the socket is closed
    cfg = sshd.client_config_with(tmp_path / "cfg", Port=str(closed))
    rc = _bench(sshd, tmp_path / "cache", tmp_path / "results", config=cfg)
    line = _one_error_line(capsys)
    assert rc == 1 and "device: host unreachable" in line and "Connection refused" in line
    assert not (tmp_path / "results").exists()


def test_refused_authentication_is_one_line(sshd: Sshd, tmp_path: Path, capsys) -> None:
    cfg = sshd.client_config_with(
        tmp_path / "cfg", IdentityFile=str(sshd.folder / "stranger_ed25519")
    )
    rc = _bench(sshd, tmp_path / "cache", tmp_path / "results", config=cfg)
    line = _one_error_line(capsys)
    assert rc == 1 and "authentication refused" in line and "authorized_keys" in line
    assert not (tmp_path / "results").exists()


def test_unknown_host_key_is_refused_not_accepted(sshd: Sshd, tmp_path: Path, capsys) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    # Even a config that would accept new keys is overridden: edgetk never accepts silently.
    cfg = sshd.client_config_with(
        tmp_path / "cfg", UserKnownHostsFile=str(known), StrictHostKeyChecking="accept-new"
    )
    rc = _bench(sshd, tmp_path / "cache", tmp_path / "results", config=cfg)
    line = _one_error_line(capsys)
    assert rc == 1 and "host key is not known" in line and "ssh device" in line
    assert known.read_text() == ""  # nothing was added
    assert not (tmp_path / "results").exists()


def test_missing_python_is_one_line(sshd: Sshd, tmp_path: Path, capsys) -> None:
    rc = _bench(
        sshd, tmp_path / "cache", tmp_path / "results", "--remote-python", "/nowhere/python3"
    )
    line = _one_error_line(capsys)
    assert rc == 1 and "no Python at `/nowhere/python3`" in line
    assert not (tmp_path / "results").exists()


def test_old_python_is_one_line(sshd: Sshd, tmp_path: Path, capsys, monkeypatch) -> None:
    from edge_runtime.remote import session

    real = session.device.call

    def as_if_old(ssh, python, command, args, **kw):
        answer = real(ssh, python, command, args, **kw)
        if command == "probe":  # the device's real answer, with the version of a Debian 11 board
            answer.update(python=[3, 9, 2], python_ok=False)
        return answer

    monkeypatch.setattr(session.device, "call", as_if_old)
    rc = _bench(sshd, tmp_path / "cache", tmp_path / "results")
    line = _one_error_line(capsys)
    assert rc == 1 and "Python 3.9.2" in line and "too old" in line


def test_no_disk_space_is_one_line(sshd: Sshd, tmp_path: Path, capsys) -> None:
    small = tmp_path / "small disk"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        rc = _bench(sshd, small / "cache", tmp_path / "results")
        line = _one_error_line(capsys)
        assert rc == 1 and "not enough disk space" in line and "MiB free" in line
        assert not (tmp_path / "results").exists()
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def _hostile_bundle(tmp_path: Path) -> Path:
    """The fixture bundle with its int8 artifact renamed to a shell-injection attempt."""
    bundle = copy_bundle(tmp_path)
    (bundle / "model_int8.tflite").rename(bundle / HOSTILE)
    data = json.loads((bundle / "manifest.json").read_text())
    for a in data["artifacts"]:
        if a["file"] == "model_int8.tflite":
            a["file"] = HOSTILE
    data["default_artifact"] = HOSTILE
    write_json(bundle / "manifest.json", data)
    load_manifest(bundle, verify_hashes=True)
    return bundle


def _keys(record: dict) -> tuple:
    return (
        set(record) - {"remote"},
        {frozenset(r) for r in record["rows"]},
        set(record["device"]),
        set(record["bundle"]),
    )


@pytest.mark.slow
def test_remote_bench_matches_local_schema_reuses_env_and_is_injection_proof(
    sshd: Sshd, device_cache: Path, tmp_path: Path, capsys
) -> None:
    bundle = _hostile_bundle(tmp_path)
    home = Path.home()
    for name in ("pwned-name", "pwned-subst", "pwned-tick", "pwned-label"):
        assert not (home / name).exists()
    results = tmp_path / "results"
    args = [
        "bench", str(bundle), "--remote", sshd.destination, "--ssh-config",
        str(sshd.client_config), "--remote-cache", str(device_cache), "--results-dir",
        str(results), "--thread-counts", "1", "--runs", "10", "--warmup", "1",
        "--artifacts", f"{HOSTILE},model_fp32.onnx", "--label", "$(touch pwned-label)",
        "--check-parity", "8", "--parity-data-dir", str(IMAGES),
    ]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    first = json.loads((results / "device" / "bench.json").read_text())
    out = capsys.readouterr().out
    assert "model_fp32.onnx" in out and "top-1 agreement" in out

    local = run_bench(
        BenchConfig(bundle=str(bundle), artifacts=(HOSTILE,), threads=(1,), runs=10, warmup=1)
    )
    assert _keys(first) == _keys(local)
    assert [r["status"] for r in first["rows"]] == ["ok", "ok"]
    assert first["rows"][0]["artifact"] == HOSTILE and first["rows"][0]["sha256_matches_manifest"]
    assert first["label"] == "$(touch pwned-label)"
    for name in ("pwned-name", "pwned-subst", "pwned-tick", "pwned-label"):
        assert not (home / name).exists(), name

    r1 = first["remote"]
    assert r1["env_reused"] is False and r1["setup_s"] > 0 and r1["pushed_bytes"] > 0
    assert set(r1["thermal"]) == {"before", "after"}
    parity = r1["parity"]
    assert set(parity) == {HOSTILE, "model_fp32.onnx"}
    assert all(p["n"] == 8 and p["top1_agree"] == 8 for p in parity.values())  # same machine
    assert not list((device_cache / "tmp").iterdir())  # the run's temporary files are gone

    assert main(args) == 0
    second = json.loads((results / "device" / "bench.json").read_text())["remote"]
    assert second["env_reused"] is True and second["setup_s"] == 0
    assert second["pushed_bytes"] == 0 and second["pushed_files"] == 0
    assert second["env_key"] == r1["env_key"]


@pytest.mark.slow
def test_interrupted_run_cleans_remote_temp_files_and_writes_nothing(
    sshd: Sshd, device_cache: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    cmd = [
        # A test runner started in the background ignores SIGINT, and that would be inherited:
        # give the command the handler an interactive terminal gives it.
        sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, "
        "signal.default_int_handler); from edgetk.cli import main; sys.exit(main())",
        "bench", str(BUNDLE), "--remote", sshd.destination, "--ssh-config",
        str(sshd.client_config), "--remote-cache", str(device_cache), "--results-dir",
        str(results), "--thread-counts", "1", "--runs", "200000", "--warmup", "1",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if "verified against the manifest" in line:
            break
    else:
        pytest.fail("the remote run never started: " + "".join(seen[-5:]))
    time.sleep(1.0)  # inside the measurement now
    assert list((device_cache / "tmp").iterdir())  # the run's files exist while it runs
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "interrupted" in err
    for _ in range(100):
        if not list((device_cache / "tmp").iterdir()):
            break
        time.sleep(0.2)
    assert not list((device_cache / "tmp").iterdir())
    assert not results.exists()
