"""Progress on stderr: shown on a terminal for big inputs, silent otherwise."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import osmium
import pytest

from mapper.progress import PROGRESS_MIN_BYTES
from tests.conftest import MUNICH, ROOT, run_process

COPIES = 3


@pytest.fixture(scope="module")
def big_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three copies of the real Munich extract (ids offset per copy), its blocks left
    uncompressed: about 5 MB, over the size that gets a bar, with half the objects to write
    and read that six compressed copies took."""
    out = tmp_path_factory.mktemp("big") / "munich_x3.osm.pbf"
    nodes, ways, rels = [], [], []
    for o in osmium.FileProcessor(str(MUNICH)):
        tags = {t.k: t.v for t in o.tags}
        if o.is_node():
            nodes.append((o.id, (o.location.lon, o.location.lat), tags))
        elif o.is_way():
            ways.append((o.id, [n.ref for n in o.nodes], tags))
        elif o.is_relation():
            rels.append((o.id, [(m.type, m.ref, m.role) for m in o.members], tags))
    mut = osmium.osm.mutable
    with osmium.SimpleWriter(osmium.io.File(str(out), "pbf,pbf_compression=none")) as w:
        for k in range(COPIES):
            off = k * 10**10
            for i, loc, tags in nodes:
                w.add_node(mut.Node(id=i + off, location=loc, tags=tags))
        for k in range(COPIES):
            off = k * 10**10
            for i, refs, tags in ways:
                w.add_way(mut.Way(id=i + off, nodes=[r + off for r in refs], tags=tags))
        for k in range(COPIES):
            off = k * 10**10
            for i, members, tags in rels:
                ms = [(t, r + off, role) for t, r, role in members]
                w.add_relation(mut.Relation(id=i + off, members=ms, tags=tags))
    assert out.stat().st_size > PROGRESS_MIN_BYTES
    return out


def _on_terminal(*args: str) -> str:
    """Run ``python -m mapper`` with a real pseudo-terminal (100 columns) as its stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    p = subprocess.Popen([sys.executable, "-m", "mapper", *args], stdin=slave, stdout=slave,
                         stderr=slave, cwd=ROOT)  # fmt: skip
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=120)
    os.close(master)
    assert p.returncode == 0, out
    return out.decode("utf-8", "replace")


def test_progress_on_a_terminal(big_pbf: Path, tmp_path: Path) -> None:
    out = _on_terminal("ingest", "--db", str(tmp_path / "a.duckdb"), str(big_pbf))
    # the bar follows how far libosmium has read into the file: a share and an ETA
    assert re.search(r"reading cameras: +\d+%\|", out), out
    assert re.search(r"\| \d+:\d\d<(\?|\d+:\d\d)", out), out  # elapsed<remaining
    assert f"{209 * COPIES} cameras" in out


def test_the_bar_sees_how_far_the_reader_is(tmp_path: Path) -> None:
    """The position a reader has reached in a file, seen from the side (/proc/self/fdinfo)."""
    from mapper.progress import _offset

    with open(MUNICH, "rb", buffering=0) as f:
        f.read(1000)
        assert _offset(str(MUNICH)) == 1000
    assert _offset(str(MUNICH)) is None


def test_quiet_on_a_terminal_and_off_a_terminal(big_pbf: Path, tmp_path: Path) -> None:
    out = _on_terminal("ingest", "--quiet", "--db", str(tmp_path / "b.duckdb"), str(big_pbf))
    assert "reading cameras" not in out
    r = run_process("ingest", "--db", str(tmp_path / "c.duckdb"), str(big_pbf))
    assert r.exit_code == 0 and r.stderr == ""
