"""Issue 9, part 5: two writers on one store, and readers beside a writer.

An ingest reads its files first and holds the store's write lock only for its short write
at the end. A second command that meets that lock fails at once with one line, "store is in
use by another camdensity process"; one that comes before or after it succeeds on a
consistent state: the one before the ingest or the one after, never a mix.

To meet the write window every time, the second commands are started ahead (imports done,
see :class:`~tests.robustness.procs.Armed`) and fired the moment the ingest's POSIX write
lock on the store is seen.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LONDON, invoke
from tests.robustness.procs import Armed, cli, lock_holder, normalise_stats, wait_for

LOCKED = "store is in use by another camdensity process"
ATTEMPTS = 3  # the write window is ~0.1 s or more; a fired process reaches it in ~0.01 s

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads POSIX locks (Linux)")


def _one_error(code: int, stderr: str, fragment: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1, stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
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
def views(big_pbf: Path, monaco_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What stats and compare say before and after a clean ingest of the big extract."""
    ref = tmp_path_factory.mktemp("ref") / "after.duckdb"
    shutil.copy(monaco_seed, ref)
    assert cli("ingest", "-q", "--db", ref, big_pbf).wait(600) == 0
    before, after = _views(monaco_seed), _views(ref)
    assert before != after
    return before, after


def _writing(db: Path) -> bool:
    return lock_holder(db) == "write"


def test_second_ingest_meets_the_lock_and_fails_at_once(
    big_pbf: Path, monaco_seed: Path, views: Any, tmp_path: Path
) -> None:
    before, after = views
    for attempt in range(ATTEMPTS):
        db = tmp_path / f"store-{attempt}.duckdb"
        shutil.copy(monaco_seed, db)
        second = Armed("ingest", "-q", "--db", db, LONDON, tmp=tmp_path)
        first = cli("ingest", "-q", "--db", db, big_pbf)
        try:
            assert wait_for(partial(_writing, db), first, 600), "the ingest never took its lock"
            second.fire()
            code, _, err = second.wait()
        finally:
            second.kill()
        assert first.wait(600) == 0
        if code == 0:  # fired, but came after the first had finished: nothing to see
            continue
        _one_error(code, err, LOCKED)
        assert second.seconds < 10, f"took {second.seconds:.1f} s to fail"
        assert _views(db) == after  # the first one's ingest, and nothing of the second's
        print(f"second ingest met the lock on attempt {attempt + 1}, failed in "
              f"{second.seconds:.2f} s")  # fmt: skip
        return
    pytest.fail(f"the second ingest never met the first one's lock in {ATTEMPTS} attempts")


def test_readers_beside_an_ingest_see_before_after_or_the_lock(
    big_pbf: Path, monaco_seed: Path, views: Any, tmp_path: Path
) -> None:
    before, after = views
    locked = 0
    for attempt in range(ATTEMPTS):
        db = tmp_path / f"store-{attempt}.duckdb"
        shutil.copy(monaco_seed, db)
        early = {k: Armed(*a, "--db", db, tmp=tmp_path) for k, a in READERS.items()}
        during = {k: Armed(*a, "--db", db, tmp=tmp_path) for k, a in READERS.items()}
        late = {k: Armed(*a, "--db", db, tmp=tmp_path) for k, a in READERS.items()}
        # ST_ReadOSM reads the 25 copies in seconds, the block scan in well under one: the
        # slower reader leaves the readers fired "early" a window before the lock is taken.
        writer = cli("ingest", "-q", "--pbf-reader", "st_readosm", "--db", db, big_pbf)
        outcomes: list[tuple[str, str, int, str, str, float]] = []
        try:
            time.sleep(0.5)  # the ingest is reading its file: the store is not locked
            assert writer.poll() is None and not _writing(db)
            for r in early.values():
                r.fire()
            for kind, r in early.items():
                outcomes.append(("early", kind, *r.wait(), r.seconds))
            assert wait_for(partial(_writing, db), writer, 600), "the ingest never took its lock"
            for r in during.values():
                r.fire()
            for kind, r in during.items():
                outcomes.append(("during", kind, *r.wait(), r.seconds))
            assert writer.wait(600) == 0
            for r in late.values():
                r.fire()
            for kind, r in late.items():
                outcomes.append(("late", kind, *r.wait(), r.seconds))
        finally:
            for r in (*early.values(), *during.values(), *late.values()):
                r.kill()
        for when, kind, code, out, err, seconds in outcomes:
            if code == 0:
                got = _read(kind, out)
                assert got in (before[kind], after[kind]), f"{when} {kind}: an inconsistent state"
                expected = {"early": before, "late": after}.get(when)
                assert expected is None or got == expected[kind], f"{when} {kind}"
            else:
                _one_error(code, err, LOCKED)
                assert when == "during", f"{when} {kind} met a lock"
                assert seconds < 10, f"{kind} took {seconds:.1f} s to fail"
                locked += 1
        if locked:
            print(f"readers on attempt {attempt + 1}:",
                  [(w, k, c, round(t, 2)) for w, k, c, _, _, t in outcomes])  # fmt: skip
            return
    pytest.fail(f"no reader met the ingest's lock in {ATTEMPTS} attempts")
