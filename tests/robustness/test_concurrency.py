"""Two writers on one store, and readers beside a writer.

An ingest reads its files first and holds the store's write lock only while it writes. A
second command that meets that lock fails at once with one line, "store is in use by
another camdensity process"; one that comes before or after it succeeds on a consistent
state: the one before the ingest or the one after, never a mix.

No sleeps and no races: the ingest is held at a fault point (``CAMDENSITY_HOLD``, see
:mod:`mapper._faults`) and says so through a pipe; the other commands run while it waits
there, and it goes on when the test writes to the other pipe.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from mapper import _faults
from tests.conftest import HELSINKI, MUNICH, ROOT, invoke
from tests.robustness.procs import normalise_stats

LOCKED = "store is in use by another camdensity process"
#: A guard against a hung process, not a bound under test.
LIMIT = 600

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="pipes handed to a child")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMDENSITY_")}
    return {**env, **extra}


def _camdensity(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mapper", *map(str, args)], cwd=ROOT, env=_env(),
        capture_output=True, text=True, timeout=LIMIT, check=False,
    )  # fmt: skip


class Held:
    """``camdensity ARGS`` that stops at each of ``points`` in turn until :meth:`release`."""

    def __init__(self, *args: str | Path, points: list[str], tmp: Path) -> None:
        go_r, self._go = os.pipe()  # the test -> the command: "go on"
        self._at, at_w = os.pipe()  # the command -> the test: "I am at POINT"
        self._err: IO[bytes] = (tmp / f"held-{id(self)}.err").open("w+b")
        self._text = ""
        env = _env(**{_faults.HOLD: ",".join(points), _faults.HOLD_FDS: f"{go_r},{at_w}"})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mapper", *map(str, args)], cwd=ROOT, env=env,
            pass_fds=(go_r, at_w), stdout=subprocess.DEVNULL, stderr=self._err,
        )  # fmt: skip
        os.close(go_r)
        os.close(at_w)

    def reached(self) -> str:
        """Wait until the command stops at its next point; that point's name."""
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([self._at], [], [], LIMIT)
            assert ready, f"no point reached in {LIMIT} s"
            chunk = os.read(self._at, 1)
            assert chunk, f"ended before its point: {self.proc.wait()} {self.stderr()}"
            line += chunk
        return line.decode().strip()

    def release(self) -> None:
        os.write(self._go, b"go\n")

    def wait(self) -> int:
        code = self.proc.wait(LIMIT)
        self.close()
        return code

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
            self._err.seek(0)
            self._text = self._err.read().decode("utf-8", "replace")
        return self._text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self._err.closed:
            self.stderr()
            self._err.close()
        for fd in (self._go, self._at):
            try:
                os.close(fd)
            except OSError:
                pass


def _one_error(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert fragment in lines[0], lines[0]


READERS: dict[str, list[str]] = {
    "stats": ["stats", "--json"],
    "compare": ["compare", "--all", "--format", "json"],
}


def _read(kind: str, out: str) -> Any:
    data = json.loads(out)
    return normalise_stats(data) if kind == "stats" else data


def _views(db: Path) -> dict[str, Any]:
    views = {}
    for kind, args in READERS.items():
        r = invoke(*args, "--db", str(db))
        assert r.exit_code == 0, r.stderr
        views[kind] = _read(kind, r.stdout)
    return views


@pytest.fixture(scope="module")
def views(monaco_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What stats and compare say before and after a clean ingest of the Munich extract."""
    ref = tmp_path_factory.mktemp("ref") / "after.duckdb"
    shutil.copy(monaco_seed, ref)
    r = invoke("ingest", "-q", "--db", str(ref), str(MUNICH))
    assert r.exit_code == 0, r.stderr
    before, after = _views(monaco_seed), _views(ref)
    assert before != after
    return before, after


def test_second_ingest_meets_the_lock_and_fails_at_once(
    monaco_seed: Path, views: Any, tmp_path: Path
) -> None:
    """A second ingest while the first holds the write lock: one line, exit 1, and nothing
    of its file in the store once the first has finished."""
    _, after = views
    db = shutil.copy(monaco_seed, tmp_path / "store.duckdb")
    first = Held("ingest", "-q", "--db", db, MUNICH, points=["before-commit"], tmp=tmp_path)
    try:
        assert first.reached() == "before-commit"
        _one_error(_camdensity("ingest", "-q", "--db", db, HELSINKI), LOCKED)
        first.release()
        assert first.wait() == 0, first.stderr()
    finally:
        first.close()
    assert _views(Path(db)) == after


def test_readers_beside_an_ingest_see_before_after_or_the_lock(
    monaco_seed: Path, views: Any, tmp_path: Path
) -> None:
    """Readers while the ingest reads its files see the state before; while it writes, the
    lock; once it has finished, the state after."""
    before, after = views
    db = shutil.copy(monaco_seed, tmp_path / "store.duckdb")
    writer = Held(
        "ingest", "-q", "--db", db, MUNICH, points=["after-read", "before-commit"], tmp=tmp_path
    )
    try:
        assert writer.reached() == "after-read"  # read its file; the store not yet opened
        for kind, args in READERS.items():
            done = _camdensity(*args, "--db", db)
            assert done.returncode == 0, done.stderr
            assert _read(kind, done.stdout) == before[kind], kind
        writer.release()
        assert writer.reached() == "before-commit"  # the write lock is held
        for args in READERS.values():
            _one_error(_camdensity(*args, "--db", db), LOCKED)
        writer.release()
        assert writer.wait() == 0, writer.stderr()
    finally:
        writer.close()
    for kind, args in READERS.items():
        done = _camdensity(*args, "--db", db)
        assert done.returncode == 0, done.stderr
        assert _read(kind, done.stdout) == after[kind], kind
