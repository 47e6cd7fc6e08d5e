"""A command killed (SIGKILL) at any point leaves the store, and the site, in the state before
or the state after, never a mix.

The kills are fault injections (:mod:`mapper._faults`): ``CAMDENSITY_FAULT=NAME`` makes the
command SIGKILL itself when it reaches the point ``NAME``, so each point is hit on every run,
however loaded the machine. After each kill the store is read (``stats --json`` and ``area
list --json``) and must be exactly the state its point implies; then it is opened for writing
as the next command would (which replays or drops any log left), read again, and the command
is run again to completion.

Kills at random moments stay as an extra (marked slow): they report how many met a running
command and which state each left, and assert only that the state is the one before or after.
"""

from __future__ import annotations

import ast
import json
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

from mapper import _faults
from tests.conftest import LONDON, MONACO, ROOT, invoke
from tests.robustness.procs import cli, state, tree, wait_for

KILLED = -signal.SIGKILL


def _run(*args: str | Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m mapper ARGS``, with ``CAMDENSITY_FAULT`` set to ``fault`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMDENSITY_")}
    if fault is not None:
        env[_faults.FAULT] = fault
    return subprocess.run(
        [sys.executable, "-m", "mapper", *map(str, args)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _reopen_for_writing(db: Path) -> None:
    from mapper.store import open_store

    with open_store(str(db), write=True):
        pass


def _fresh(seed: Path, db: Path) -> Path:
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    shutil.copy(seed, db)
    return db


States = Callable[[list[str | Path]], tuple[Any, Any]]


@pytest.fixture(scope="module")
def states(monaco_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> States:
    """The seed store, and the store after a clean run of ``camdensity ARGS`` on a copy (in
    this process, once for each ARGS: only the runs that are killed need their own)."""
    done: dict[tuple[str, ...], tuple[Any, Any]] = {}

    def of(args: list[str | Path]) -> tuple[Any, Any]:
        key = tuple(map(str, args))
        if key not in done:
            ref = _fresh(monaco_seed, tmp_path_factory.mktemp("clean") / "clean.duckdb")
            r = invoke(*key, "--db", str(ref))
            assert r.exit_code == 0, r.stderr
            done[key] = (state(monaco_seed), state(ref))
            assert done[key][0] != done[key][1]
        return done[key]

    return of


def _killed_at(
    point: str, expected: str, args: list[str | Path], states: States, seed: Path, tmp: Path
) -> None:
    before, after = states(args)
    want = {"before": before, "after": after}[expected]
    db = _fresh(seed, tmp / f"killed-{point}.duckdb")
    done = _run(*args, "--db", db, fault=point)
    assert done.returncode == KILLED, f"not killed at {point}: {done.returncode} {done.stderr}"
    assert state(db) == want, f"killed at {point}: not the state {expected}"
    _reopen_for_writing(db)
    assert state(db) == want, f"killed at {point}: changed when reopened for writing"
    if expected == "before":  # the next run completes as if nothing had happened
        again = invoke(*map(str, args), "--db", str(db))
        assert again.exit_code == 0, again.stderr
        assert state(db) == after


INGEST_POINTS = [
    ("after-read", "before"), ("mid-write", "before"), ("before-commit", "before"),
    ("after-commit", "after"),
]  # fmt: skip


@pytest.mark.parametrize(("point", "expected"), INGEST_POINTS)
def test_ingest_killed_at_a_fault_point(
    point: str, expected: str, states: States, monaco_seed: Path, tmp_path: Path
) -> None:
    _killed_at(point, expected, ["ingest", "-q", LONDON], states, monaco_seed, tmp_path)


@pytest.mark.parametrize(("point", "expected"), [("before-commit", "before"),
                                                 ("after-commit", "after")])  # fmt: skip
def test_area_from_pbf_killed_at_a_fault_point(
    point: str, expected: str, states: States, monaco_seed: Path, tmp_path: Path
) -> None:
    args: list[str | Path] = ["area", "from-pbf", MONACO, "--admin-level", "10"]
    _killed_at(point, expected, args, states, monaco_seed, tmp_path)


# ----------------------------------------------------------------------------------- site
def _site(db: Path, out: Path, tiles: str = "osm", fault: str | None = None) -> Any:
    return _run("site", "-q", "--db", db, "--out", out, "--tiles", tiles, fault=fault)


def _clean_site(db: Path, out: Path, tiles: str = "osm") -> None:
    """A build that is not killed: in this process."""
    r = invoke("site", "-q", "--db", str(db), "--out", str(out), "--tiles", tiles)
    assert r.exit_code == 0, r.stderr


@pytest.fixture(scope="module")
def sites(monaco_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A store; the previous site (tiles none); and the new site (tiles osm) as a clean build
    makes it over the previous one and as a first site (a site records what changed since
    the build before it, so the two differ)."""
    tmp = tmp_path_factory.mktemp("sites")
    db = Path(shutil.copy(monaco_seed, tmp / "store.duckdb"))
    previous = tmp / "previous"
    _clean_site(db, previous, "none")
    shutil.copytree(previous, tmp / "over" / "site")
    new = {True: tmp / "over" / "site", False: tmp / "first" / "site"}
    for out in new.values():
        out.parent.mkdir(exist_ok=True)
        _clean_site(db, out)
    old_tree = tree(previous)
    new_trees = {had: tree(out) for had, out in new.items()}
    assert old_tree != new_trees[True] and "index.html" in old_tree
    return db, previous, old_tree, new_trees


@pytest.mark.parametrize(
    ("point", "had_site"),
    [
        pytest.param("site-before-swap", True, id="site-before-swap-over-a-site"),
        pytest.param(
            "site-before-swap", False, id="site-before-swap-first-site", marks=pytest.mark.slow
        ),
        pytest.param(
            "site-after-swap", True, id="site-after-swap-over-a-site", marks=pytest.mark.slow
        ),
        pytest.param("site-after-swap", False, id="site-after-swap-first-site"),
    ],
)  # fmt: skip  (each point in the quick tier once; both cases of each in the slow one)
def test_site_build_killed_at_a_fault_point(
    point: str, had_site: bool, sites: Any, tmp_path: Path
) -> None:
    """Killed before the swap: the previous site (or none), file for file; after it: the new
    one. The temporary folder a killed build leaves behind does not break the next build."""
    db, previous, old_tree, new_trees = sites
    public = tmp_path / "public"
    public.mkdir()
    out = public / "site"
    if had_site:
        shutil.copytree(previous, out)
    done = _site(db, out, fault=point)
    assert done.returncode == KILLED, done.stderr
    if point == "site-after-swap":
        assert tree(out) == new_trees[had_site]
    elif had_site:
        assert tree(out) == old_tree
    else:
        assert not out.exists()
    stale = [p.name for p in public.iterdir() if p.name != "site"]
    assert all(name.startswith(".site.") for name in stale), stale
    _clean_site(db, out)  # the next build completes, stale folders and all
    if point == "site-before-swap":  # as if the killed build had never run
        assert tree(out) == new_trees[had_site]


# The last step of a build, taken apart: put the new folder in place of the old one. A
# child process imports mapper.site once, then forks a process per job (k, new, target) that
# runs the swap and SIGKILLs itself right after its k-th file-system call; it prints how each
# ended (JSON: the signal, the exit code, the calls the swap made when it was not killed).
_SWAP = """
import json, os, shutil, signal, sys, traceback
from pathlib import Path
import mapper.site as site

def swap(k, new, target):
    calls = 0
    def counted(fn):
        def call(*args, **kwargs):
            nonlocal calls
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
    site._swap(Path(new), Path(target))
    return calls

ended = []
for k, new, target in json.loads(sys.argv[1]):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.write(w, str(swap(k, new, target)).encode())
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
    os.close(w)
    with os.fdopen(r) as f:
        calls = f.read()
    _, status = os.waitpid(pid, 0)
    ended.append({"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                  "calls": int(calls) if calls else None})
print(json.dumps(ended))
"""


def _folder(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _swaps(ks: list[int], root: Path, old: dict[str, str], new: dict[str, str]) -> Any:
    """For each k, a site ``old`` replaced by ``new`` in a child killed after the swap's
    k-th file-system call (folders of their own under ``root/k``): how the child ended, and
    the site's files after."""
    jobs = []
    for k in ks:
        target = _folder(root / str(k) / "site", old)
        jobs.append((k, str(_folder(root / str(k) / ".site.building-x", new)), str(target)))
    done = subprocess.run(
        [sys.executable, "-c", _SWAP, json.dumps(jobs)], cwd=ROOT,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = [tree(Path(t)) if Path(t).is_dir() else {} for _, _, t in jobs]
    return list(zip(json.loads(done.stdout), after, strict=True))


def test_site_swap_killed_after_every_step_leaves_a_whole_site(tmp_path: Path) -> None:
    old = {"index.html": "old", "areas/a.html": "old a", "maps/a.html": "old map"}
    new = {"index.html": "new", "areas/b.html": "new b", "data/b/cameras.csv": "x,y"}
    old_tree = tree(_folder(tmp_path / "ref-old", old))
    new_tree = tree(_folder(tmp_path / "ref-new", new))
    [(ended, got)] = _swaps([10**6], tmp_path / "complete", old, new)  # never killed
    assert ended["code"] == 0 and ended["signal"] is None, ended
    assert got == new_tree
    steps = ended["calls"]
    assert 0 < steps < 10
    assert [p.name for p in (tmp_path / "complete" / str(10**6)).iterdir()] == ["site"]
    killed = _swaps(list(range(steps + 1)), tmp_path / "killed", old, new)  # before the first
    for k, (ended, got) in enumerate(killed):  # step, and after each one
        assert ended["signal"] == signal.SIGKILL, (k, ended)
        assert got in (old_tree, new_tree), f"killed after step {k}: {sorted(got) or 'no site'}"


def test_swap_into_a_new_folder(tmp_path: Path) -> None:
    from mapper.site import _swap

    _swap(_folder(tmp_path / ".site.building-x", {"index.html": "new"}), tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_text() == "new"
    assert os.listdir(tmp_path) == ["site"]


def test_every_fault_point_is_in_the_code_and_tested() -> None:
    """Each name in ``_faults.POINTS`` is called somewhere in mapper/, and only those."""
    called: set[str] = set()
    for path in (ROOT / "mapper").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "point"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "_faults"
            ):
                arg = node.args[0]
                assert isinstance(arg, ast.Constant), f"{path}: a point's name is a literal"
                called.add(arg.value)
    assert called == _faults.POINTS
    tested = {p for p, _ in INGEST_POINTS} | {"site-before-swap", "site-after-swap"}
    assert tested == _faults.POINTS


def test_an_unset_or_other_fault_point_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_faults.FAULT, raising=False)
    _faults.point("before-commit")
    monkeypatch.setenv(_faults.FAULT, "after-commit")
    _faults.point("before-commit")  # still alive
    with pytest.raises(ValueError, match="unknown fault point"):
        _faults.point("no-such-point")


# ---------------------------------------------------------------- kills at random moments
#: A started command, and what to watch for the moments "write" and "committed".
Started = tuple[subprocess.Popen[bytes], Callable[[str], bool]]

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


def _strike(started: Started, how: str, value: float, t0: float) -> tuple[bool, bool]:
    """Kill the run at the moment (how, value): (was it still running, had its header been
    written when the kill was sent)."""
    p, seen = started
    if how == "at":
        time.sleep(max(0.0, t0 + value - time.monotonic()))
    else:  # this long after the store file began to change, or its header did
        wait_for(lambda: seen(how), p, 300)
        time.sleep(value)
    committed = seen("committed")
    alive = p.poll() is None
    p.send_signal(signal.SIGKILL)
    p.wait()
    return alive, committed


def _random_kills(args: list[str | Path], seed: Path, tmp: Path) -> Counter[str]:
    """Run ``camdensity ARGS --db COPY`` cleanly once, then kill 20 runs: 12 at moments spread
    over a clean run's duration, 8 in the write at the end (watching the store file)."""
    before = state(seed)
    ref = _fresh(seed, tmp / "clean.duckdb")
    t0 = time.monotonic()
    assert cli(*args, "--db", ref).wait(600) == 0
    seconds = time.monotonic() - t0
    after = state(ref)
    moments = [("at", seconds * (k + 0.5) / 12) for k in range(12)]
    moments += [("write", d) for d in (0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03)]
    moments += [("committed", 0.0)]
    seen: Counter[str] = Counter()
    for i, (how, value) in enumerate(moments):
        db = _fresh(seed, tmp / f"killed-{i}.duckdb")
        t0 = time.monotonic()
        alive, committed = _strike((cli(*args, "--db", db), _watch(db)), how, value, t0)
        seen["killed while running" if alive else "ended first"] += 1
        got = state(db)
        assert got in (before, after), f"kill {i} at {how} {value}: neither before nor after"
        which = "before" if got == before else "after"
        seen[which] += 1
        if committed:  # its header was written before the kill: the commit is whole
            assert which == "after", f"kill {i}: the header was written, the state is before"
        _reopen_for_writing(db)
        assert state(db) == got, f"kill {i} at {how} {value}: changed when reopened"
        db.unlink()
    print(f"{args[0]}: {dict(seen)}")  # how many landed: reported, never asserted
    return seen


@pytest.mark.slow
def test_ingest_killed_at_random_moments(big_pbf: Path, monaco_seed: Path, tmp_path: Path) -> None:
    _random_kills(["ingest", "-q", big_pbf], monaco_seed, tmp_path)


@pytest.mark.slow
def test_area_from_pbf_killed_at_random_moments(monaco_seed: Path, tmp_path: Path) -> None:
    _random_kills(["area", "from-pbf", MONACO, "--admin-level", "10"], monaco_seed, tmp_path)
