"""The ``--remote`` family of ``edgetk bench`` options, kept beside the code they drive so the
bench command itself only gains one decorator and one branch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edge_runtime.cli_options import deprecated_option, list_option, path_option, shown_option

_OPTIONS = [
    click.option(
        "--remote",
        "remote",
        multiple=True,
        metavar="DEST",
        help="Measure on this SSH destination (user@host or a Host alias); repeat for several "
        "devices, measured in parallel.",
    ),
    path_option(
        "--devices",
        "devices_file",
        help="JSON file of named devices (destination, label, per-device options).",
    ),
    path_option(
        "--ssh-config",
        show_default="~/.ssh/config",
        help="OpenSSH client config file to use.",
    ),
    path_option(
        "--wheelhouse",
        help="Folder of wheels for the device: install offline from it (no network there).",
    ),
    path_option(
        "--constraints",
        "constraints",
        help="pip constraints file applied to the device's install (pin runtime versions).",
    ),
    list_option(
        "--remote-extras",
        show_default="edge, plus onnx when an ONNX artifact is measured",
        help="edgetk extras installed on the device, comma-separated.",
    ),
    shown_option(
        "--remote-python", default="python3", help="Python 3.10+ interpreter on the device."
    ),
    click.option(
        "--remote-cache",
        default=None,
        show_default="~/.cache/edgetk there",
        help="Cache folder on the device.",
    ),
    click.option(
        "--check-parity",
        type=int,
        default=None,
        metavar="N",
        help="Also run N labelled images (from --parity-data-dir) on each device and report "
        "accuracy and top-1 agreement with this machine.",
    ),
    path_option(
        "--parity-data-dir",
        show_default="--data-dir",
        help="Labelled folder (one subfolder per class) for --check-parity.",
    ),
    deprecated_option("--parity-data", "--parity-data-dir", type=click.Path(path_type=Path)),
    path_option(
        "--split-file", help="Only these files of the parity folder (a run's splits/test.txt)."
    ),
    path_option(
        "--results-dir",
        show_default="bench/remote/ beside the bundle",
        help="Where per-device results go.",
    ),
]

REMOTE_KEYS = (
    "remote",
    "devices_file",
    "ssh_config",
    "wheelhouse",
    "constraints",
    "remote_extras",
    "remote_python",
    "remote_cache",
    "check_parity",
    "parity_data_dir",
    "split_file",
    "results_dir",
)


def remote_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def wants_remote(kw: dict[str, Any]) -> bool:
    return bool(kw.get("remote") or kw.get("devices_file"))


_DEFAULTS = {"remote_extras": None, "remote_python": "python3"}


def refuse_without_remote(kw: dict[str, Any]) -> None:
    """Remote-only options given to a local benchmark are a mistake, not something to ignore."""
    from edge_runtime.common.errors import ConfigError

    given = [
        "--" + k.replace("_", "-")
        for k in REMOTE_KEYS
        if k not in ("remote", "devices_file") and kw.get(k) not in (None, _DEFAULTS.get(k))
    ]
    if given:
        raise ConfigError(
            f"{', '.join(given)} only apply to devices: add --remote DEST or --devices FILE"
        )


def default_extras(config: Any) -> str:
    """The smallest install that runs what is measured: ``edge`` (LiteRT), plus ``onnx`` when
    an ONNX artifact is among the artifacts benchmarked."""
    from edge_runtime.manifest import load_manifest

    manifest = load_manifest(config.bundle)
    chosen = [
        a
        for a in manifest.artifacts
        if not config.artifacts
        or a.file in config.artifacts
        or f"{a.format}_{a.precision}" in config.artifacts
        or f"{a.format}:{a.precision}" in config.artifacts
    ]
    return "edge,onnx" if any(a.format == "onnx" for a in chosen) else "edge"


def targets_from_options(kw: dict[str, Any], label: str, config: Any = None) -> list:
    from edge_runtime.remote.targets import DeviceTarget, load_devices_file, name_from_destination

    extras = kw.get("remote_extras") or tuple(
        (default_extras(config) if config else "edge").split(",")
    )
    common = {
        "ssh_config": str(kw["ssh_config"]) if kw.get("ssh_config") else None,
        "python": kw["remote_python"],
        "cache": kw.get("remote_cache"),
        "extras": extras,
        "constraints": str(kw["constraints"]) if kw.get("constraints") else None,
        "wheelhouse": str(kw["wheelhouse"]) if kw.get("wheelhouse") else None,
    }
    targets = [
        DeviceTarget(
            name=name_from_destination(dest), destination=dest, label=label or dest, **common
        )
        for dest in kw.get("remote") or ()
    ]
    if kw.get("devices_file"):
        for t in load_devices_file(kw["devices_file"]):
            # The command line fills what the devices file leaves out.
            merged = {
                k: v for k, v in common.items() if getattr(t, k) in (None, ("edge",), "python3")
            }
            targets.append(t.replace(**merged) if merged else t)
    return targets


def bench_remote(config: Any, kw: dict[str, Any], ops_top: int = 15, layers: Any = None) -> int:
    """Run the remote benchmark from the bench command's options; returns the exit code."""
    from edge_runtime.common.errors import ConfigError
    from edge_runtime.remote.errors import RemoteError
    from edge_runtime.remote.run import ParityRequest, run_remote, summary

    targets = targets_from_options(kw, config.label, config)
    parity = None
    if kw.get("check_parity") is not None:
        data = kw.get("parity_data_dir") or (Path(config.data) if config.data else None)
        if data is None:
            raise ConfigError(
                "--check-parity needs labelled images: pass --parity-data-dir DIR (one subfolder "
                "per class), e.g. the run's test images"
            )
        parity = ParityRequest(kw["check_parity"], Path(data), kw.get("split_file"))
    results = kw.get("results_dir") or Path(config.bundle).resolve().parent / "bench" / "remote"
    outcomes = run_remote(
        config,
        targets,
        Path(results),
        parity,
        echo=lambda s: click.echo(s, err=True),
        layers=layers,
    )
    failed = [o for o in outcomes if o.error]
    if len(failed) == len(outcomes) == 1 and failed[0].exception is not None:
        raise failed[0].exception
    if len(failed) == len(outcomes):
        raise RemoteError(
            f"all {len(failed)} devices failed: " + "; ".join(str(o.error) for o in failed)
        )
    click.echo(summary(outcomes, ops_top=ops_top))
    return 1 if any(o.error for o in outcomes) else 0


__all__ = [
    "REMOTE_KEYS",
    "bench_remote",
    "refuse_without_remote",
    "remote_options",
    "targets_from_options",
    "wants_remote",
]
