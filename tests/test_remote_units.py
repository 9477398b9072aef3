"""`edgetk bench --remote` pieces that need no SSH server: quoting, failure classification,
devices files, the device side's upload verification, parity arithmetic, environment keys."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from edge_runtime.common.errors import ConfigError
from edge_runtime.remote import device_side
from edge_runtime.remote.device import device_words
from edge_runtime.remote.errors import AuthError, HostKeyError, RemoteError, UnreachableError
from edge_runtime.remote.parity import ParityImage, compare, pick_images
from edge_runtime.remote.push import Blob, write_tar
from edge_runtime.remote.ssh import Ssh, check_destination, classify_failure
from edge_runtime.remote.targets import DeviceTarget, load_devices_file, unique_names
from tests.fixtures.edge_helpers import BUNDLE, IMAGES

HOSTILE = "a'; touch pwned-edgetk; echo '$(reboot)`id`\"b.tflite"


def test_remote_command_is_one_quoted_string_of_the_given_words() -> None:
    words = device_words("python3", "bench", {"files": {HOSTILE: "0" * 64}, "label": "$(id)"})
    argv = Ssh("pi@raspberrypi.local").argv(words)
    # ssh hands the last word to the remote shell; the shell must split it back into our words.
    assert argv[-2] == "--" and shlex.split(argv[-1]) == words
    assert json.loads(shlex.split(argv[-1])[-1])["files"] == {HOSTILE: "0" * 64}
    assert argv[argv.index("StrictHostKeyChecking=yes") - 1 :][:2] == [
        "-o",
        "StrictHostKeyChecking=yes",
    ]
    assert "BatchMode=yes" in argv


@pytest.mark.parametrize("dest", ["-oProxyCommand=touch x", "", "pi@host name", "-p"])
def test_destination_that_ssh_would_read_as_an_option_is_refused(dest: str) -> None:
    with pytest.raises(ConfigError, match="not an SSH destination"):
        check_destination(dest)


@pytest.mark.parametrize(
    ("stderr", "kind", "message"),
    [
        ("Host key verification failed.\r\n", HostKeyError, "host key is not known"),
        ("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
         "checking.\nHost key verification failed.", HostKeyError, "never|not known"),
        ("pi@10.0.0.2: Permission denied (publickey).", AuthError, "authentication refused"),
        ("ssh: connect to host 127.0.0.1 port 1: Connection refused", UnreachableError,
         "host unreachable"),
        ("ssh: Could not resolve hostname nopi.local: Name or service not known", UnreachableError,
         "check the name"),
        ("something else entirely", RemoteError, "ended abnormally"),
    ],
)  # fmt: skip
def test_ssh_failures_become_one_clear_line(stderr: str, kind: type, message: str) -> None:
    err = classify_failure("pi@board", stderr)
    assert type(err) is kind
    assert "\n" not in str(err) and str(err).startswith("pi@board: ")
    assert err.exit_code == 1
    import re

    assert re.search(message, str(err))


def test_devices_file_reads_names_labels_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "pins.txt").write_text("onnxruntime==1.19.2\n")
    f = tmp_path / "devices.json"
    f.write_text(
        json.dumps(
            {
                "devices": [
                    {"destination": "pi@raspberrypi.local", "label": "Raspberry Pi 5"},
                    {"name": "lab", "destination": "lab-pi4", "constraints": "pins.txt"},
                ]
            }
        )
    )
    a, b = load_devices_file(f)
    assert (a.name, a.label, a.extras) == ("raspberrypi.local", "Raspberry Pi 5", ("edge",))
    assert b.constraints == str(tmp_path / "pins.txt")
    with pytest.raises(ConfigError, match="two devices are named 'lab'"):
        unique_names([b, b.replace(destination="other")])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"devices": []}', "expected"),
        ('{"devices": [{"name": "x"}]}', "entry 0 has no 'destination'"),
        ('{"devices": [{"destination": "-oProxyCommand=x"}]}', "entry 0: .*not an SSH destination"),
        ('{"devices": [{"destination": "pi", "name": "../up"}]}', "device name '../up'"),
        ('{"devices": [{"destination": "pi", "wheelhouse": "nowhere"}]}', "--wheelhouse"),
    ],
)
def test_devices_file_mistakes_name_the_file_and_entry(
    tmp_path: Path, content: str, message: str
) -> None:
    f = tmp_path / "devices.json"
    f.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_devices_file(f)


def test_target_refuses_bad_extras_and_python() -> None:
    with pytest.raises(ConfigError, match="extras"):
        DeviceTarget(name="pi", destination="pi", extras=("edge;rm -rf /",))
    with pytest.raises(ConfigError, match="remote python"):
        DeviceTarget(name="pi", destination="pi", python="-c")


def _device(command: str, args: dict, stdin: bytes = b"") -> subprocess.CompletedProcess:
    words = device_words(sys.executable, command, args)
    return subprocess.run(words, input=stdin, capture_output=True)


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_device_side_keeps_only_blobs_whose_content_matches_their_name(tmp_path: Path) -> None:
    cache = tmp_path / "cache dir"
    src = tmp_path / "model.tflite"
    src.write_bytes(b"model bytes")
    blob = Blob.of(src)
    buf = io.BytesIO()
    write_tar([blob], buf)
    ok = _device("receive", {"cache": str(cache)}, buf.getvalue())
    assert ok.returncode == 0, ok.stderr
    assert (cache / "blobs" / blob.sha256).read_bytes() == b"model bytes"
    probe = json.loads(
        _device("probe", {"cache": str(cache), "hashes": [blob.sha256, "a" * 64]}).stdout
    )
    assert probe["missing"] == ["a" * 64] and probe["python_ok"] and probe["cache"] == str(cache)

    bad = _device("receive", {"cache": str(cache)}, _tar({"b" * 64: b"not what the name says"}))
    assert bad.returncode == device_side.REPORTED_EXIT
    assert b"arrived corrupted" in bad.stderr
    assert not (cache / "blobs" / ("b" * 64)).exists()
    assert not [p for p in (cache / "blobs").iterdir() if p.name.endswith(".tmp")]

    sneaky = _device("receive", {"cache": str(cache)}, _tar({"../../escape": b"x"}))
    assert (
        sneaky.returncode == device_side.REPORTED_EXIT
        and b"unexpected upload member" in sneaky.stderr
    )
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("name", ["../manifest.json", ".hidden", "a/b.tflite", ""])
def test_device_side_refuses_paths_as_file_names(name: str) -> None:
    with pytest.raises(device_side.Reported, match="not a plain file name"):
        device_side._safe_name(name)
    assert device_side._safe_name(HOSTILE) == HOSTILE  # odd but plain: allowed, never shell-parsed


def test_device_side_cleanup_refuses_a_run_id_that_is_a_path(tmp_path: Path) -> None:
    out = _device("cleanup", {"cache": str(tmp_path), "run_id": "../../etc"})
    assert out.returncode == device_side.REPORTED_EXIT and b"bad run id" in out.stderr


def test_thermal_reports_what_the_machine_exposes() -> None:
    t = device_side.thermal()
    assert set(t) == {"zones", "throttled_raw", "throttled_flags", "cpu0_mhz", "cpu0_max_mhz"}
    for z in t["zones"]:
        assert -50 < z["celsius"] < 150


def test_parity_compare_counts_agreement_and_accuracy(tmp_path: Path) -> None:
    f = tmp_path / "x.png"
    f.write_bytes(b"png")
    imgs = [ParityImage(f, t, Blob.of(f)) for t in (0, 1, 2, 3)]
    p = compare(imgs, device=[0, 1, 2, 0], here=[0, 1, 3, 0])
    assert (p["n"], p["device_correct"], p["top1_agree"]) == (4, 3, 3)
    assert p["local_accuracy"] == 0.5 and p["disagreements"][0]["device"] == 2


def test_pick_images_interleaves_classes_and_honours_a_split_file(tmp_path: Path) -> None:
    from edge_runtime.manifest import load_manifest

    labels = load_manifest(BUNDLE).labels
    picked = pick_images(IMAGES, labels, 4)
    assert sorted(i.true_index for i in picked) == [0, 1, 2, 3]
    first = picked[0].path.relative_to(IMAGES)
    split = tmp_path / "test.txt"
    split.write_text(f"{first}\n")
    only = pick_images(IMAGES, labels, 10, split)
    assert [i.path for i in only] == [picked[0].path]
    with pytest.raises(ConfigError, match="--check-parity 0"):
        pick_images(IMAGES, labels, 0)


def test_environment_key_changes_with_version_extras_pins_and_python() -> None:
    from edge_runtime.bench import BenchConfig
    from edge_runtime.remote.session import Payload, env_key

    def payload(version: str, digest: str = "d" * 64) -> Payload:
        return Payload(
            wheel=lambda: None,  # type: ignore[arg-type,return-value]
            wheel_digest=digest,
            version=version,
            bundle_files=(),
            bench=BenchConfig(bundle=str(BUNDLE)),
        )

    probe = {"python": [3, 11, 2], "machine": "aarch64"}
    pi = DeviceTarget(name="pi", destination="pi")
    key = env_key(payload("0.1.0"), pi, probe, [])
    assert key.startswith("edgetk-0.1.0-") and key == env_key(payload("0.1.0"), pi, probe, [])
    pins = Blob(Path("pins.txt"), "c" * 64, 10, "constraints.txt")
    others = {
        env_key(payload("0.2.0"), pi, probe, []),
        env_key(payload("0.1.0", "e" * 64), pi, probe, []),
        env_key(payload("0.1.0"), pi.replace(extras=("edge", "serve")), probe, []),
        env_key(payload("0.1.0"), pi, probe, [pins]),
        env_key(payload("0.1.0"), pi, {**probe, "python": [3, 12, 1]}, []),
    }
    assert key not in others and len(others) == 5


def test_remote_only_options_without_a_device_are_a_usage_error(capsys) -> None:
    from edgetk.cli import main

    rc = main(["bench", str(BUNDLE), "--check-parity", "5", "--runs", "5"])
    assert rc == 2
    assert "--check-parity only apply to devices" in capsys.readouterr().err
