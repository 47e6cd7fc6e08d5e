"""The CLI: every command has help and is documented; python -m mapper works."""

from __future__ import annotations

import click

from mapper.cli import cli
from tests.conftest import ROOT, invoke, run_process


def _commands() -> dict[str, click.Command]:
    """Every command, group subcommands as 'group sub'."""
    found: dict[str, click.Command] = {}
    for name, cmd in cli.commands.items():  # type: ignore[attr-defined]
        found[name] = cmd
        if isinstance(cmd, click.Group):
            for sub, subcmd in cmd.commands.items():
                found[f"{name} {sub}"] = subcmd
    return found


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, cmd in _commands().items():
        assert cmd.help and len(cmd.help) > 20, name
        assert f"camdensity {name}" in readme, f"README does not document '{name}'"
        r = invoke(*name.split(), "--help")
        assert r.exit_code == 0 and "Usage:" in r.stdout


def test_python_dash_m_and_version() -> None:
    r = run_process("--version")
    assert r.exit_code == 0 and "camdensity" in r.stdout


def test_unknown_command_is_one_error_line() -> None:
    r = run_process("frobnicate")
    assert r.exit_code == 2
    assert "No such command 'frobnicate'" in r.stderr
    assert "Traceback" not in r.stderr
