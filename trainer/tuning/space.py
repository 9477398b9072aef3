"""The search space: which head hyperparameters a search varies, and over which ranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError


@dataclass(frozen=True)
class SearchSpace(JsonConfig):
    """Ranges for each hyperparameter; narrow them to search less, widen them to search more."""

    learning_rate_min: float = 1e-4
    learning_rate_max: float = 1e-2
    dropout_max: float = 0.6
    max_dense_layers: int = 2  # 0..max hidden Dense layers (0: a linear probe on the features)
    units_choices: tuple[int, ...] = (64, 128, 256, 512)
    label_smoothing_choices: tuple[float, ...] = (0.0, 0.05, 0.1)

    def validate(self) -> None:
        check_range("learning_rate_min", self.learning_rate_min, 1e-7, 1.0)
        check_range("learning_rate_max", self.learning_rate_max, 1e-7, 1.0)
        if self.learning_rate_min >= self.learning_rate_max:
            raise ConfigError(
                f"learning_rate_min={self.learning_rate_min} must be below "
                f"learning_rate_max={self.learning_rate_max}"
            )
        check_range("dropout_max", self.dropout_max, 0.0, 0.9)
        check_range("max_dense_layers", self.max_dense_layers, 0, 4)
        for name in ("units_choices", "label_smoothing_choices"):
            if not getattr(self, name):
                raise ConfigError(f"{name} is empty; give at least one value")
        if min(self.units_choices) < 1:
            raise ConfigError(f"units_choices={list(self.units_choices)}: each must be >= 1")

    def declare(self, hp: Any) -> dict[str, Any]:
        """Ask KerasTuner's ``hp`` for one value of each hyperparameter; return them by name.

        ``units_<i>`` exist only for the layers a trial actually has, so two trials that differ
        only in an unused layer's width are not counted as different.
        """
        values: dict[str, Any] = {
            "learning_rate": hp.Float(
                "learning_rate", self.learning_rate_min, self.learning_rate_max, sampling="log"
            ),
            "dropout": hp.Float("dropout", 0.0, self.dropout_max, step=0.05),
            "dense_layers": hp.Int("dense_layers", 0, self.max_dense_layers, default=1)
            if self.max_dense_layers
            else 0,
            "label_smoothing": hp.Choice(
                "label_smoothing", list(self.label_smoothing_choices), ordered=True
            ),
        }
        for i in range(1, values["dense_layers"] + 1):
            default = 128 if 128 in self.units_choices else self.units_choices[0]
            values[f"units_{i}"] = hp.Choice(
                f"units_{i}", list(self.units_choices), ordered=True, default=default
            )
        return values
