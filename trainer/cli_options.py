"""Click options shared by the training-side commands (data source, run directory, seed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edge_runtime.cli_options import (
    Decorator,
    choice_option,
    data_dir_option,
    deprecated_option,
    list_option,
    path_option,
)
from trainer.data.config import AUGMENTATIONS, DataConfig, DataSource
from trainer.data.contract import DEFAULT_RESIZE, POLARITIES, RESIZE_MODES


def _subset_option(flag: str, split: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The size of a stratified subset of one split (at least 10 images)."""
    return click.option(
        flag,
        type=click.IntRange(min=10),
        default=None,
        show_default=f"the whole {split} split",
        help=f"Stratified subset of the {split} split, in images.",
    )


def _share_option(
    flag: str, low: float, high: float, default: float, help: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A stratified share of the images, as a fraction in [low, high]."""
    return click.option(
        flag, type=click.FloatRange(low, high), default=default, show_default=True, help=help
    )


def data_source_option(
    help: str = "Where the images come from.",
    default: str = "fashion_mnist, or idx / image_folder by what --data-dir holds",
) -> Decorator:
    return choice_option(
        "--data-source", choices=[s.value for s in DataSource], show_default=default, help=help
    )


def image_polarity_option(
    help: str = "What the training images look like: light objects on a dark background, dark "
    "on light, or natural (no consistent polarity: the device never inverts).",
    default: str = "detected from the training images",
) -> Decorator:
    """``--image-polarity``: what the training pictures look like (and the earlier
    ``--polarity``, which on these commands meant the same)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = deprecated_option("--polarity", "--image-polarity", type=click.Choice(POLARITIES))(fn)
        return choice_option(
            "--image-polarity", choices=POLARITIES, show_default=default, help=help
        )(fn)

    return decorate


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The data options shared by eda / train / run / tune (see :class:`DataConfig`)."""
    options = [
        data_source_option(),
        data_dir_option(
            "A folder with the four IDX .gz files, or one subfolder of images per class.",
            show_default="Fashion-MNIST, from the Keras cache",
        ),
        _subset_option("--train-size", "training"),
        _subset_option("--test-size", "test"),
        _share_option(
            "--val-fraction",
            0.0,
            0.5,
            0.1,
            "Stratified validation share carved from the training split.",
        ),
        _share_option(
            "--test-fraction",
            0.01,
            0.9,
            0.2,
            "Image folders without train/ and test/ subfolders: stratified test share.",
        ),
        click.option(
            "--image-size",
            type=(click.IntRange(min=8), click.IntRange(min=8)),
            default=None,
            show_default="the images' common size, or a square of their median short side",
            help="Image folders: HEIGHT WIDTH of the model input.",
        ),
        click.option(
            "--resize",
            type=click.Choice(RESIZE_MODES),
            default=DEFAULT_RESIZE,
            show_default=True,
            help="How an image of another aspect ratio becomes the model size, in training and "
            "on the device alike.",
        ),
        image_polarity_option(),
        list_option(
            "--augment",
            choices=AUGMENTATIONS,
            empty="none",
            show_default="all for Fashion-MNIST, no flips for image folders",
            help=f"Augmentations training may use, comma-separated from {', '.join(AUGMENTATIONS)}, "
            "or 'none'.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=42,
            show_default=True,
            help="Seed for splits and training.",
        ),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def data_config_from_options(
    data_source: str | None,
    data_dir: Path | None,
    image_size: tuple[int, int] | None,
    image_polarity: str | None,
    augment: tuple[str, ...] | None,
    **fields: Any,
) -> DataConfig:
    """Build the DataConfig the options describe (an IDX folder is recognised by its files).

    ``fields``: the options named after DataConfig's own fields, taken as they are (train_size,
    test_size, val_fraction, test_fraction, resize, seed).
    """
    if data_source is None:
        if data_dir is None:
            source = DataSource.FASHION_MNIST
        elif data_dir.is_dir() and any(data_dir.glob("*-idx3-ubyte*")):
            source = DataSource.IDX
        else:
            source = DataSource.IMAGE_FOLDER
    else:
        source = DataSource(data_source)
    return DataConfig(
        source=source,
        path=str(data_dir) if data_dir is not None else None,
        image_size=tuple(image_size) if image_size else None,
        polarity=image_polarity,
        augment=augment,
        **fields,
    )


def run_dir_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return path_option(
        "--run-dir", show_default="runs/<dataset name>", help="Where this run's outputs go."
    )(fn)


# A table of settings that override a preset when given: (option, config key, type, help).
# Options left out keep the preset's value, so every one defaults to None (shown as "the
# preset's"; the help does not repeat it).
OverrideTable = tuple[tuple[str, str, Any, str], ...]


def _param(flag: str) -> str:
    return flag[2:].replace("-", "_")


def override_options(table: OverrideTable) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """One option per row of ``table``, in its order."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for flag, _key, kind, text in reversed(table):
            fn = click.option(
                flag, type=kind, default=None, show_default="the preset's", help=text
            )(fn)
        return fn

    return decorate


def overrides(table: OverrideTable, opts: dict[str, Any]) -> dict[str, Any]:
    """Take the table's options out of ``opts``; the config keys of those that were given."""
    given = {key: opts.pop(_param(flag)) for flag, key, _kind, _text in table}
    return {key: value for key, value in given.items() if value is not None}
