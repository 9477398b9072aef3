"""Write a run's splits as data: ``<run>/splits/{train,val,test}.txt`` and per-class counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import write_json
from edge_runtime.split_file import SPLITS_DIR, write_split_file
from trainer.data.config import DataConfig
from trainer.data.dataset import Dataset
from trainer.data.load import split_counts, split_files

COUNTS_NAME = "counts.json"


def record_splits(run_dir: str | Path, ds: Dataset, cfg: DataConfig) -> dict[str, Any]:
    """Write the split file lists (image folders) and ``counts.json`` (every source).

    Returns the counts record. A class that a split leaves empty is warned about by name.
    """
    out = Path(run_dir) / SPLITS_DIR
    counts = split_counts(ds, cfg)
    files = split_files(ds, cfg)
    written = {}
    for name, paths in files.items():
        comment = (
            f"edgetk {name} split of {ds.source}: {len(paths)} images, paths relative to the "
            f"data folder\n{ds.extra.get('split', '')}; --val-fraction {cfg.val_fraction}, "
            f"seed {cfg.seed}"
        )
        written[name] = str(write_split_file(out / f"{name}.txt", paths, comment))
    record = {
        "dataset": ds.name,
        "source": ds.source,
        "fingerprint_sha256": ds.fingerprint,
        "class_names": list(ds.class_names),
        "per_class": counts,
        "totals": {k: int(sum(v)) for k, v in counts.items()},
        "files": written,
    }
    write_json(out / COUNTS_NAME, record)
    return record


__all__ = ["COUNTS_NAME", "record_splits"]
