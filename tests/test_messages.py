"""Every message in mapper/ that names a ``camdensity`` command names one that exists.

The strings are read from the source (``ast``): plain literals and the literal parts of
f-strings, with implicit concatenation already joined by the parser, so a message split
over several lines is read whole. A name that follows ``camdensity`` written as a command
(quoted, in backticks or parentheses, or after "run" or "e.g.") and looks like one
(lower-case words, dashes) must be a command of the click group; after a group (``area``),
the next such word must be one of its commands.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from mapper.cli import cli
from mapper.errors import InputError
from tests.conftest import MUNICH, ROOT, invoke

#: ``camdensity`` as a command: quoted, in parentheses, first in the string, or after "run"
#: or "e.g."; prose ("another camdensity process") is not a command.
COMMAND = re.compile(r"""(?:^|['"`(]|\brun |\be\.g\. )camdensity((?: [a-z][a-z0-9-]*)+)""")


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    in_fstring = {
        id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
    }  # fmt: skip
    for n in ast.walk(tree):
        if isinstance(n, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in n.values
            )
            out.append((n.lineno, text))
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in in_fstring:
            out.append((n.lineno, n.value))
    return out


def _mentions() -> list[tuple[str, list[str]]]:
    found = []
    for path in sorted((ROOT / "mapper").rglob("*.py")):
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            for m in COMMAND.finditer(" ".join(text.split())):
                where = f"{path.relative_to(ROOT)}:{line}"
                found.append((where, m.group(1).split()))
    return found


MENTIONS = _mentions()


def _check(words: list[str]) -> str | None:
    """None when ``camdensity WORDS...`` starts with a real command, else what is wrong."""
    group: click.Group = cli
    for i, word in enumerate(words):
        command = group.commands.get(word)
        if command is None:
            if i == 0:
                return f"no command '{word}'"
            return f"no command '{word}' in 'camdensity {' '.join(words[:i])}'"
        if not isinstance(command, click.Group):
            return None
        group = command
    return None if group is cli else f"'camdensity {' '.join(words)}' needs a subcommand"


def test_messages_are_found() -> None:
    said = {" ".join(w[:2]) for _, w in MENTIONS}
    assert any(s.startswith("ingest") for s in said), said  # "run 'camdensity ingest FILE'"
    assert any(s.startswith("area remove") for s in said), said  # an f-string's literal part


@pytest.mark.parametrize(("where", "words"), MENTIONS, ids=[w for w, _ in MENTIONS])
def test_a_named_command_exists(where: str, words: list[str]) -> None:
    problem = _check(words)
    assert problem is None, f"{where}: 'camdensity {' '.join(words)}': {problem}"


def test_prose_is_not_a_command() -> None:
    assert not COMMAND.search("held by another camdensity process")
    for text, words in (("run camdensity migrate", " migrate"), ("(camdensity area add)",
                                                                  " area add")):  # fmt: skip
        m = COMMAND.search(text)
        assert m is not None and m.group(1) == words


def test_the_check_refuses_what_does_not_exist() -> None:
    assert _check(["migrate"]) == "no command 'migrate'"
    assert _check(["area", "delete"]) == "no command 'delete' in 'camdensity area'"
    assert _check(["area"]) == "'camdensity area' needs a subcommand"
    assert _check(["area", "add", "name"]) is None
    assert _check(["ingest", "file"]) is None


def test_an_older_store_is_upgraded_by_the_command_its_message_names(tmp_path: Path) -> None:
    """A reader refuses a store of an older schema and names 'camdensity ingest FILE';
    that command then upgrades the store and writes to it."""
    import duckdb

    from mapper import sql

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    sql.run(con, "schema-v1")
    sql.run(con, "schema-version-add", version=1)
    con.close()
    r = invoke("stats", "--db", str(db))
    assert r.exit_code == 1
    assert "written by an older camdensity (schema 1;" in r.stderr
    assert "e.g. 'camdensity ingest FILE'" in r.stderr
    r = invoke("ingest", "-q", "--db", str(db), str(MUNICH))
    assert r.exit_code == 0, r.stderr
    r = invoke("stats", "--json", "--db", str(db))
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (TypeError("boom"), 2, "Error: unexpected failure (TypeError: boom); rerun with "
                               "CAMDENSITY_DEBUG=1 and report it"),
        (IndexError("list index out of range"), 2, "Error: unexpected failure (IndexError: "
                                                   "list index out of range); rerun with"),
        (InputError("x.pbf: truncated"), 1, "Error: x.pbf: truncated"),
    ],
    ids=["TypeError", "IndexError", "InputError"],
)  # fmt: skip
def test_a_bug_is_exit_2_and_asks_for_a_report_an_input_error_is_exit_1(
    raised: Exception, code: int, line: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import sys

    import mapper.stats
    from mapper import cli as cli_module

    def fail(db: str | None) -> None:
        raise raised

    monkeypatch.setattr(mapper.stats, "stats", fail)
    monkeypatch.setattr(sys, "argv", ["camdensity", "stats"])
    monkeypatch.delenv("CAMDENSITY_DEBUG", raising=False)
    assert cli_module._run() == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(line), err
