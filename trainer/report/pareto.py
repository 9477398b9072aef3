"""The accuracy / latency / size trade-off of every gated artifact, with the chosen point marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_pareto(points: list[Any], choice: Any | None, budget: Any, out: Path) -> Path | None:
    """Validation accuracy against p95 latency (marker area ~ artifact size); the Pareto front is
    joined, the chosen point starred, budget limits drawn. None when there are no points."""
    if not points:
        return None
    from trainer.evaluation.figures import new_figure, save_figure

    fig = new_figure(7.5, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    cands = sorted({p.candidate for p in points})
    colours = {c: f"C{i}" for i, c in enumerate(cands)}
    max_kb = max(p.size_kb for p in points) or 1.0
    for p in points:
        x = p.p95_ms if p.p95_ms is not None else 0.0
        ax.scatter(
            x,
            100 * p.val_accuracy,
            s=30 + 300 * p.size_kb / max_kb,
            color=colours[p.candidate],
            alpha=0.6,
            edgecolors="black",
            linewidths=0.5,
        )
        ax.annotate(
            p.artifact.replace("model_", "").rsplit(".", 1)[0] + "." + p.format,
            (x, 100 * p.val_accuracy),
            fontsize=6,
            xytext=(4, 2),
            textcoords="offset points",
        )
    if choice is not None:
        front = sorted(choice.pareto, key=lambda p: p.p95_ms or 0.0)
        ax.plot(
            [p.p95_ms or 0.0 for p in front],
            [100 * p.val_accuracy for p in front],
            color="grey",
            linestyle="--",
            linewidth=1,
            label="Pareto front",
        )
        w = choice.winner
        ax.scatter(
            w.p95_ms or 0.0, 100 * w.val_accuracy, marker="*", s=320, color="gold",
            edgecolors="black", zorder=5, label=f"chosen: {w.key}",
        )  # fmt: skip
    if budget.max_ms is not None:
        ax.axvline(budget.max_ms, color="red", linewidth=1, label=f"--budget-ms {budget.max_ms:g}")
    for c in cands:
        ax.scatter([], [], color=colours[c], label=c)
    ax.set_xlabel("p95 latency per image, 1 thread (ms, this machine)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Every gated artifact: accuracy / latency (marker area: file size)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out)
