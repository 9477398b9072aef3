"""Click options and parameter types shared by the commands.

One definition per option, so ``--artifact`` or ``--invert`` mean the same in every command; a
command may word the help for its own context (``serve``'s thread count is per worker). The
names follow the vocabulary table (``edge_runtime.cli_vocabulary``); tests/test_cli_vocabulary.py
checks every command against it. Every option shows its default the same way, as click's
``[default: ...]``: a fixed value with ``show_default=True``, one the command works out with
``show_default="what it is"``; help texts do not repeat it.

Earlier spellings still work for now: :func:`deprecated_option` adds a hidden option that feeds
the new one and prints one warning line naming the new spelling.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from edge_runtime.polarity import INVERT_CHOICES, LEGACY_INVERT_CHOICES
from edge_runtime.prediction import DEFAULT_TOP_K

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class CommaList(click.ParamType):
    """A comma-separated list, ``1,2,4`` -> ``(1, 2, 4)``: the one parser of list options.

    Items are stripped and empty ones dropped; each is converted by ``item_type`` (a click type
    or a Python type) and, with ``choices``, must be one of them. ``empty``: a word that stands
    for the empty list (``--augment none``); otherwise an empty list is a usage error. A default
    may be given as text (``"1,2"``, shown as such by ``--help``) or as a tuple.
    """

    name = "list"

    def __init__(
        self,
        item_type: Any = str,
        choices: Sequence[str] | None = None,
        *,
        empty: str | None = None,
    ) -> None:
        self.item_type = click.types.convert_type(item_type)
        self.choices = tuple(choices) if choices is not None else None
        self.empty = empty

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        # One signature for click 8.1 (param) and 8.2+ (param, ctx).
        if isinstance(self.item_type, click.types.IntParamType):
            return "N,..."
        return "NAME,..." if self.choices is not None else "TEXT,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (tuple, list)):
            items = [str(v).strip() if isinstance(v, str) else v for v in value]
        else:
            items = [v.strip() for v in str(value).split(",")]
        items = [v for v in items if v != ""]
        if self.empty is not None and len(items) == 1 and str(items[0]).lower() == self.empty:
            return ()
        if not items:
            hint = f", or {self.empty!r}" if self.empty is not None else ""
            self.fail(f"{value!r}: give one or more values, comma-separated{hint}", param, ctx)
        out = []
        for item in items:
            if self.choices is not None and item not in self.choices:
                self.fail(
                    f"{item!r} is not one of {', '.join(self.choices)} (comma-separated)",
                    param,
                    ctx,
                )
            out.append(self.item_type.convert(item, param, ctx))
        return tuple(out)

    def __repr__(self) -> str:
        return f"CommaList({self.item_type!r}, choices={self.choices!r})"


def _param_name(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


class DeprecatedOption(click.Option):
    """A hidden earlier spelling of an option. Given, it prints one warning line on stderr that
    names the new spelling; ``values`` translates renamed choices (``as-is`` -> ``never``)."""

    def __init__(
        self,
        param_decls: Sequence[str],
        *,
        replacement: str,
        values: Mapping[str, str] | None = None,
        **attrs: Any,
    ) -> None:
        self.replacement = replacement
        self.values = dict(values or {})
        attrs.setdefault("help", f"Deprecated: use {replacement}.")
        super().__init__(param_decls, hidden=True, callback=self._given, **attrs)

    @property
    def old(self) -> str:
        return self.opts[0]

    def _given(self, ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        source = ctx.get_parameter_source(self.name)  # type: ignore[arg-type]
        if source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            return value
        new_value = self.values.get(value, value) if isinstance(value, str) else value
        if not ctx.resilient_parsing:
            said = f" {value}" if isinstance(value, str) and self.values else ""
            meant = f" {new_value}" if isinstance(value, str) and self.values else ""
            click.echo(
                f"warning: {self.old}{said} is deprecated; use {self.replacement}{meant}",
                err=True,
            )
        return new_value


def deprecated_option(
    old: str,
    new: str,
    *,
    dest: str | None = "",
    values: Mapping[str, str] | None = None,
    **attrs: Any,
) -> Decorator:
    """``old`` as a hidden spelling of the option ``new``: its value becomes the value of the
    parameter ``dest`` (by default the one ``new`` names), with a warning line.

    ``dest=None``: no one-to-one mapping exists (``export --formats`` with ``--precisions``), so
    the value reaches the command under the old option's own name and the command translates
    it; the warning is the same. Giving both spellings is a usage error. ``attrs`` go to
    ``click.option`` (the old option's type, ``is_flag``, ...).
    """
    passthrough = dest is None
    own = _param_name(old) if passthrough else "deprecated_" + _param_name(old)
    target = _param_name(new) if dest in ("", None) else dest

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(old, own, cls=DeprecatedOption, replacement=new, values=values, **attrs)(
            fn
        )
        if passthrough:
            return fn

        # The command is called through ``__wrapped__`` (functools.wraps sets it), so a test can
        # stand in for it and see what the old spelling became (tests/test_cli_vocabulary.py).
        @functools.wraps(fn)
        def merged(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(own, None)
            if value is not None and value != ():
                ctx = click.get_current_context()
                if ctx.get_parameter_source(target) in (
                    ParameterSource.COMMANDLINE,
                    ParameterSource.ENVIRONMENT,
                ):
                    raise click.UsageError(
                        f"{old} is the earlier spelling of {new}; give {new} only"
                    )
                kwargs[target] = value
            return merged.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined]

        return merged

    return decorate


def path_option(*decls: str, **attrs: Any) -> Decorator:
    """A file or folder on this machine, a ``Path``; left out, None and the command picks (its
    ``show_default`` text says what). ``attrs`` go to ``click.option`` (a narrower ``type``,
    ``multiple``, ...)."""
    return click.option(*decls, **{"type": click.Path(path_type=Path), "default": None, **attrs})


def shown_option(*decls: str, default: Any, **attrs: Any) -> Decorator:
    """An option whose default ``--help`` shows; its type is the default's (click's rule)."""
    return click.option(*decls, default=default, show_default=True, **attrs)


def choice_option(*decls: str, choices: Sequence[str], **attrs: Any) -> Decorator:
    """One of ``choices``; left out, None and the command picks (its ``show_default`` text says
    what)."""
    return click.option(*decls, type=click.Choice(choices), default=None, **attrs)


def list_option(
    *decls: str,
    item_type: Any = str,
    choices: Sequence[str] | None = None,
    empty: str | None = None,
    **attrs: Any,
) -> Decorator:
    """A comma-separated list (:class:`CommaList`); a tuple, or None when left out."""
    attrs.setdefault("default", None)
    if attrs["default"] is not None:
        attrs.setdefault("show_default", True)
    return click.option(*decls, type=CommaList(item_type, choices, empty=empty), **attrs)


_VERIFY_HELP = (
    "Check the artifact's sha256 against the manifest before loading it; "
    "--no-verify runs a changed file anyway, with a warning."
)


def verify_option(help: str = _VERIFY_HELP) -> Decorator:
    """``--verify/--no-verify``: the artifact integrity check every bundle-loading command has."""
    return shown_option("--verify/--no-verify", default=True, help=help)


_ARTIFACT_HELP = (
    "The artifact to run: its key (tflite_int8, onnx_fp32, ...) or its file name, as the "
    "bundle's manifest.json lists them."
)


def artifact_option(help: str = _ARTIFACT_HELP) -> Decorator:
    """``--artifact``: one artifact of the bundle."""
    return click.option("--artifact", default=None, show_default="the manifest's", help=help)


def artifacts_option(help: str, choices: Sequence[str] | None = None, **attrs: Any) -> Decorator:
    """``--artifacts``: several artifacts, comma-separated (keys such as ``tflite_int8``)."""
    return list_option("--artifacts", choices=choices, help=help, **attrs)


def threads_option(help: str = "Runtime CPU threads.") -> Decorator:
    """``--threads N``: one thread count for the runtime."""
    return click.option(
        "--threads",
        default=None,
        type=click.IntRange(min=1),
        show_default="the runtime's",
        help=help,
    )


def top_k_option(help: str = "Labels shown per image.") -> Decorator:
    """``--top-k``: how many of the most probable labels each image gets."""
    return shown_option("--top-k", default=DEFAULT_TOP_K, type=click.IntRange(min=1), help=help)


def batch_size_option(default: int, help: str) -> Decorator:
    """``--batch-size``: images in one model call."""
    return shown_option("--batch-size", default=default, type=click.IntRange(min=1), help=help)


_INVERT_HELP = (
    "Invert a picture whose polarity differs from the training images' (the manifest's "
    "image polarity): auto (when the border is brighter than the centre, for a light-on-dark "
    "model), never, or always."
)


def invert_option(help: str = _INVERT_HELP) -> Decorator:
    """``--invert auto|never|always``, and the earlier ``--polarity auto|as-is|invert``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = deprecated_option(
            "--polarity",
            "--invert",
            type=click.Choice(INVERT_CHOICES + tuple(LEGACY_INVERT_CHOICES)),
            values=LEGACY_INVERT_CHOICES,
        )(fn)
        return shown_option(
            "--invert", type=click.Choice(INVERT_CHOICES), default="auto", help=help
        )(fn)

    return decorate


