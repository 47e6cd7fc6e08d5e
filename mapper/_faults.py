"""Fault points for the crash and concurrency tests; each is a no-op unless a variable names it.

``CAMDENSITY_FAULT=NAME``: the process SIGKILLs itself when it reaches the point ``NAME``
(no exit handler, no flush: as a power cut or the OOM killer would stop it).

``CAMDENSITY_HOLD=NAME[,NAME...]`` with ``CAMDENSITY_HOLD_FDS=R,W`` (two pipe ends the
process inherited): at each point named, in that order, the process writes ``NAME`` and a
newline to ``W`` and waits until it reads a line from ``R``. A test holds a command at a
known point that way, and lets it go, without a sleep.

The points (each called where its name says, once per run of a command):

- ``after-read``: ``ingest`` has read every input and not yet opened the store to write.
- ``mid-write``: inside the write transaction, a source recorded but not its cameras.
- ``before-commit``: a write transaction's statements all ran; ``COMMIT`` not yet sent.
- ``after-commit``: ``COMMIT`` returned; the store not yet closed.
- ``site-before-swap``: the new site is complete in its temporary folder, not yet in place.
- ``site-after-swap``: the new site is in place; the old one not yet deleted.
"""

from __future__ import annotations

import os
import signal

FAULT = "CAMDENSITY_FAULT"
HOLD = "CAMDENSITY_HOLD"
HOLD_FDS = "CAMDENSITY_HOLD_FDS"

POINTS = frozenset({
    "after-read", "mid-write", "before-commit", "after-commit", "site-before-swap",
    "site-after-swap",
})  # fmt: skip

_held: list[str] = []


def point(name: str) -> None:
    """Reached the fault point ``name``: die or wait here when the environment says so."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}")  # a typo in the code, not input
    if not (os.environ.get(FAULT) or os.environ.get(HOLD)):
        return
    if os.environ.get(FAULT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    holds = [h for h in os.environ.get(HOLD, "").split(",") if h]
    if name in holds and holds[len(_held) : len(_held) + 1] == [name]:
        _held.append(name)
        _hold(name)


def _hold(name: str) -> None:
    r, w = (int(fd) for fd in os.environ[HOLD_FDS].split(","))
    os.write(w, name.encode() + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = os.read(r, 1)
        if not chunk:  # the test went away: carry on
            return
        got += chunk
