"""The ``bundle`` stage: the chosen candidate's export becomes ``<run>/bundle`` with the chosen
artifact as its default, the one ``edgetk predict / serve / bench`` use unless told otherwise."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json
from trainer.pipeline.views_cost import VIEWS_COST_NAME, VIEWS_DIR, Verdict, ViewsCost

log = logging.getLogger(__name__)


def _format_key(filename: str) -> str:
    from export.formats import FORMATS

    for f in FORMATS:
        if f.filename == filename:
            return f.key
    raise ConfigError(f"artifact {filename!r} matches no export format")


def _copy_tree(src: Path, dest: Path, keep_failed: bool = True) -> None:
    # Copy beside the destination, then swap: a reader never sees half a bundle.
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    if not keep_failed:
        # Candidates are exported with failures accepted (every verdict feeds selection); what
        # ships keeps only what passed unless the user accepted failures.
        from export.prune import leave_out_failed

        leave_out_failed(tmp)
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def assemble_bundle(
    ctx: Any,
    export_config: Callable[..., Any],
    export_one: Callable[..., Any],
    views: str = "none",
    refit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``views`` other than "none": the chosen artifact is re-exported alone with test-time views
    (``ExportConfig.test_time_views``; "auto" chooses them on the validation split) behind the
    same gate on the test split. The views artifact is measured beside the plain one selection
    chose (``<run>/views.json``, trainer/pipeline/views_cost.py); under a budget, views that
    "auto" chose ship only if that artifact fits it, else the plain artifact ships.

    ``refit``: the record of the chosen candidate retrained on every training image
    (trainer/pipeline/refit.py). That model is exported alone at the chosen precision behind the
    same gate and ships; if its artifact fails the gate, the main run's artifact (which passed)
    ships instead and the bundle's result says why.
    """
    from trainer.pipeline.selection_stage import EXPORTS_DIR, SELECTION_NAME

    run = Path(ctx.run_dir)
    sel = read_json(run / SELECTION_NAME)
    if sel.get("status") != "chosen":
        raise ConfigError(f"{run / SELECTION_NAME} records no choice; run the select stage first")
    cand, art = sel["chosen"]["candidate"], sel["chosen"]["artifact"]
    src = run / EXPORTS_DIR / cand
    dest = run / "bundle"
    opts = ctx.options["config"]
    (run / VIEWS_COST_NAME).unlink(missing_ok=True)  # a record of an earlier bundle is stale
    refit_note: dict[str, Any] | None = None
    if refit is not None and refit.get("candidate") == cand and refit.get("model"):
        refit_note = _ship_refit(ctx, run, refit, art, export_config, export_one, views)
        if refit_note["shipped"]:
            return _finish(dest, cand, art, refit_note["how"], refit_note)
        log.warning("bundle: %s", refit_note["why"])
    if views == "none":
        how = _ship_plain(ctx, src, dest, cand, art, export_config, export_one)
        return _finish(dest, cand, art, how, refit_note)
    # Test-time views: the chosen artifact alone, re-exported with them behind the same gate.
    # Under a budget, "auto" views are staged and measured first; they ship only if they fit.
    key = _format_key(art)
    weigh = views == "auto" and opts.budget.active
    target = run / VIEWS_DIR / "export" if weigh else dest
    ecfg = export_config(
        ctx,
        formats=(key,),
        # staged views that fail their gate are dropped below, as views over budget are
        allow_parity_failure=opts.allow_parity_failure or weigh,
        test_time_views=views,
    )
    export_one(ctx, cand, target, ecfg)
    how = f"re-exported as {key} alone, test-time views {views}"
    cost = _weigh(ctx, run, sel, target, views)
    why = None
    if weigh and not opts.allow_parity_failure and _gate_failed(target, art):
        why = "their artifact failed its parity gate"
    elif cost is not None and cost.verdict is Verdict.DROPPED:
        why = cost.reason
    if why is not None:
        log.warning("bundle: test-time views dropped: %s", why)
        how = _ship_plain(ctx, src, dest, cand, art, export_config, export_one)
        how += f"; test-time views dropped: {why}"
    elif weigh:
        _copy_tree(target, dest)
    return _finish(dest, cand, art, how, refit_note, cost)