def data_dir_option(help: str, **attrs: Any) -> Decorator:
    """``--data-dir``: the folder of images a command reads."""
    return path_option("--data-dir", help=help, **attrs)


def out_dir_option(help: str, **attrs: Any) -> Decorator:
    """``--out-dir``: the folder a command writes its output into (and the earlier ``--out``)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = deprecated_option("--out", "--out-dir", type=click.Path(path_type=Path))(fn)
        return path_option("--out-dir", help=help, **attrs)(fn)

    return decorate


def out_file_option(help: str, old: str = "--out", **attrs: Any) -> Decorator:
    """``--out-file``: the file a command writes its record into (and its earlier spelling)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = deprecated_option(old, "--out-file", type=click.Path(path_type=Path))(fn)
        return path_option("--out-file", help=help, **attrs)(fn)

    return decorate


def log_level_option(default: str = "info") -> Decorator:
    return shown_option(
        "--log-level",
        type=click.Choice(LOG_LEVELS),
        default=default,
        help="Least severe log message shown.",
    )


__all__ = [
    "LOG_LEVELS",
    "CommaList",
    "Decorator",
    "DeprecatedOption",
    "artifact_option",
    "artifacts_option",
    "batch_size_option",
    "choice_option",
    "data_dir_option",
    "deprecated_option",
    "invert_option",
    "list_option",
    "log_level_option",
    "out_dir_option",
    "out_file_option",
    "path_option",
    "shown_option",
    "threads_option",
    "top_k_option",
    "verify_option",
]
