"""What ``edgetk predict`` classifies: image files, folders, and labelled folders (one per class)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edge_runtime.errors import DataError
from edge_runtime.preprocess import IMAGE_SUFFIXES


@dataclass(frozen=True)
class InputItem:
    """One file to classify; ``true_index`` is set when it sits in a labelled folder."""

    path: Path
    true_index: int | None = None


def _images_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def label_folder_name(label: str) -> str:
    """The folder name for ``label``: path separators become ``_`` ("T-shirt/top" -> "T-shirt_top")."""
    return label.replace("/", "_").replace("\\", "_")


def _folder_index(labels: Sequence[str]) -> dict[str, int]:
    index = {label_folder_name(lab): i for i, lab in enumerate(labels)}
    index.update({lab: i for i, lab in enumerate(labels)})
    return index


def labelled_subfolders(folder: Path, labels: Sequence[str]) -> dict[int, Path] | None:
    """``{class index: subfolder}`` if ``folder`` holds one subfolder per class, else None.

    Subfolders are named after the labels (path separators in a label written as ``_``). A folder
    is labelled when at least one subfolder is so named; then every subfolder with images must
    be: a stray ``shoes/`` would silently skew the numbers.
    """
    index = _folder_index(labels)
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    known = [s for s in subs if s.name in index]
    if not known:
        return None
    stray = [s.name for s in subs if s.name not in index and _images_under(s)]
    if stray:
        names = [label_folder_name(lab) for lab in labels]
        raise DataError(
            f"{folder} looks like a labelled folder but subfolder(s) {stray} are not labels of "
            f"this model {names}; rename or remove them, or pass the image files directly"
        )
    return {index[s.name]: s for s in known}


def collect_inputs(
    paths: Sequence[str | Path], labels: Sequence[str]
) -> tuple[list[InputItem], bool]:
    """Expand ``paths`` into files; returns ``(items, labelled)``.

    ``labelled`` is True when every given path was a labelled folder, so the whole run can be
    evaluated. Files are taken as given (an unreadable one is reported later, not dropped here);
    a missing path is a ``DataError``.
    """
    items: list[InputItem] = []
    all_labelled = True
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise DataError(f"{path} does not exist; pass image files or folders of images")
        if path.is_file():
            items.append(InputItem(path))
            all_labelled = False
            continue
        classes = labelled_subfolders(path, labels)
        if classes is None:
            found = _images_under(path)
            if not found:
                raise DataError(
                    f"{path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"
                )
            items.extend(InputItem(p) for p in found)
            all_labelled = False
            continue
        for idx, sub in sorted(classes.items()):
            items.extend(InputItem(p, idx) for p in _images_under(sub))
    return items, all_labelled and bool(items)


def collect_split(
    data_dir: str | Path, rel_paths: Sequence[str], labels: Sequence[str]
) -> list[InputItem]:
    """The files a split file lists, under ``data_dir``, each labelled by its class folder.

    The class is the first folder of the path named after a label (``cat/1.png``,
    ``test/cat/1.png``). Every listed file must exist: evaluating a different set of images than
    the split names would make the numbers incomparable.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; pass the data folder the split file refers to")
    index = _folder_index(labels)
    items: list[InputItem] = []
    missing: list[str] = []
    unlabelled: list[str] = []
    for rel in rel_paths:
        parts = PurePosixPath(rel).parts
        cls = next((index[p] for p in parts[:-1] if p in index), None)
        if cls is None:
            unlabelled.append(rel)
        path = root.joinpath(*parts)
        if not path.is_file():
            missing.append(rel)
        items.append(InputItem(path, cls))
    if missing:
        raise DataError(
            f"{len(missing)} file(s) of the split are not under {root}, e.g. {missing[0]!r}; "
            "pass the data folder the run was trained on"
        )
    if unlabelled:
        raise DataError(
            f"{len(unlabelled)} file(s) of the split are in no folder named after a label of this "
            f"model, e.g. {unlabelled[0]!r}; is this the bundle trained on that data?"
        )
    return items


__all__ = [
    "InputItem",
    "collect_inputs",
    "collect_split",
    "label_folder_name",
    "labelled_subfolders",
]
