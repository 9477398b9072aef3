"""The report's "where the shipped artifact's time goes" part: per measured device, its top
operators (table and bar chart) and its thread-scaling curve.

Read from the bench records through :class:`~trainer.report.bench_record.BenchRecord`: the run's
own (``<run>/bench/bench.json``, whose bench stage profiles the shipped artifact at one thread)
and those given with ``edgetk report --bench`` (e.g. ``edgetk bench --remote --ops --out``).
A record with neither a profile nor a curve of the shipped artifact adds nothing. The figures are
drawn into ``<run>/bench/figures/`` when the report is built (one pair per device, numbered in
the order the records were given).
"""

from __future__ import annotations

from pathlib import Path

from trainer.report.bench_record import BenchRecord
from trainer.report.blocks import Figure, Heading, Para, Report, Table
from trainer.report.ops_record import OpProfile, ScalingPoint
from trainer.report.run_files import RunFiles

FIGURES_DIR = Path("bench") / "figures"
TOP = 10  # operators shown per device
NAME_WIDTH = 60  # characters of an operator's name kept in the table (its tail: the layer's name)


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _profile(bench: BenchRecord, artifact: str) -> OpProfile | None:
    """The artifact's profile at the fewest threads (the one the chart shows); a successful one
    before an error."""
    mine = [p for p in bench.op_profiles if p.artifact == artifact]
    mine.sort(key=lambda p: (p.error is not None, p.threads))
    return mine[0] if mine else None


def _plot_ops(p: OpProfile, where: str, out: Path) -> Path:
    from trainer.evaluation.figures import new_figure, save_figure

    top = p.ops[:TOP]
    fig = new_figure(7.5, 0.9 + 0.32 * len(top))
    ax = fig.add_subplot(1, 1, 1)
    types = sorted({o.type for o in top})
    colours = {t: f"C{i % 10}" for i, t in enumerate(types)}
    ys = range(len(top))[::-1]
    ax.barh(list(ys), [o.total_ms for o in top], color=[colours[o.type] for o in top])
    ax.set_yticks(list(ys), [_short(o.name, 42) for o in top], fontsize=6)
    for y, o in zip(ys, top):
        ax.annotate(
            f"{100 * o.share:.1f} %", (o.total_ms, y), xytext=(3, 0), textcoords="offset points",
            va="center", fontsize=6,
        )  # fmt: skip
    for t in types:
        ax.barh([], [], color=colours[t], label=t)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel(f"ms per inference, {p.threads} thread(s)")
    ax.set_title(f"{p.artifact} on {where}: top {len(top)} of {len(p.ops)} operators", fontsize=9)
    ax.margins(x=0.15)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, out)


def _plot_scaling(art: str, curve: tuple[ScalingPoint, ...], where: str, out: Path) -> Path:
    from trainer.evaluation.figures import new_figure, save_figure

    fig = new_figure(7.5, 3.2)
    threads = [p.threads for p in curve]
    lat = fig.add_subplot(1, 2, 1)
    lat.plot(threads, [p.latency_p50_ms for p in curve], "o-", label="predict() median")
    lat.plot(threads, [p.invoke_p50_ms for p in curve], "s--", label="bare invoke() median")
    lat.set_xlabel("threads")
    lat.set_ylabel("ms per image")
    lat.set_xticks(threads)
    lat.legend(fontsize=7)
    lat.grid(alpha=0.3)
    sp = fig.add_subplot(1, 2, 2)
    sp.plot(threads, [p.speedup or 0.0 for p in curve], "o-", label="measured (invoke)")
    sp.plot(threads, [t / threads[0] for t in threads], ":", color="grey", label="linear")
    sp.set_xlabel("threads")
    sp.set_ylabel(f"speed-up over {threads[0]} thread(s)")
    sp.set_xticks(threads)
    sp.legend(fontsize=7)
    sp.grid(alpha=0.3)
    fig.suptitle(f"{art} on {where}: thread scaling", fontsize=9)
    return save_figure(fig, out)


