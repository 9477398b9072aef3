"""Click options shared by the training-side commands (data source, run directory, seed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trainer.data.config import DataConfig, DataSource


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--data-source / --data-dir / --train-size / --test-size / --val-fraction / --image-size / --seed."""
    options = [
        click.option(
            "--data-source",
            type=click.Choice([s.value for s in DataSource]),
            default=None,
            help="Where the images come from (default: fashion_mnist, or idx / image_folder when "
            "--data-dir is given).",
        ),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="A folder with the four IDX .gz files, or one subfolder of images per class.",
        ),
        click.option(
            "--train-size", type=int, default=None, help="Stratified subset of the training split."
        ),
        click.option(
            "--test-size", type=int, default=None, help="Stratified subset of the test split."
        ),
        click.option(
            "--val-fraction",
            type=float,
            default=0.1,
            show_default=True,
            help="Stratified validation share carved from the training split.",
        ),
        click.option(
            "--image-size",
            type=(int, int),
            default=None,
            help="Image folders: HEIGHT WIDTH to resize to (default: their common size).",
        ),
        click.option(
            "--seed", type=int, default=42, show_default=True, help="Seed for splits and training."
        ),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def data_config_from_options(
    data_source: str | None,
    data_dir: Path | None,
    train_size: int | None,
    test_size: int | None,
    val_fraction: float,
    image_size: tuple[int, int] | None,
    seed: int,
) -> DataConfig:
    """Build the DataConfig the options describe (an IDX folder is recognised by its files)."""
    if data_source is None:
        if data_dir is None:
            source = DataSource.FASHION_MNIST
        elif any(data_dir.glob("*-idx3-ubyte*")):
            source = DataSource.IDX
        else:
            source = DataSource.IMAGE_FOLDER
    else:
        source = DataSource(data_source)
    return DataConfig(
        source=source,
        path=str(data_dir) if data_dir is not None else None,
        train_size=train_size,
        test_size=test_size,
        val_fraction=val_fraction,
        image_size=tuple(image_size) if image_size else None,
        seed=seed,
    )


def run_dir_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--run-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Where this run's outputs go (default: runs/<dataset name>).",
    )(fn)
