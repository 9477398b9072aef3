"""Learning curves (training vs validation loss and accuracy) and a bias / variance diagnosis.

:func:`diagnose` is pure (numbers in, numbers out) so it can be tested on synthetic histories;
:func:`plot_learning_curves` draws the figure and prints the diagnosis on it.

Caveat baked into the wording: Keras reports training accuracy with dropout and augmentation
active, so it slightly understates the fit; a train-val gap is therefore if anything understated.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from trainer.evaluation.figures import new_figure, save_figure

# Keras names the accuracy metric after how it was requested.
_ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")


def _accuracy_key(history: Mapping[str, Sequence[float]]) -> str | None:
    return next((k for k in _ACCURACY_KEYS if k in history), None)


def _series(history: Mapping[str, Sequence[float]], key: str | None) -> np.ndarray | None:
    if key is None or key not in history:
        return None
    return np.asarray(history[key], dtype=np.float64)


def _r(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 6)


def diagnose(
    history: Mapping[str, Sequence[float]],
    *,
    low_train_accuracy: float = 0.8,
    gap_threshold: float = 0.05,
    rise_threshold: float = 0.05,
) -> dict[str, Any]:
    """Bias / variance diagnosis from a Keras ``History.history`` dict.

    The epoch of reference is the best one (minimum validation loss, which is what
    EarlyStopping restores). Rules, in order:

    - high bias: training accuracy at that epoch < ``low_train_accuracy``;
    - high variance: the train-val accuracy gap at the last epoch > ``gap_threshold`` while
      validation loss rose more than ``rise_threshold`` (relative) after its minimum, or the gap
      at the best epoch is over twice the threshold;
    - otherwise a good fit; "still improving" is added when validation loss fell in the last epoch
      (more epochs may help).

    Returns:
        ``{"verdict": "high_bias" | "high_variance" | "high_bias_and_variance" | "good_fit" |
        "no_validation", "diagnosis": one line, "best_epoch": 1-based, "epochs", "train_accuracy",
        "val_accuracy", "train_val_gap" (at the best epoch), "final_train_val_gap",
        "min_val_loss", "final_val_loss", "val_loss_rise", "still_improving"}``.
    """
    loss = _series(history, "loss")
    if loss is None or len(loss) == 0:
        raise ConfigError(
            f"history has no 'loss' series (keys: {sorted(history)}); pass History.history"
        )
    acc_key = _accuracy_key(history)
    acc = _series(history, acc_key)
    val_loss = _series(history, "val_loss")
    val_acc = _series(history, f"val_{acc_key}" if acc_key else None)
    epochs = len(loss)

    if val_loss is None or len(val_loss) == 0:
        best = int(np.nanargmin(loss)) if np.isfinite(loss).any() else epochs - 1
        train_acc = float(acc[best]) if acc is not None else None
        return {
            "verdict": "no_validation",
            "diagnosis": "no validation data: variance cannot be judged; "
            + (f"train accuracy {train_acc:.3f}" if train_acc is not None else "no accuracy"),
            "best_epoch": best + 1,
            "epochs": epochs,
            "train_accuracy": _r(train_acc),
            "val_accuracy": None,
            "train_val_gap": None,
            "final_train_val_gap": None,
            "min_val_loss": None,
            "final_val_loss": None,
            "val_loss_rise": None,
            "still_improving": None,
        }

    if not np.isfinite(val_loss).any():
        raise ConfigError("every val_loss value is NaN or infinite: training diverged")
    best = int(np.nanargmin(val_loss))
    min_vl, final_vl = float(val_loss[best]), float(val_loss[-1])
    rise = (final_vl - min_vl) / abs(min_vl) if min_vl else 0.0
    still_improving = epochs >= 2 and final_vl < val_loss[-2] and best == epochs - 1
    train_acc = float(acc[best]) if acc is not None else None
    v_acc = float(val_acc[best]) if val_acc is not None else None

    def gap_at(i: int) -> tuple[float, str]:
        if acc is not None and val_acc is not None:
            return float(
                acc[i] - val_acc[i]
            ), f"train {acc[i]:.3f} vs val {val_acc[i]:.3f} accuracy"
        # Without accuracy, compare losses: how much worse validation is, relative.
        vl = float(val_loss[i])
        return ((vl - float(loss[i])) / abs(vl) if vl else 0.0), (
            f"train loss {loss[i]:.3f} vs val loss {vl:.3f}"
        )

    gap, gap_text = gap_at(best)
    final_gap, final_text = gap_at(epochs - 1)
    high_bias = train_acc is not None and train_acc < low_train_accuracy
    overfit_rising = final_gap > gap_threshold and rise > rise_threshold
    high_variance = overfit_rising or gap > 2 * gap_threshold
    where = f"best epoch {best + 1}/{epochs}"
    if overfit_rising:
        variance_text = (
            f"{final_text} at the last epoch (gap {final_gap:+.3f}), val loss rose {rise:.0%} "
            f"after its minimum at epoch {best + 1}"
        )
    else:
        variance_text = f"{gap_text} at {where} (gap {gap:+.3f})"
    if high_bias and high_variance:
        verdict = "high_bias_and_variance"
        text = (
            f"high bias and high variance: {variance_text}; train accuracy {train_acc:.3f} "
            f"< {low_train_accuracy:.2f}; a larger or better-suited model first, then "
            "regularisation"
        )
    elif high_bias:
        verdict = "high_bias"
        text = (
            f"high bias (underfitting): train accuracy {train_acc:.3f} < "
            f"{low_train_accuracy:.2f} at {where}; use a larger model, train longer or lower "
            "regularisation"
        )
    elif high_variance:
        verdict = "high_variance"
        text = (
            f"high variance (overfitting): {variance_text}; more data / augmentation / "
            "regularisation or earlier stopping"
        )
    else:
        verdict = "good_fit"
        text = f"good fit: {gap_text} at {where} (gap {gap:+.3f})"
    if still_improving:
        text += "; val loss still falling at the last epoch (more epochs may help)"
    return {
        "verdict": verdict,
        "diagnosis": text,
        "best_epoch": best + 1,
        "epochs": epochs,
        "train_accuracy": _r(train_acc),
        "val_accuracy": _r(v_acc),
        "train_val_gap": _r(gap),
        "final_train_val_gap": _r(final_gap),
        "min_val_loss": _r(min_vl),
        "final_val_loss": _r(final_vl),
        "val_loss_rise": _r(rise),
        "still_improving": bool(still_improving),
    }


def plot_learning_curves(
    history: Mapping[str, Sequence[float]],
    out_path: str | Path,
    title: str = "",
    *,
    low_train_accuracy: float = 0.8,
    gap_threshold: float = 0.05,
    rise_threshold: float = 0.05,
) -> dict[str, Any]:
    """Draw training vs validation loss and accuracy; return :func:`diagnose`'s dict + ``figure``.

    The best epoch (minimum validation loss) is marked; the diagnosis is printed under the plots.
    The keyword thresholds are passed to :func:`diagnose`.
    """
    from matplotlib.ticker import MaxNLocator

    result = diagnose(
        history,
        low_train_accuracy=low_train_accuracy,
        gap_threshold=gap_threshold,
        rise_threshold=rise_threshold,
    )
    acc_key = _accuracy_key(history)
    panels = [("loss", "loss")] + ([(acc_key, "accuracy")] if acc_key else [])
    fig = new_figure(5.0 * len(panels), 4.2)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (key, label) in zip(axes, panels):
        train = np.asarray(history[key], dtype=np.float64)
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, "o-", ms=3, label=f"training {label}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s-", ms=3, label=f"validation {label}")
        if result["verdict"] != "no_validation":
            ax.axvline(result["best_epoch"], color="grey", ls="--", lw=1, label="best epoch")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or "learning curves", fontsize=11)
    # Long diagnoses wrap; the figure's bottom edge is the one place they do not hide a curve.
    fig.supxlabel("\n".join(textwrap.wrap(result["diagnosis"], 110)), fontsize=8)
    path = save_figure(fig, out_path)
    return {**result, "figure": str(path)}
