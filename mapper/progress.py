"""Progress on stderr for long work; silent when stderr is not a terminal or when asked."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Inputs smaller than this finish too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def wanted(quiet: bool, size: int | None = None) -> bool:
    if quiet or not sys.stderr.isatty():
        return False
    return size is None or size >= PROGRESS_MIN_BYTES


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
