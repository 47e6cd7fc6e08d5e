"""Progress on stderr for long work; silent when stderr is not a terminal or when asked."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb

#: Inputs smaller than this finish too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def wanted(quiet: bool, size: int | None = None) -> bool:
    if quiet or not sys.stderr.isatty():
        return False
    return size is None or size >= PROGRESS_MIN_BYTES


@contextmanager
def query_progress(con: duckdb.DuckDBPyConnection, label: str, enabled: bool) -> Iterator[None]:
    """Show DuckDB's own progress of the query running on ``con`` as a bar with an ETA.

    Table functions that report no progress (DuckDB spatial's ``ST_ReadOSM`` in 1.5 returns
    -1) get the elapsed time instead, so a long read still shows that it is alive.
    """
    if not enabled:
        yield
        return
    from tqdm import tqdm

    stop = threading.Event()
    bar = tqdm(
        total=100, desc=label, file=sys.stderr, leave=False,
        bar_format="{desc}: {elapsed} elapsed",
    )  # fmt: skip

    def poll() -> None:
        known = False
        while not stop.wait(0.2):
            try:
                pct = con.query_progress()
            except duckdb.Error:
                continue
            if pct >= 0 and not known:
                known = True
                bar.bar_format = "{l_bar}{bar}| {elapsed}<{remaining}"
            if known:
                bar.n = min(100.0, max(0.0, float(pct)))
            bar.refresh()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        bar.close()


@contextmanager
def bytes_progress(label: str, total: int, enabled: bool) -> Iterator[Callback | None]:
    """A bar over ``total`` bytes with an ETA; the caller reports each chunk it has done."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    # no monitor thread: the PBF scan forks while this bar is up, and a fork beside a running
    # thread is unsafe (Python 3.12 warns about it)
    tqdm.monitor_interval = 0
    bar = tqdm(
        total=total, desc=label, file=sys.stderr, leave=False, unit="B", unit_scale=True,
        bar_format="{l_bar}{bar}| {elapsed}<{remaining}",
    )  # fmt: skip
    lock = threading.Lock()

    def step(n: int) -> None:
        with lock:
            bar.update(n)

    try:
        yield step
    finally:
        bar.close()


def _offset(path: str) -> int | None:
    """How far this process has read into ``path``: the position of a descriptor open on it
    (Linux's /proc/self/fdinfo; None elsewhere, or when none is open)."""
    try:
        real = os.path.realpath(path)
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") != real:
                    continue
                with open(f"/proc/self/fdinfo/{fd}") as f:
                    for line in f:
                        if line.startswith("pos:"):
                            return int(line.split()[1])
            except OSError:
                continue
    except OSError:
        return None
    return None


@contextmanager
def file_progress(path: str, label: str, enabled: bool) -> Iterator[None]:
    """A bar with an ETA over the bytes a reader in this process (libosmium's, in its own
    threads) has read of ``path``, polled from the side; elapsed time only where the position
    cannot be seen."""
    if not enabled:
        yield
        return
    from tqdm import tqdm

    total = os.path.getsize(path)
    stop = threading.Event()
    bar = tqdm(
        total=total, desc=label, file=sys.stderr, leave=False, unit="B", unit_scale=True,
        bar_format="{l_bar}{bar}| {elapsed}<{remaining}",
    )  # fmt: skip

    def poll() -> None:
        while not stop.wait(0.2):
            pos = _offset(path)
            if pos is not None:
                bar.n = min(total, max(bar.n, pos))
            bar.refresh()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        bar.close()


def steps(items: list[str], label: str, enabled: bool) -> Iterator[str]:
    if not enabled or len(items) < 2:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=label, file=sys.stderr, leave=False)


Callback = Callable[[int], None]
