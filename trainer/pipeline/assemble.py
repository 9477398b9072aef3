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
) -> dict[str, Any]:
    """``views`` other than "none": the chosen artifact is re-exported alone with test-time views
    (``ExportConfig.test_time_views``; "auto" chooses them on the validation split) behind the
    same gate on the test split."""
    from trainer.pipeline.selection_stage import EXPORTS_DIR, SELECTION_NAME

    run = Path(ctx.run_dir)
    sel = read_json(run / SELECTION_NAME)
    if sel.get("status") != "chosen":
        raise ConfigError(f"{run / SELECTION_NAME} records no choice; run the select stage first")
    cand, art = sel["chosen"]["candidate"], sel["chosen"]["artifact"]
    src = run / EXPORTS_DIR / cand
    dest = run / "bundle"
    opts = ctx.options["config"]
    if views == "none" and read_json(src / "manifest.json")["default_artifact"] == art:
        _copy_tree(src, dest, keep_failed=opts.allow_parity_failure)
        how = "copied"
    else:
        # The exporter makes the smallest gated artifact the default; when the chosen one is
        # another, or test-time views are wanted, this bundle holds the chosen format alone
        # (the other points stay in exports/).
        key = _format_key(art)
        ecfg = export_config(
            ctx,
            formats=(key,),
            allow_parity_failure=opts.allow_parity_failure,
            test_time_views=views,
        )
        export_one(ctx, cand, dest, ecfg)
        how = f"re-exported as {key} alone" + (
            f", test-time views {views}" if views != "none" else ""
        )
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
    }
