"""Every ``--help`` shows every option's default (a value, or where it comes from), and a
system is named one way: ``--data-dir``, spelt, explained and defaulted alike everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer.main
from typer.testing import CliRunner

from servicekontor.cli import app
from servicekontor.commands._common import DATA_DIR_DEFAULT

ROOT = typer.main.get_command(app)


def commands(command=ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    if hasattr(command, "commands"):  # a group
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))
    else:
        yield path, command


ALL = list(commands())


def options(command) -> list:
    return [p for p in command.params if type(p).__name__.endswith("Option") and p.name != "help"]


def shows_a_default(option) -> bool:
    if option.required or isinstance(option.show_default, str):
        return True
    if option.show_default is False or option.default is None:
        return False
    # click prints nothing for a plain flag that is off
    return not (option.is_flag and not option.secondary_opts and not option.default)


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_option_shows_its_default(path, command):
    hidden = [opt.opts[0] for opt in options(command) if not shows_a_default(opt)]
    assert hidden == [], f"servicekontor {' '.join(path)}: no default shown for {hidden}"


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_help_renders_with_its_defaults(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    if any(not opt.required for opt in options(command)):
        assert "[default:" in result.output


def test_the_data_dir_is_named_alike_everywhere():
    found = {" ".join(path): opt for path, command in ALL for opt in options(command) if opt.name == "data_dir"}
    assert {"up", "demo", "probe", "replay", "token", "erase", "agency-sim", "migrate",
            "gateway agencies", "gateway dead-letters", "gateway replay", "gateway sim-faults"} <= set(found)
    assert {tuple(opt.opts) for opt in found.values()} == {("--data-dir",)}
    assert {opt.help for opt in found.values()} == {next(iter(found.values())).help}
    assert {opt.show_default for opt in found.values()} == {DATA_DIR_DEFAULT}
    assert all(opt.default is None for opt in found.values()), "None: SK_DATA_DIR, else ./data"


def test_the_commands_that_call_the_system_take_a_token():
    calling = {"gateway agencies", "gateway dead-letters", "gateway replay"}
    for path, command in ALL:
        if " ".join(path) in calling:
            assert "token" in {opt.name for opt in options(command)}
