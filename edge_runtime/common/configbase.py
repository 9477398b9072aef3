"""Base for configs: frozen dataclasses that validate themselves and round-trip through JSON.

Subclasses declare fields with type hints (enums for closed sets, nested configs, tuples) and put
their checks in ``validate()``, which runs on construction. ``from_dict`` rejects unknown keys by
name instead of ignoring them, so a typo in a config file is an error, not a silent default.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json, write_json

C = TypeVar("C", bound="JsonConfig")


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, JsonConfig):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    return value


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Turn a JSON value into the declared field type, or raise ConfigError naming the field."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _coerce(arm, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError("; ".join(errors))
    if origin is typing.Literal:
        check_choice(f"{where}=", value, args)
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where} must have {len(args)} items, got {value!r}")
            return tuple(
                _coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value))
            )
        inner = args[0] if args else Any
        return [_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return dict(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = [m.value for m in tp]
            raise ConfigError(
                f"{where}={value!r} is not allowed; choose one of {allowed}"
            ) from None
    if isinstance(tp, type) and issubclass(tp, JsonConfig):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return tp.from_dict(value, _where=where)
    if tp is Path:
        return Path(value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where} must be of type {tp.__name__}, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class JsonConfig:
    """Frozen, self-validating, JSON round-trippable configuration."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the bad value and the allowed ones. Override in subclasses."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], _where: str = "") -> C:
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__} expects a mapping, got {data!r}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"unknown {cls.__name__} field(s) {unknown}{' in ' + _where if _where else ''}; "
                f"known fields: {sorted(names)}"
            )
        kwargs = {
            k: _coerce(hints[k], v, f"{_where + '.' if _where else ''}{k}") for k, v in data.items()
        }
        return cls(**kwargs)

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls: type[C], path: str | Path) -> C:
        try:
            data = read_json(path)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` applied (the original is never mutated)."""
        return dataclasses.replace(self, **changes)


def check_choice(label: str, value: Any, choices: Iterable[Any], hint: str = "") -> None:
    """Raise ConfigError if ``value`` is not one of ``choices``. ``label`` leads the message:
    ``"name="`` for a config field, ``"--flag "`` for an option; ``hint`` ends it."""
    allowed = list(choices)
    if value not in allowed:
        raise ConfigError(f"{label}{value!r} is not allowed; choose one of {allowed}{hint}")


def check_range(name: str, value: float, lo: float | None = None, hi: float | None = None) -> None:
    """Raise ConfigError if ``value`` is outside [lo, hi]."""
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ConfigError(f"{name}={value!r} is out of range; allowed {bounds}")


Bounds = tuple[float | None, float | None]


def check_fields(config: object, bounds: dict[str, Bounds]) -> None:
    """``check_range`` on each field of ``config`` that ``bounds`` names ({field: (lo, hi)})."""
    for name, (lo, hi) in bounds.items():
        check_range(name, getattr(config, name), lo, hi)
