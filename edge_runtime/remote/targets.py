"""Devices to measure on: from ``--remote DEST`` options or a devices file.

A devices file is JSON, so it reads on any Python without extra packages::

    {"devices": [
      {"name": "pi5", "destination": "pi@raspberrypi.local", "label": "Raspberry Pi 5"},
      {"name": "lab-pi4", "destination": "lab-pi4", "constraints": "pins/pi4.txt"}
    ]}

Per device: ``ssh_config``, ``python``, ``cache``, ``extras``, ``constraints`` and ``wheelhouse``
override the command line's; relative paths are read from the devices file's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json_or_raise
from edge_runtime.remote.ssh import check_destination

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EXTRA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def name_from_destination(destination: str) -> str:
    """A folder-safe device name: ``pi@raspberrypi.local`` -> ``raspberrypi.local``."""
    host = destination.rsplit("@", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", host).strip("._-") or "device"
    return name[:64]


@dataclass(frozen=True)
class DeviceTarget(JsonConfig):
    """One device: where it is, what it is called in the results, how its environment is made."""

    name: str
    destination: str
    label: str = ""
    ssh_config: str | None = None
    python: str = "python3"
    cache: str | None = None  # on the device; default ${XDG_CACHE_HOME:-~/.cache}/edgetk
    extras: tuple[str, ...] = ("edge",)
    constraints: str | None = None  # a local pip constraints file, pushed and applied there
    wheelhouse: str | None = None  # a local folder of wheels: install offline from it

    def validate(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"device name {self.name!r}: use letters, digits, '.', '_' or '-' (it names the "
                "results folder)"
            )
        check_destination(self.destination)
        bad = [e for e in self.extras if not _EXTRA.match(e)]
        if bad:
            raise ConfigError(f"extras {bad}: give extra names like 'edge'")
        if not self.python or self.python.startswith("-"):
            raise ConfigError(f"remote python {self.python!r}: give an interpreter path or name")
        for flag, value in (("--constraints", self.constraints), ("--ssh-config", self.ssh_config)):
            if value is not None and not Path(value).is_file():
                raise ConfigError(f"{flag} {value}: no such file")
        if self.wheelhouse is not None:
            wh = Path(self.wheelhouse)
            if not wh.is_dir() or not any(wh.glob("*.whl")):
                raise ConfigError(
                    f"--wheelhouse {self.wheelhouse}: not a folder of .whl files; fill it with "
                    "`pip download --only-binary=:all: --platform ... -d DIR 'edgetk[edge]'`"
                )


def _resolve(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else base / p)


def load_devices_file(path: str | Path) -> list[DeviceTarget]:
    """Read a devices file; one clear line on any mistake, naming the file and the entry."""
    p = Path(path)
    data = read_json_or_raise(
        p,
        ConfigError,
        f"--devices {p}: no such file",
        lambda exc: f"--devices {p} is not JSON ({exc})",
    )
    entries = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f'--devices {p}: expected {{"devices": [{{"destination": ...}}, ...]}}')
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "destination" not in entry:
            raise ConfigError(f"--devices {p}: entry {i} has no 'destination'")
        entry = dict(entry)
        entry.setdefault("name", name_from_destination(str(entry["destination"])))
        for key in ("ssh_config", "constraints", "wheelhouse"):
            entry[key] = _resolve(p.parent, entry.get(key))
        try:
            out.append(DeviceTarget.from_dict(entry, _where=f"{p}[{i}]"))
        except ConfigError as exc:
            raise ConfigError(f"--devices {p}, entry {i}: {exc}") from None
    return out


def unique_names(targets: list[DeviceTarget]) -> list[DeviceTarget]:
    """Two targets may not share a results folder: refuse duplicates by name."""
    seen: dict[str, str] = {}
    for t in targets:
        if t.name in seen:
            raise ConfigError(
                f"two devices are named {t.name!r} ({seen[t.name]} and {t.destination}); give "
                "them distinct names in the devices file"
            )
        seen[t.name] = t.destination
    return targets


__all__ = ["DeviceTarget", "load_devices_file", "name_from_destination", "unique_names"]
