"""One way to make a bundle from a trained model: ``edgetk export`` and ``edgetk run``'s export stage
both call :func:`make_bundle`, so a bundle's manifest records its model, its calibration images and
its gate images under the same names whichever command made it.

The export library (``export.export_bundle``) takes numpy arrays and never imports the trainer; this
module is the trainer's side: it turns a registry model, a dataset and its split settings into the
arrays and the provenance the exporter records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_SPLIT = "train (validation held out)"


def dataset_provenance(ds: Any, data_config: Any) -> dict[str, Any]:
    """What a bundle says about the data its images came from."""
    return {
        "dataset": {"name": ds.name, "fingerprint_sha256": ds.fingerprint},
        "data_config": data_config.to_dict(),
    }


def model_provenance(keras_file: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``source_model``: the registry version (when there is one) it came from."""
    keras_file = Path(keras_file)
    out: dict[str, Any] = {"file": keras_file.name}
    if meta:
        out["path"] = str(keras_file.parent)
        out.update(
            {
                k: meta.get(src)
                for k, src in (
                    ("name", "name"),
                    ("version", "version"),
                    ("stage", "stage"),
                    ("kind", "kind"),
                    ("sha256", "model_sha256"),
                    ("metrics", "metrics"),
                    ("val_metrics", "val_metrics"),
                )
                if meta.get(src) is not None
            }
        )
    return out


def make_bundle(
    keras_file: Path,
    out: Path,
    export_config: Any,
    ds: Any,
    data_config: Any,
    *,
    meta: dict[str, Any] | None = None,
    labels: list[str] | tuple[str, ...] | None = None,
    input_spec: Any = None,
    eval_subset: np.ndarray | None = None,
    eval_subset_note: dict[str, Any] | None = None,
    name: str | None = None,
    source_extra: dict[str, Any] | None = None,
    on_artifact: Any = None,
    rgb_input: bool = False,
) -> Any:
    """Export ``keras_file`` into the bundle folder ``out`` behind the parity gate.

    The calibration pool is ``ds``'s training split with the validation images held out (as
    ``data_config`` splits it); precision recovery and the test-time views are chosen on the
    validation split; the gate reads the test split (``eval_subset``: indices of a subset of it).
    ``meta`` is the registry metadata ({} for a plain ``.keras`` file): its labels name the classes
    (``labels`` overrides them) and the views' limits follow the augmentation it trained with.
    """
    from edge_runtime.manifest import InputSpec
    from export import export_bundle
    from export.views import allowed_transforms, shift_fill
    from trainer.data import make_splits

    meta = meta or {}
    splits = make_splits(ds, data_config)
    x_eval, y_eval = splits.x_test, splits.y_test
    parity: dict[str, Any] = {"split": "test", **dataset_provenance(ds, data_config)}
    if eval_subset is not None:
        x_eval, y_eval = x_eval[eval_subset], y_eval[eval_subset]
        parity["subset"] = eval_subset_note or {"size": int(len(eval_subset))}
    parity["description"] = f"{len(y_eval)} images of the test split"
    has_val = len(splits.y_val) > 0
    augment = (meta.get("config") or {}).get("augment")  # what training did: the views' limits
    if input_spec is None:
        input_spec = InputSpec.from_dict(meta["input"])
    return export_bundle(
        keras_file,
        out,
        export_config,
        splits.x_train,
        splits.y_train,
        x_eval,
        y_eval,
        list(labels or meta.get("labels") or ds.class_names),
        x_select=splits.x_val if has_val else None,
        y_select=splits.y_val if has_val else None,
        input_spec=input_spec,
        output_kind=(meta.get("output") or {}).get("kind", "probabilities"),
        name=name or meta.get("name") or Path(keras_file).stem,
        source_model={**model_provenance(keras_file, meta), **(source_extra or {})},
        calibration_source={"split": CALIBRATION_SPLIT, **dataset_provenance(ds, data_config)},
        parity_source=parity,
        view_transforms=allowed_transforms(augment) if meta else None,
        view_fill=shift_fill(augment),
        on_artifact=on_artifact,
        rgb_input=rgb_input,
    )


__all__ = ["CALIBRATION_SPLIT", "dataset_provenance", "make_bundle", "model_provenance"]
