"""Leave failed artifacts out of an existing bundle (one exported with failures accepted).

``edgetk run`` exports every candidate with failures accepted, so that every verdict is kept for
selection; the bundle it ships must still keep only what passed unless the user accepted
failures. This turns such a copy into what ``export_bundle`` writes without acceptance: failed
artifacts' files removed, each recorded in the manifest's ``excluded`` with its numbers, and
``parity.md`` saying so.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from edge_runtime.common.errors import ModelError
from edge_runtime.common.fileio import write_text
from edge_runtime.manifest import Artifact, load_manifest, write_manifest
from export.bundle import PARITY_NAME

log = logging.getLogger(__name__)


def _record(a: Artifact) -> dict:
    return {
        "key": f"{a.format}_{a.precision}",
        "file": a.file,
        "format": a.format,
        "precision": a.precision,
        "size_bytes": a.size_bytes,
        "sha256": a.sha256,
        "reason": "; ".join((a.parity or {}).get("failures", [])),
        "parity": {**a.parity},
    }


def leave_out_failed(bundle_dir: str | Path) -> tuple[str, ...]:
    """Remove every artifact of ``bundle_dir`` that failed its gate; return their files.

    The default artifact must have passed (else ModelError: nothing usable would be left)."""
    bundle = Path(bundle_dir)
    m = load_manifest(bundle)
    failed = [a for a in m.artifacts if a.parity_passed is False]
    if not failed:
        return ()
    kept = tuple(a for a in m.artifacts if a.parity_passed is not False)
    if m.default_artifact not in {a.file for a in kept}:
        raise ModelError(
            f"the default artifact {m.default_artifact} of {bundle} failed its parity gate; "
            "pass --allow-parity-failure to ship it anyway"
        )
    records = tuple(_record(a) for a in failed)
    for r in records:
        r["parity"]["verdict"] = "fail"
    pruned = dataclasses.replace(m, artifacts=kept, excluded=m.excluded + records)
    write_manifest(bundle, pruned)
    for a in failed:
        (bundle / a.file).unlink(missing_ok=True)
        log.warning("%s failed the parity gate and is left out of the bundle", a.file)
    md_path = bundle / PARITY_NAME
    if md_path.exists():
        keys = tuple(f"| {r['key']} |" for r in records)
        lines = [
            ln.replace("fail (accepted)", "fail (left out)") if ln.startswith(keys) else ln
            for ln in md_path.read_text(encoding="utf-8").splitlines()
        ]
        md = "\n".join(lines).rstrip() + "\n\n## Left out of the bundle\n\n"
        md += "These artifacts failed the gate; their files are not in the bundle and their "
        md += "numbers are in the manifest's `excluded`:\n\n"
        md += "\n".join(f"- {r['key']}: {r['reason']}" for r in records) + "\n"
        write_text(md_path, md)
    return tuple(a.file for a in failed)


__all__ = ["leave_out_failed"]
