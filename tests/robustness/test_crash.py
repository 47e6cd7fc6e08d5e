"""Issue 9, part 4: a command killed (SIGKILL) at any moment leaves the store, and the site,
in the state before or the state after, never a mix.

Each loop kills 20 runs: 12 at moments spread evenly over a clean run's duration, and 8 in
the short write at the end, found by watching the store file (a commit writes into it
directly, as a checkpoint: ``open_store`` sets no write-ahead log for small commits). After
each kill the store is read (``stats --json`` and ``area list --json``) and must equal the
state before or after; then it is opened for writing as the next command would, which replays
or drops any log left, and read again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MONACO, ROOT
from tests.robustness.procs import cli, state, tree, wait_for

KILLS = 20


#: A started command, and what to watch for the moments "write" and "committed".
Run = tuple[subprocess.Popen[bytes], Callable[[str], bool]]


def _strike(run: Run, moment: tuple[str, float], t0: float) -> bool:
    """Kill the run at ``moment``; True when it was still running then."""
    p, seen = run
    how, value = moment
    if how == "at":
        time.sleep(max(0.0, t0 + value - time.monotonic()))
    else:  # this long after the store file began to change, or its header did
        wait_for(lambda: seen(how), p, 300)
        time.sleep(value)
    alive = p.poll() is None
    p.send_signal(signal.SIGKILL)
    p.wait()
    return alive


def _kill(start: Callable[[], Run], moment: tuple[str, float]) -> bool:
    """Start a run and kill it at ``moment``; a run that ends first is run again and killed
    earlier (at most twice). True when the kill met a running process."""
    how, value = moment
    for _ in range(3):
        t0 = time.monotonic()
        alive = _strike(start(), (how, value), t0)
        if alive or how != "at":
            return alive
        value *= 0.8
    return False


def _moments(seconds: float) -> list[tuple[str, float]]:
    spread = [("at", seconds * (k + 0.5) / 12) for k in range(12)]
    # the write lasts 0.06 to 0.1 s here, from the first changed byte to the exit
    write = [("write", d) for d in (0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03)]
    return spread + write + [("committed", 0.0)]


#: DuckDB's file header and its two alternating database headers: a commit is complete when
#: the one it writes last has changed.
HEADERS = 3 * 4096


def _watch(db: Path) -> Callable[[str], bool]:
    """What a fresh copy of the store looks like, to tell when the command writes into it."""
    st = db.stat()
    copied = (st.st_mtime_ns, st.st_size)
    headers = db.read_bytes()[:HEADERS]

    def seen(how: str) -> bool:
        if how == "write":
            st = db.stat()
            return (st.st_mtime_ns, st.st_size) != copied
        with db.open("rb") as f:
            return f.read(HEADERS) != headers

    return seen


def _reopen_for_writing(db: Path) -> None:
    from mapper.store import open_store

    with open_store(str(db), write=True):
        pass


def _kill_loop(args: list[str | Path], seed: Path, tmp: Path) -> dict[str, Any]:
    """Run ``camdensity ARGS --db COPY`` cleanly once, then kill it 20 times."""
    before = state(seed)
    ref = tmp / "clean.duckdb"
    shutil.copy(seed, ref)
    t0 = time.monotonic()
    p = cli(*args, "--db", ref)
    assert p.wait(600) == 0
    seconds = time.monotonic() - t0
    after = state(ref)
    assert after != before
    seen: Counter[str] = Counter()
    for i, moment in enumerate(_moments(seconds)):
        db = tmp / f"killed-{i}.duckdb"

        def start(db: Path = db) -> Run:
            db.with_name(db.name + ".wal").unlink(missing_ok=True)
            shutil.copy(seed, db)
            return cli(*args, "--db", db), _watch(db)

        seen["killed" if _kill(start, moment) else "done"] += 1
        got = state(db)
        assert got in (before, after), f"kill {i} at {moment}: neither the state before nor after"
        which = "before" if got == before else "after"
        seen[which] += 1
        if moment[0] == "committed":  # killed once its header is written: the commit is whole
            assert which == "after", f"kill {i} after the header was written: the state before"
        _reopen_for_writing(db)
        assert state(db) == got, f"kill {i} at {moment}: changed when reopened for writing"
        db.unlink()
    assert seen["before"] + seen["after"] == KILLS
    assert seen["before"] and seen["after"], seen
    assert seen["killed"] == KILLS, f"runs ended before their kill: {seen}"
    print(f"{args[0]}: {seen['killed']} kills while running; {dict(seen)}")
    return dict(seen)


@pytest.mark.slow
def test_killed_ingest_leaves_the_state_before_or_after(
    big_pbf: Path, monaco_seed: Path, tmp_path: Path
) -> None:
    _kill_loop(["ingest", "-q", big_pbf], monaco_seed, tmp_path)


@pytest.mark.slow
def test_killed_area_from_pbf_leaves_the_state_before_or_after(
    monaco_seed: Path, tmp_path: Path
) -> None:
    _kill_loop(["area", "from-pbf", MONACO, "--admin-level", "10"], monaco_seed, tmp_path)


# ----------------------------------------------------------------------------------- site
def _site(db: Path, out: Path, tiles: str) -> subprocess.Popen[bytes]:
    return cli("site", "-q", "--db", db, "--out", out, "--tiles", tiles)


@pytest.mark.slow
def test_killed_site_build_leaves_the_previous_site_whole(
    monaco_seed: Path, tmp_path: Path
) -> None:
    """The previous site (tiles none) or the new one (tiles osm), file for file, never a mix;
    the temporary folders that killed builds leave behind do not break the next build."""
    db = tmp_path / "store.duckdb"
    shutil.copy(monaco_seed, db)
    previous, new = tmp_path / "previous", tmp_path / "new"
    t0 = time.monotonic()
    assert _site(db, previous, "none").wait(600) == 0
    t1 = time.monotonic()
    assert _site(db, new, "osm").wait(600) == 0
    seconds = min(t1 - t0, time.monotonic() - t1)
    old_tree, new_tree = tree(previous), tree(new)
    assert old_tree != new_tree and "index.html" in old_tree
    public = tmp_path / "public"
    public.mkdir()
    out = public / "site"
    seen: Counter[str] = Counter()

    def start() -> Run:
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(previous, out)
        return _site(db, out, "osm"), lambda how: False

    for k in range(KILLS):
        moment = seconds * (0.03 + 0.95 * k / (KILLS - 1))  # from the start to the very end
        seen["killed" if _kill(start, ("at", moment)) else "done"] += 1
        got = tree(out)
        assert got in (old_tree, new_tree), f"kill {k} at {moment:.2f} s: a partial site"
        seen["previous" if got == old_tree else "new"] += 1
    assert seen["killed"] == KILLS, seen
    stale = [p.name for p in public.iterdir() if p.name != "site"]
    assert all(name.startswith(".site.") for name in stale), stale
    print(f"site: {seen['killed']} kills while running; {dict(seen)}; {len(stale)} stale folders")
    # The next build, stale folders and all, completes and gives the new site.
    shutil.rmtree(out)
    shutil.copytree(previous, out)
    assert _site(db, out, "osm").wait(600) == 0
    assert tree(out) == new_tree


# The last step of a build, taken apart: put the new folder in place of the old one. A
# child process runs the swap and SIGKILLs itself right after its k-th file-system call.
_SWAP = """
import os, shutil, signal, sys
from pathlib import Path
import mapper.site as site

