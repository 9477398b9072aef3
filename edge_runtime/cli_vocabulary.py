"""The CLI's vocabulary: one option name and one meaning per concept, in every command.

The table is the reference the commands are checked against (tests/test_cli_vocabulary.py): a
command listed for a term has that option, with that kind of value and default; no command uses
an earlier spelling except as the hidden, warning alias :func:`cli_options.deprecated_option`
makes; and a term's option name appears in no other command. docs/cli.md prints the table
(scripts/cli_reference.py). It is data only: importing it costs nothing, and it names commands,
never imports them (the training commands live above this layer).

Choices are spelled in lower_snake_case (``light_on_dark``, ``flip_shift``); comma lists are
parsed by one type, ``cli_options.CommaList``.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_runtime.polarity import IMAGE_POLARITIES, INVERT_CHOICES
from edge_runtime.prediction import DEFAULT_TOP_K

# The kinds of value an option takes, as the test reads them from click.
PATH, INT, TEXT, CHOICE, INT_LIST, KEY_LIST = (
    "path",
    "int",
    "text",
    "choice",
    "int list",
    "key list",
)

TRAINING = ("eda", "train", "tune", "run")


@dataclass(frozen=True)
class OldSpelling:
    """An earlier spelling, still accepted for now with a warning: ``option`` in ``commands``;
    ``values``: renamed choices as (old, new) pairs."""

    option: str
    commands: tuple[str, ...]
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Term:
    """One concept: the option that names it, what it means, and where it appears."""

    concept: str
    option: str
    meaning: str
    commands: tuple[str, ...]
    kind: str
    choices: tuple[str, ...] = ()
    default: object = None  # the default every command shares (None: none, or the command's)
    old: tuple[OldSpelling, ...] = ()


VOCABULARY: tuple[Term, ...] = (
    Term(
        "data folder",
        "--data-dir",
        "The folder of images a command reads: an IDX folder or one subfolder per class.",
        (*TRAINING, "export", "bench"),
        PATH,
        old=(OldSpelling("--data", ("bench",)),),
    ),
    Term(
        "runtime threads",
        "--threads",
        "One thread count for the runtime (serve: per worker).",
        ("predict", "camera", "serve"),
        INT,
    ),
    Term(
        "thread counts to measure",
        "--thread-counts",
        "The runtime thread counts a benchmark measures, each in turn.",
        ("bench",),
        INT_LIST,
        default="1,2",
        old=(OldSpelling("--threads", ("bench",)),),
    ),
    Term(
        "batch size",
        "--batch-size",
        "Images in one model call: a training step, or the most per inference call.",
        ("train", "tune", "predict", "bench", "serve"),
        INT,
        old=(OldSpelling("--batch", ("bench",)), OldSpelling("--max-batch", ("serve",))),
    ),
    Term(
        "run folder",
        "--run-dir",
        "The folder of one run: everything a training command writes, and reads back.",
        (*TRAINING, "models list", "models show"),
        PATH,
    ),
    Term(
        "output folder",
        "--out-dir",
        "The folder a command writes its output into.",
        ("export", "report"),
        PATH,
        old=(OldSpelling("--out", ("export", "report")),),
    ),
    Term(
        "output file",
        "--out-file",
        "The JSON file a command writes its record into.",
        ("predict", "bench"),
        PATH,
        old=(OldSpelling("--out", ("bench",)), OldSpelling("--metrics-out", ("predict",))),
    ),
    Term(
        "labels per image",
        "--top-k",
        "How many of the most probable labels each image gets.",
        ("predict", "camera", "serve"),
        INT,
        default=DEFAULT_TOP_K,
    ),
    Term(
        "one artifact",
        "--artifact",
        "The artifact a device command runs: its key (tflite_int8) or file name.",
        ("predict", "camera", "serve"),
        TEXT,
    ),
    Term(
        "artifact selection",
        "--artifacts",
        "The artifacts to export, or to measure, by key (tflite_int8,onnx_fp32), comma-separated.",
        ("run", "export", "bench"),
        KEY_LIST,
        old=(
            OldSpelling("--formats", ("run", "export")),
            OldSpelling("--precisions", ("export",)),
        ),
    ),
    Term(
        "image polarity",
        "--image-polarity",
        "What the training images look like, recorded in the manifest.",
        (*TRAINING, "export"),
        CHOICE,
        choices=IMAGE_POLARITIES,
        old=(OldSpelling("--polarity", (*TRAINING, "export")),),
    ),
    Term(
        "inversion on the device",
        "--invert",
        "Whether the device inverts a picture of the other polarity than the training images.",
        ("predict", "camera", "serve"),
        CHOICE,
        choices=INVERT_CHOICES,
        default="auto",
        old=(
            OldSpelling(
                "--polarity",
                ("predict", "camera", "serve"),
                values=(("as-is", "never"), ("invert", "always")),
            ),
        ),
    ),
    Term(
        "split file",
        "--split-file",
        "A run's saved split (<run>/splits/test.txt): only the images it lists, relative to the "
        "labelled folder.",
        ("predict", "bench"),
        PATH,
    ),
    Term(
        "parity folder on the device",
        "--parity-data-dir",
        "The labelled folder a device's parity check classifies.",
        ("bench",),
        PATH,
        old=(OldSpelling("--parity-data", ("bench",)),),
    ),
)


def term(option: str) -> Term:
    """The term whose option is ``option`` (``--data-dir``)."""
    for t in VOCABULARY:
        if t.option == option:
            return t
    raise KeyError(
        f"{option} is not in the CLI vocabulary; it has {[t.option for t in VOCABULARY]}"
    )


__all__ = ["VOCABULARY", "OldSpelling", "Term", "term"]