def _ops_blocks(r: Report, f: RunFiles, p: OpProfile, where: str, k: int) -> None:
    if p.error:
        r.add(Para(f"The per-operator profile of `{p.artifact}` failed on {where}: {p.error}"))
        return
    top = p.ops[:TOP]
    ratio = p.sum_over_whole
    r.add(
        Para(
            f"`{p.artifact}` on {where}, {p.threads} thread(s): {len(p.ops)} operators; the top "
            f"{len(top)} take {100 * top[-1].cumulative_share:.1f} % of their time. The operators "
            f"sum to {p.sum_ms:.3f} ms against the whole model's {p.whole_ms:.3f} ms measured "
            f"beside them (sum / whole {ratio:.2f}): the further from 1, the less the split can be "
            f"trusted. Method: {p.method}"
            + (f" (sized from {p.runs} runs)" if p.runs else "")
            + ". How each runtime's numbers are obtained: docs/edge_runtime.md, \"Why is it slow "
            'on my board?".'
        )
    )
    r.add(
        Table(
            ("#", "operator", "type", "ms", "share", "cumulative"),
            tuple(
                (
                    str(i),
                    f"`{_short(o.name, NAME_WIDTH)}`",
                    o.type,
                    f"{o.total_ms:.4f}",
                    f"{100 * o.share:.1f} %",
                    f"{100 * o.cumulative_share:.1f} %",
                )
                for i, o in enumerate(top, 1)
            ),
            caption=f"Top operators of `{p.artifact}` on {where} (time per inference; share of "
            "the operators' sum)",
        )
    )
    png = _plot_ops(p, where, f.run / FIGURES_DIR / f"device{k}_ops.png")
    r.add(
        Figure(
            png.relative_to(f.run),
            f"Top operators of `{p.artifact}` on {where} (colour: operator type)",
        )
    )


def _scaling_blocks(
    r: Report, f: RunFiles, art: str, curve: tuple[ScalingPoint, ...], where: str, k: int
) -> None:
    if len(curve) < 2:
        p = curve[0]
        r.add(
            Para(
                f"Thread scaling of `{art}` on {where}: only {p.threads} thread(s) measured "
                f"(bare invoke() median {p.invoke_p50_ms:.3f} ms); measure more with `edgetk "
                "bench --threads 1,2,4` on the device."
            )
        )
        return
    last = curve[-1]
    r.add(
        Para(
            f"Thread scaling of `{art}` on {where}: from {curve[0].threads} to {last.threads} "
            f"threads the bare invoke() median goes from {curve[0].invoke_p50_ms:.3f} to "
            f"{last.invoke_p50_ms:.3f} ms (speed-up {last.speedup or 0:.2f}, parallel efficiency "
            f"{last.efficiency or 0:.2f}; 1.00 = linear)."
        )
    )
    r.add(
        Table(
            ("threads", "predict p50 ms", "invoke p50 ms", "speed-up", "efficiency"),
            tuple(
                (
                    str(p.threads),
                    f"{p.latency_p50_ms:.3f}",
                    f"{p.invoke_p50_ms:.3f}",
                    "-" if p.speedup is None else f"{p.speedup:.2f}",
                    "-" if p.efficiency is None else f"{p.efficiency:.2f}",
                )
                for p in curve
            ),
        )
    )
    png = _plot_scaling(art, curve, where, f.run / FIGURES_DIR / f"device{k}_threads.png")
    r.add(Figure(png.relative_to(f.run), f"Thread scaling of `{art}` on {where}"))


def device_profile_section(r: Report, f: RunFiles) -> None:
    """Per bench record (device): the shipped artifact's top operators and thread scaling."""
    benches = ([f.bench] if f.bench else []) + list(f.extra_bench)
    parts = []
    for k, b in enumerate(benches):
        art = (f.manifest.default_artifact if f.manifest else None) or b.default_artifact
        if not art:
            continue
        prof, curve = _profile(b, art), b.thread_scaling.get(art, ())
        if prof or curve:
            parts.append((k, b, art, prof, curve))
    if not parts:
        return
    r.add(Heading("Where the shipped artifact's time goes, per device", 3))
    for k, b, art, prof, curve in parts:
        r.add(Heading(b.where, 4))
        if prof:
            _ops_blocks(r, f, prof, b.where, k)
        else:
            r.add(Para(f"No per-operator profile of `{art}` on {b.where} (`edgetk bench --ops`)."))
        if curve:
            _scaling_blocks(r, f, art, curve, b.where, k)


__all__ = ["device_profile_section"]
