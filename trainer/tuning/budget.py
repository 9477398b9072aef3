"""Search budgets enforced by the oracle: a trial count and a wall-clock deadline.

The check sits in the oracle's ``populate_space`` (the one place every new trial comes from), so
it also holds in distributed mode, where the chief's oracle hands trials to every worker: when the
budget is spent the oracle answers STOPPED, running trials finish, and the search ends cleanly with
every finished trial on disk. Nothing is killed mid-trial.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    """``max_trials``: total trials in the project (earlier, resumed runs included).
    ``deadline_ns``: ``time.perf_counter_ns()`` value after which no new trial starts."""

    max_trials: int | None = None
    deadline_ns: int | None = None

    @classmethod
    def from_minutes(cls, max_trials: int | None, minutes: float | None) -> Budget:
        deadline = None
        if minutes is not None:
            deadline = time.perf_counter_ns() + int(minutes * 60e9)
        return cls(max_trials=max_trials, deadline_ns=deadline)

    def exhausted(self, trials_so_far: int) -> str | None:
        """Why no further trial may start, or None while the budget lasts."""
        if self.max_trials is not None and trials_so_far >= self.max_trials:
            return f"max_trials={self.max_trials} reached"
        if self.deadline_ns is not None and time.perf_counter_ns() >= self.deadline_ns:
            return "time budget spent"
        return None


_CLASSES: dict[type, type] = {}


def budgeted(oracle_cls: type) -> type:
    """A subclass of the KerasTuner oracle ``oracle_cls`` that stops when its ``budget`` is spent."""
    if oracle_cls in _CLASSES:
        return _CLASSES[oracle_cls]

    class BudgetedOracle(oracle_cls):  # type: ignore[misc, valid-type]
        budget: Budget = Budget()
        stop_reason: str | None = None

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            reason = self.budget.exhausted(len(self.trials))
            if reason is not None:
                if self.stop_reason is None:
                    log.info(
                        "search stops: %s (%d trials in the project)", reason, len(self.trials)
                    )
                self.stop_reason = reason
                return {"status": "STOPPED"}
            return super().populate_space(trial_id)

    BudgetedOracle.__name__ = f"Budgeted{oracle_cls.__name__}"
    BudgetedOracle.__qualname__ = BudgetedOracle.__name__
    _CLASSES[oracle_cls] = BudgetedOracle
    return BudgetedOracle
