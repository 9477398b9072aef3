"""The ``edgetk`` command.

Subcommands are loaded lazily from the table below: ``edgetk --help`` and the device commands
(predict, camera, bench, serve) never import TensorFlow, and a command whose extra is missing
says which extra to install instead of failing with an ImportError.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass

import click

from edge_runtime.common.errors import EXIT_FAILURE, EXIT_USAGE, EdgetkError

CHATTY_LIBRARIES = ("tf2onnx", "tensorflow", "absl", "h5py", "matplotlib", "PIL")


@dataclass(frozen=True)
class CommandSpec:
    module: str
    attr: str
    extra: str
    help: str
    # Runs under the crash guard (edge_runtime/crash_guard.py): forked before the command's
    # module is imported, so the waiting parent stays a small process and the fork copies little.
    guarded: bool = False


# One table drives the command list, the help text and the lazy import.
COMMANDS: dict[str, CommandSpec] = {
    "eda": CommandSpec(
        "trainer.cli",
        "eda",
        "train",
        "Explore a dataset: class balance, samples, pixel statistics.",
    ),
    "train": CommandSpec(
        "trainer.cli", "train", "train", "Train a stage: baseline, transfer or finetune."
    ),
    "models": CommandSpec("trainer.cli", "models", "train", "List and inspect the model registry."),
    "tune": CommandSpec(
        "trainer.tuning_cli", "tune", "train", "Hyperparameter search with KerasTuner."
    ),
    "export": CommandSpec(
        "trainer.export_cli",
        "export",
        "train",
        "Export a model to TFLite / ONNX behind a parity gate.",
    ),
    "run": CommandSpec(
        "trainer.pipeline_cli",
        "run",
        "train",
        "The whole pipeline, data to device bundle and report.",
    ),
    "report": CommandSpec(
        "trainer.pipeline_cli", "report", "train", "Write the technical report of a run directory."
    ),
    "predict": CommandSpec(
        "edge_runtime.cli",
        "predict",
        "edge",
        "Classify image files or folders with a bundle.",
        guarded=True,
    ),
    # OpenCV is imported inside the command; its one-line hint names this same extra.
    "camera": CommandSpec(
        "edge_runtime.cli",
        "camera",
        "camera",
        "Classify a live camera, video file or stream.",
        guarded=True,
    ),
    "bench": CommandSpec(
        "edge_runtime.bench_cli", "bench", "edge", "Benchmark a bundle's artifacts on this device."
    ),
    "serve": CommandSpec("edge_runtime.server.cli", "serve", "serve", "Serve a bundle over REST."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The top-level help lists commands from the table, so it imports no subcommand module;
        # the decision depends on what click is asked to do, never on the process's sys.argv.
        rows = [(name, COMMANDS[name].help) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        if ctx.resilient_parsing:
            # Shell completion: describe without importing anything heavy.
            return click.Command(name, help=spec.help, short_help=spec.help)
        if spec.guarded:
            from edge_runtime import crash_guard

            crash_guard.guard()  # in a real process: the rest runs in a child the parent watches
        try:
            module = importlib.import_module(spec.module)
        except ModuleNotFoundError as exc:
            missing = exc.name or "?"
            if missing == spec.module or spec.module.startswith(missing + "."):
                raise EdgetkError(
                    f"'edgetk {name}' is not available in this build ({spec.module} is missing)"
                ) from None
            raise EdgetkError(
                f"'edgetk {name}' needs the Python package {missing!r}, which is not installed; "
                f"install the '{spec.extra}' extra: pip install 'edgetk[{spec.extra}]'"
            ) from None
        command = getattr(module, spec.attr, None)
        if command is None:
            raise EdgetkError(
                f"'edgetk {name}' is not available in this build ({spec.module}.{spec.attr} is missing)"
            )
        return command


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # A lazy --version: reading package metadata at import would slow every command's start.
    if not value or ctx.resilient_parsing:
        return
    import edgetk

    click.echo(f"edgetk, version {edgetk.__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option("-v", "--verbose", count=True, help="Debug log output.")
@click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only.")
def cli(verbose: int, quiet: bool) -> None:
    """edgetk: an image classifier from a dataset to a device, proven at every step."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    # force: a library imported earlier may have configured the root logger already.
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    # The converters' own progress chatter (tf2onnx's optimizer steps, TensorFlow's "Assets
    # written to ...") is not edgetk's progress: warnings only, all of it with -v.
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and maps errors to exit codes (0 ok, 1 failure, 2 usage, ...)."""
    if argv is None:  # a command-line process of its own: a device command may fork a guard
        from edge_runtime import crash_guard

        crash_guard.allow()
    try:
        rv = cli.main(args=argv, prog_name="edgetk", standalone_mode=False)
    except EdgetkError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_FAILURE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