k, new, target = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
calls = 0

def counted(fn):
    def call(*args, **kwargs):
        global calls
        result = fn(*args, **kwargs)
        calls += 1
        if calls == k:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return call

os.rename, os.replace, os.chmod = counted(os.rename), counted(os.replace), counted(os.chmod)
shutil.rmtree = counted(shutil.rmtree)
if hasattr(site, "_exchange"):
    site._exchange = counted(site._exchange)
if k == 0:
    os.kill(os.getpid(), signal.SIGKILL)
site._swap(new, target)
print(calls)
"""


def _folder(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _swap_in_child(k: int, root: Path, old: dict[str, str], new: dict[str, str]) -> Any:
    target = _folder(root / "site", old)
    building = _folder(root / ".site.building-x", new)
    done = subprocess.run(
        [sys.executable, "-c", _SWAP, str(k), str(building), str(target)], cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done, (tree(target) if target.is_dir() else {})


def test_site_swap_killed_after_every_step_leaves_a_whole_site(tmp_path: Path) -> None:
    old = {"index.html": "old", "areas/a.html": "old a", "maps/a.html": "old map"}
    new = {"index.html": "new", "areas/b.html": "new b", "data/b/cameras.csv": "x,y"}
    old_tree = tree(_folder(tmp_path / "ref-old", old))
    new_tree = tree(_folder(tmp_path / "ref-new", new))
    done, got = _swap_in_child(10**6, tmp_path / "complete", old, new)  # never killed
    assert done.returncode == 0, done.stderr
    assert got == new_tree
    steps = int(done.stdout)
    assert 0 < steps < 10
    assert [p.name for p in (tmp_path / "complete").iterdir()] == ["site"]
    for k in range(steps + 1):  # killed before the first step, and after each one
        done, got = _swap_in_child(k, tmp_path / f"killed-{k}", old, new)
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert got in (old_tree, new_tree), f"killed after step {k}: {sorted(got) or 'no site'}"


def test_swap_into_a_new_folder(tmp_path: Path) -> None:
    from mapper.site import _swap

    _swap(_folder(tmp_path / ".site.building-x", {"index.html": "new"}), tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_text() == "new"
    assert os.listdir(tmp_path) == ["site"]
