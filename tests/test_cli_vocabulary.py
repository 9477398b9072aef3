"""One CLI vocabulary (issue 26): the table in edge_runtime/cli_vocabulary.py and the commands
agree, earlier spellings still work with one warning line, comma lists have one parser, every
option has help and shows its default one way, and docs/cli.md is what click says today."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest

from edge_runtime.cli_options import CommaList, DeprecatedOption
from edge_runtime.cli_vocabulary import CHOICE, INT, INT_LIST, KEY_LIST, PATH, TEXT, VOCABULARY
from edgetk.cli import cli
from tests.script_module import ROOT, load_script

pytest.importorskip("fastapi", reason="serve needs the 'serve' extra")
pytest.importorskip("sklearn", reason="the training commands need the 'train' extra")

reference = load_script("cli_reference")
COMMANDS: dict[str, click.Command] = {path: cmd for path, cmd, _ctx in reference.walk()}


def _visible(command: click.Command) -> list[click.Option]:
    return [
        p
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not isinstance(p, DeprecatedOption)
    ]


def _old(command: click.Command) -> list[DeprecatedOption]:
    return [p for p in command.params if isinstance(p, DeprecatedOption)]


def _by_flag(command: click.Command, flag: str) -> click.Option | None:
    return next((p for p in _visible(command) if flag in p.opts), None)


def _kind(option: click.Option) -> str:
    t = option.type
    if isinstance(t, CommaList):
        return INT_LIST if isinstance(t.item_type, click.types.IntParamType) else KEY_LIST
    if isinstance(t, click.Choice):
        return CHOICE
    if isinstance(t, click.Path):
        return PATH
    if isinstance(t, click.types.IntParamType):
        return INT
    return TEXT if t is click.STRING else t.name


def test_the_vocabulary_names_real_commands() -> None:
    for term in VOCABULARY:
        assert term.commands, term.concept
        for name in (*term.commands, *(c for o in term.old for c in o.commands)):
            assert name in COMMANDS, f"{term.option}: no command {name!r}"
    options = [t.option for t in VOCABULARY]
    assert len(set(options)) == len(options)


@pytest.mark.parametrize("term", VOCABULARY, ids=lambda t: t.option)
def test_every_command_of_a_term_has_its_option_with_its_meaning(term) -> None:
    for name in term.commands:
        option = _by_flag(COMMANDS[name], term.option)
        assert option is not None, f"edgetk {name} has no {term.option} ({term.concept})"
        assert option.name == term.option.lstrip("-").replace("-", "_"), (name, option.name)
        kind = _kind(option)
        if term.kind == KEY_LIST:  # names of things: keys, or keys and file names
            assert isinstance(option.type, CommaList), (name, term.option)
        else:
            assert kind == term.kind, f"edgetk {name} {term.option} takes {kind}, not {term.kind}"
        if term.choices:
            assert tuple(option.type.choices) == term.choices, (name, term.option)  # type: ignore[attr-defined]
        if term.default is not None:
            assert option.default == term.default, (name, term.option, option.default)
            assert option.show_default is True, (name, term.option)


@pytest.mark.parametrize("term", VOCABULARY, ids=lambda t: t.option)
def test_no_other_command_uses_a_terms_option_or_its_parameter(term) -> None:
    dest = term.option.lstrip("-").replace("-", "_")
    for name, command in COMMANDS.items():
        if name in term.commands:
            continue
        for option in _visible(command):
            assert term.option not in option.opts, (
                f"edgetk {name} has {term.option} but the vocabulary does not list it there"
            )
            assert option.name != dest, (
                f"edgetk {name} {option.opts[0]} holds {dest} ({term.concept}): call it {term.option}"
            )


def test_earlier_spellings_are_hidden_aliases_of_the_vocabularys_names() -> None:
    listed = {
        (name, old.option): (term, old)
        for term in VOCABULARY
        for old in term.old
        for name in old.commands
    }
    found = {(name, p.old): p for name, cmd in COMMANDS.items() for p in _old(cmd)}
    assert set(found) == set(listed), set(found) ^ set(listed)
    for (name, flag), alias in found.items():
        term, old = listed[(name, flag)]
        assert alias.hidden and alias.replacement == term.option, (name, flag)
        assert alias.values == dict(old.values), (name, flag)
        assert _by_flag(COMMANDS[name], flag) is None, f"edgetk {name} shows {flag} as well"


def test_every_option_has_help_and_shows_its_default_one_way() -> None:
    doubled = re.compile(r"\(default|default:|\[default|Default:|\[\d+\]", re.IGNORECASE)
    for name, command in COMMANDS.items():
        for option in _visible(command):
            where = f"edgetk {name} {option.opts[0]}"
            assert option.help and option.help.strip(), f"{where} has no help"
            assert not doubled.search(option.help), f"{where}: its help repeats a default"
            # Off unless given: a plain flag or a repeatable option has nothing to show.
            plain = (option.is_flag and not option.secondary_opts) or option.multiple
            unset = option.default is None or type(option.default).__name__ == "Sentinel"
            if not plain and not unset:
                assert option.show_default, f"{where} does not show its default"


def test_choices_are_lower_snake_case() -> None:
    for name, command in COMMANDS.items():
        for option in _visible(command):
            choices = getattr(option.type, "choices", None) or ()
            for choice in choices:
                assert re.fullmatch(r"[a-z0-9_.]+", str(choice)), (name, option.opts, choice)


def test_comma_lists_have_one_parser() -> None:
    for name, command in COMMANDS.items():
        for option in _visible(command):
            says_list = "comma-separated" in (option.help or "")
            assert says_list == isinstance(option.type, CommaList), (
                f"edgetk {name} {option.opts[0]}: a comma list is a CommaList option"
            )


def test_comma_list_parses_and_refuses_like_one_type() -> None:
    ints = CommaList(click.IntRange(min=1))
    assert ints.convert(" 1, 2,,4 ", None, None) == (1, 2, 4)
    assert ints.convert("1,2", None, None) == ints.convert((1, 2), None, None)
    with pytest.raises(click.BadParameter, match="not a valid integer"):
        ints.convert("1,x", None, None)
    with pytest.raises(click.BadParameter, match="one or more values"):
        ints.convert(" , ", None, None)
    keys = CommaList(choices=("flip", "zoom"), empty="none")
    assert keys.convert("none", None, None) == ()
    with pytest.raises(click.BadParameter, match="'spin' is not one of flip, zoom"):
        keys.convert("flip,spin", None, None)


# --- earlier spellings, each one given on the command line -----------------------------------

# What each command needs to parse at all (paths need not exist while parsing).
_REQUIRED = {
    "predict": ["B", "P"], "camera": ["B"], "bench": ["B"], "serve": ["B"], "export": ["M"],
    "report": ["R"], "train": ["--stage", "baseline"], "models show": ["N", "--run-dir", "R"],
}  # fmt: skip


def _sample(alias: DeprecatedOption) -> tuple[str, Any]:
    """A value for ``alias`` on the command line, and what the new parameter should get."""
    t = alias.type
    if isinstance(t, CommaList):
        if t.choices:
            return t.choices[0], (t.choices[0],)
        return "1,4", (1, 4)
    if isinstance(t, click.Choice):
        old = next(iter(alias.values), t.choices[0])
        return old, alias.values.get(old, old)
    if isinstance(t, click.Path):
        return "some dir", Path("some dir")
    return "4", 4


CASES = [(name, alias) for name, command in COMMANDS.items() for alias in _old(command)]


@pytest.mark.parametrize(("name", "alias"), CASES, ids=[f"{n} {a.old}" for n, a in CASES])
def test_an_earlier_spelling_still_works_with_one_warning_line(
    name: str, alias: DeprecatedOption, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    command = COMMANDS[name]
    seen: dict[str, Any] = {}

    def stand_in(*_args: Any, **kwargs: Any) -> None:
        seen.update(kwargs)

    # The command runs through a chain of wrappers (one per earlier spelling that maps onto a
    # new option); the innermost function is the command itself: stand in for it.
    holder: Any = command
    attr = "callback"
    while hasattr(getattr(holder, attr), "__wrapped__"):
        holder, attr = getattr(holder, attr), "__wrapped__"
    monkeypatch.setattr(holder, attr, stand_in)

    given, expected = _sample(alias)
    # Through the edgetk group, as a user runs it (the group's context settings apply).
    cli.main(
        [*name.split(), *_REQUIRED.get(name, []), alias.old, given],
        prog_name="edgetk",
        standalone_mode=False,
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"warning: {alias.old}"), err
    assert f"use {alias.replacement}" in err[0]
    target = alias.replacement.lstrip("-").replace("-", "_")
    if alias.name == alias.old.lstrip("-").replace("-", "_"):  # no one-to-one mapping: as given
        target = alias.name
    assert seen[target] == expected, (name, alias.old, seen.get(target))
    assert not any(k.startswith("deprecated_") for k in seen)


def test_an_earlier_spelling_and_the_new_one_together_are_a_usage_error() -> None:
    with pytest.raises(click.UsageError, match="--data is the earlier spelling of --data-dir"):
        cli.main(
            ["bench", "B", "--data", "a", "--data-dir", "b"],
            prog_name="edgetk",
            standalone_mode=False,
        )


def test_docs_cli_md_is_what_click_says() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == reference.render(), (
        "docs/cli.md is stale: run python scripts/cli_reference.py"
    )
