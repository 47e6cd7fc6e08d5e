"""Processes for the crash tests: started, watched, and the states they leave.

- :func:`state`: what ``stats --json`` and ``area list --json`` say about a store, minus the
  ingest clock times, to compare a store with the states it may be in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, invoke


def cli(*args: str | Path) -> subprocess.Popen[bytes]:
    """``python -m mapper ARGS`` as a user would start it (output discarded)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mapper", *map(str, args)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


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