def _gate_failed(export_dir: Path, art: str) -> bool:
    """Whether ``art`` in ``export_dir`` failed its parity gate."""
    arts = read_json(export_dir / "manifest.json")["artifacts"]
    return any(a["file"] == art and a.get("parity_passed") is False for a in arts)


def _ship_plain(
    ctx: Any,
    src: Path,
    dest: Path,
    cand: str,
    art: str,
    export_config: Callable[..., Any],
    export_one: Callable[..., Any],
) -> str:
    """The chosen artifact as selected, without views: its export copied when it is that
    export's default, else re-exported alone (the other points stay in exports/)."""
    opts = ctx.options["config"]
    if read_json(src / "manifest.json")["default_artifact"] == art:
        _copy_tree(src, dest, keep_failed=opts.allow_parity_failure)
        return "copied"
    # The exporter makes the smallest gated artifact the default; the chosen one is another.
    key = _format_key(art)
    ecfg = export_config(
        ctx, formats=(key,), allow_parity_failure=opts.allow_parity_failure, test_time_views="none"
    )
    export_one(ctx, cand, dest, ecfg)
    return f"re-exported as {key} alone"


def _weigh(
    ctx: Any, run: Path, sel: dict[str, Any], views_dir: Path, views: str
) -> ViewsCost | None:
    """The views artifact in ``views_dir`` measured against the plain one selection chose
    (trainer/pipeline/views_cost.py); None when the export holds no views."""
    from trainer.data import make_splits
    from trainer.pipeline.stages import _dataset
    from trainer.pipeline.views_cost import weigh_views

    opts = ctx.options["config"]
    splits = make_splits(_dataset(ctx), opts.data)
    return weigh_views(
        run,
        views_dir,
        sel,
        views,
        opts.budget,
        splits.x_val,
        splits.y_val,
        opts.bench_runs,
        device=bool(opts.budget_bench),
    )


def _ship_refit(
    ctx: Any,
    run: Path,
    refit: dict[str, Any],
    art: str,
    export_config: Callable[..., Any],
    export_one: Callable[..., Any],
    views: str,
) -> dict[str, Any]:
    """Export the refit model at the chosen precision into ``<run>/refit/export``; move it to
    ``<run>/bundle`` when its artifact passed the gate (or failures are allowed)."""
    from edge_runtime.manifest import load_manifest
    from trainer.pipeline.refit import REFIT_DIR

    opts = ctx.options["config"]
    key = _format_key(art)
    staged = run / REFIT_DIR / "export"
    ecfg = export_config(ctx, formats=(key,), allow_parity_failure=True, test_time_views=views)
    export_one(ctx, refit["candidate"], staged, ecfg, model_dir=run / refit["model"])

    verdict = next((a for a in load_manifest(staged).artifacts if a.file == art), None)
    passed = bool(verdict is not None and verdict.parity_passed is not False)
    note: dict[str, Any] = {"model": refit["model"], "images": refit["images"], "passed": passed}
    if not passed and not opts.allow_parity_failure:
        note.update(
            shipped=False,
            why=(
                f"the refit model's {art} failed its parity gate; the main run's artifact ships "
                f"(see {REFIT_DIR}/export/manifest.json)"
            ),
        )
        return note
    _copy_tree(staged, run / "bundle", keep_failed=opts.allow_parity_failure)
    note.update(
        shipped=True,
        how=f"retrained on all {refit['images']} training images, exported as {key} alone",
    )
    return note


def _finish(
    dest: Path,
    cand: str,
    art: str,
    how: str,
    refit_note: dict[str, Any] | None,
    cost: ViewsCost | None = None,
) -> dict[str, Any]:
    manifest = read_json(dest / "manifest.json")
    if manifest["default_artifact"] != art:
        raise ConfigError(
            f"bundle default {manifest['default_artifact']!r} is not the chosen artifact {art!r}"
        )
    chosen = (manifest.get("source_model") or {}).get("test_time_views")
    log.info("bundle: %s/%s (%s)", cand, art, how)
    return {
        "bundle": str(dest),
        "candidate": cand,
        "default_artifact": art,
        "how": how,
        "test_time_views": chosen["chosen"] if chosen else "none",
        **({"refit": refit_note} if refit_note is not None else {}),
        **({"views_cost": cost.summary()} if cost is not None else {}),
    }
