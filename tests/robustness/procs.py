"""Processes for the crash and concurrency tests: started, timed, killed, and observed.

- :class:`Armed`: a ``camdensity`` process started ahead of time, imports done, that runs its
  command the moment it is told to, so that it can hit a window of a few milliseconds.
- :func:`lock_holder`: which kind of lock another process holds on the store (DuckDB takes
  a POSIX write lock to write, a read lock to read).
- :func:`state`: what ``stats --json`` and ``area list --json`` say about a store, minus the
  ingest clock times, to compare a store with the states it may be in.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, invoke

_FLOCK = "hhqqi4x"  # struct flock on 64-bit Linux: type, whence, start, len, pid


def lock_holder(db: Path) -> str | None:
    """'write' or 'read' when another process holds such a lock on ``db``, else None."""
    fd = os.open(db, os.O_RDONLY)
    try:
        probe = struct.pack(_FLOCK, fcntl.F_WRLCK, 0, 0, 0, 0)
        kind = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
    finally:
        os.close(fd)
    return {fcntl.F_WRLCK: "write", fcntl.F_RDLCK: "read"}.get(kind)


def cli(*args: str | Path) -> subprocess.Popen[bytes]:
    """``python -m mapper ARGS`` as a user would start it (output discarded)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mapper", *map(str, args)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


_ARMED = """
import sys
import mapper.cli, mapper.ingest, mapper.stats, mapper.compare, mapper.areas  # noqa
print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["camdensity", *sys.argv[1:]]
from mapper.cli import main
main()
"""


class Armed:
    """A ``camdensity ARGS`` process that waits, imports done, until :meth:`fire`."""

    def __init__(self, *args: str | Path, tmp: Path) -> None:
        self.args = [str(a) for a in args]
        self._err = (tmp / f"armed-{id(self)}.err").open("w+b")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ARMED, *self.args], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._err,
        )  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stdin is not None
        line = self.proc.stdout.readline()
        assert line.strip() == b"ready", self._err_text()
        self.fired = 0.0
        self.ended = 0.0

    def fire(self) -> None:
        assert self.proc.stdin is not None
        self.fired = time.monotonic()
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float = 120) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); also sets :attr:`seconds` since :meth:`fire`."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        self.ended = time.monotonic()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        err = self._err_text()
        self._err.close()
        return code, out.decode("utf-8", "replace"), err

    @property
    def seconds(self) -> float:
        return self.ended - self.fired

    def _err_text(self) -> str:
        self._err.flush()
        self._err.seek(0)
        return self._err.read().decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(cond: Callable[[], bool], proc: subprocess.Popen[Any], limit: float) -> bool:
    """Poll ``cond`` every millisecond while ``proc`` runs; True once it holds."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        if proc.poll() is not None:
            return cond()
        time.sleep(0.001)
    raise TimeoutError(f"still waiting after {limit} s")


def normalise_stats(s: dict[str, Any]) -> dict[str, Any]:
    for src in s.get("sources", []):
        src.pop("ingested_at", None)
    return s


def state(db: Path) -> dict[str, Any]:
    """The store as ``stats --json`` and ``area list --json`` see it (in-process)."""
    r = invoke("stats", "--json", "--db", str(db))
    assert r.exit_code == 0, r.stderr
    a = invoke("area", "list", "--json", "--db", str(db))
    assert a.exit_code == 0, a.stderr
    return {"stats": normalise_stats(json.loads(r.stdout)), "areas": json.loads(a.stdout)}


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
