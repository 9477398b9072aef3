"""The head's hyperparameters (what a trial varies) and the file of best values the search writes.

``HeadHyperparameters`` is the contract with the trainer: its dict is a set of stage-config
overrides (``learning_rate``, ``dropout``, ``dense_units``, ``label_smoothing``: fields of
``trainer.training.StageConfig``) that ``edgetk train`` applies on top of a stage preset with
:func:`apply_overrides`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json_or_raise, write_json

C = TypeVar("C", bound=JsonConfig)


@dataclass(frozen=True)
class HeadHyperparameters(JsonConfig):
    """One point of the search space: how the classification head is built and trained."""

    learning_rate: float = 1e-3
    dropout: float = 0.3
    dense_units: tuple[int, ...] = (128,)
    label_smoothing: float = 0.0

    def validate(self) -> None:
        check_range("learning_rate", self.learning_rate, 1e-7, 1.0)
        check_range("dropout", self.dropout, 0.0, 0.9)
        check_range("label_smoothing", self.label_smoothing, 0.0, 0.5)
        for units in self.dense_units:
            if not isinstance(units, int) or units < 1:
                raise ConfigError(f"dense_units={list(self.dense_units)}: each must be an int >= 1")

    @classmethod
    def defaults(cls) -> HeadHyperparameters:
        """What the transfer stage uses when nobody tuned it (trainer.models.build_transfer)."""
        return cls()

    @classmethod
    def from_trial_values(cls, values: dict[str, Any]) -> HeadHyperparameters:
        """Build from a KerasTuner trial's ``hyperparameters.values`` (``units_1``, ``units_2``...)."""
        layers = int(values.get("dense_layers", 0))
        return cls(
            learning_rate=float(values["learning_rate"]),
            dropout=float(values["dropout"]),
            dense_units=tuple(int(values[f"units_{i}"]) for i in range(1, layers + 1)),
            label_smoothing=float(values.get("label_smoothing", 0.0)),
        )


def save_best(path: str | Path, hps: HeadHyperparameters) -> Path:
    """Write the stage-config overrides file (plain keys, real JSON types) that ``edgetk train`` reads."""
    return write_json(path, hps.to_dict())


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Read an overrides file back as a validated dict (unknown keys are an error, by name)."""
    data = read_json_or_raise(
        path,
        ConfigError,
        f"hyperparameters file {path} does not exist",
        lambda exc: f"hyperparameters file {path} is not valid JSON: {exc}",
    )
    return HeadHyperparameters.from_dict(data).to_dict()


def apply_overrides(config: C, overrides: dict[str, Any]) -> C:
    """``config`` (any JsonConfig, e.g. a StageConfig) with ``overrides`` applied and validated.

    Keys the config does not have are an error naming them, never silently dropped.
    """
    names = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(
            f"{type(config).__name__} has no field(s) {unknown}; the overrides file holds "
            f"{sorted(overrides)} and the config accepts {sorted(names)}"
        )
    return type(config).from_dict({**config.to_dict(), **overrides})
