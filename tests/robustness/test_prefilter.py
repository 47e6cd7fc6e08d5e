"""Hostile blobs for the reader's block pre-filter (mapper.sources._blocks), which inflates
the blocks' string tables itself before libosmium sees a block.

Each file is the sparse file (tests/robustness/sparse.py: 20 blocks without a camera, then the
Munich and London blocks) with one hostile blob after the rural blocks, where the pre-filter
has decided to sift every block. Through ``camdensity ingest`` in a fresh process, on a store
holding the Monaco extract, each must give one ``Error:`` line, exit 1, leave the store as it
was, and stay within the bounds of test_hostile.py (5 s of CPU, 300 MB of peak RSS): once as
a user runs it (mapper.sources._guard refuses most of them before any block is read), and
once with the guard switched off, as if the file had changed after the guard walked it, so
that the pre-filter's own bounds are what holds.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import osmium.io
import pytest

from mapper.errors import InputError
from mapper.sources import _blocks
from tests.conftest import ROOT, digest
from tests.robustness import bombs
from tests.robustness.pbfcodec import field, make_blob
from tests.robustness.sparse import HOSTILE, Hostile, first_city_block, parts

MAX_CPU_SECONDS = 5.0
MAX_RSS_MB = 300.0
CPU_LIMIT, HANG_SECONDS = 30, 600.0  # a runaway, a hang (as test_hostile.py: no wall bound)

#: ``python -m mapper`` with the guard's PBF walk switched off.
NO_GUARD = (
    "import sys\n"
    "from mapper.sources import _guard\n"
    "_guard.check = lambda path, fmt: None\n"
    "from mapper.cli import main\n"
    "sys.argv[0] = 'camdensity'\n"
    "main()\n"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Hostile], Path]:
    folder = tmp_path_factory.mktemp("prefilter")

    def path(c: Hostile) -> Path:
        p = folder / f"{c.name}.osm.pbf"
        if not p.exists():
            p.write_bytes(c.content())
        return p

    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "guard", [True, pytest.param(False, marks=pytest.mark.slow)], ids=["guarded", "unguarded"]
)  # without the guard (the pre-filter's own bounds alone): the slow tier
@pytest.mark.parametrize("c", HOSTILE, ids=lambda c: c.name)
def test_a_hostile_blob_is_one_error_within_bounds(
    c: Hostile, guard: bool, files: Callable[[Hostile], Path], monaco_seed: Path, tmp_path: Path
) -> None:
    path = files(c)
    db = tmp_path / "store.duckdb"
    shutil.copy(monaco_seed, db)
    before = digest(db)
    start = ["-m", "mapper"] if guard else ["-c", NO_GUARD]
    argv = [sys.executable, *start, "ingest", "-q", str(path), "--db", str(db)]
    m = bombs.run_measured(argv, timeout=HANG_SECONDS, cwd=ROOT, cpu_limit=CPU_LIMIT)
    lines = _lines(m.stderr)
    assert m.code == 1, (m.code, lines[:3])
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines[:3]
    assert (c.guarded if guard else c.unguarded) in lines[0], lines[0]
    assert digest(db) == before, "the store changed"
    assert m.cpu < MAX_CPU_SECONDS, f"{m.cpu:.1f} s of CPU"
    assert m.rss_mb < MAX_RSS_MB, f"peak RSS {m.rss_mb:.0f} MB"


@pytest.mark.parametrize("c", HOSTILE, ids=lambda c: c.name)
def test_the_prefilter_names_the_damage(c: Hostile, files: Callable[[Hostile], Path]) -> None:
    """In this process, without the guard: the pre-filter's own one-line error."""
    path = str(files(c))
    with pytest.raises(InputError) as err:
        list(_blocks.sources(path, False, osmium.io.File(path, "pbf")))
    message = str(err.value)
    assert c.unguarded in message and "\n" not in message
    assert message.startswith(f"{path}: truncated or corrupt OSM file (")


def _blob_of(fileblock: bytes) -> bytes:
    return fileblock[4 + int.from_bytes(fileblock[:4], "big") :]


@pytest.mark.parametrize("method", ["zlib", "raw"])
def test_a_block_that_does_not_start_with_its_string_table_is_looked_at_whole(
    method: str,
) -> None:
    """No writer puts another field first, but protobuf allows it: such a block is inflated
    whole (within its bounds) and kept when its bytes hold the words anywhere."""
    wanted = _blocks.needles(False)
    city, rural = first_city_block(), parts()[1][0].block
    for block, keeps in ((city, True), (rural, False)):
        moved = field(17, 100) + block  # granularity first, then the string table
        blob = _blob_of(make_blob("OSMData", moved, method=method))
        assert _blocks._keeps("x", 0, blob, wanted) == keeps
        assert _blocks._keeps("x", 0, _blob_of(make_blob("OSMData", block, method=method)),
                              wanted) == keeps  # fmt: skip


def test_blobs_of_other_compressions_are_left_to_libosmium() -> None:
    """lz4 (which this libosmium reads), zstd, bzip2: kept, not inflated here."""
    wanted = _blocks.needles(False)
    rural = parts()[1][0].block
    for method in ("lz4", "zstd", "bzip2"):
        blob = _blob_of(make_blob("OSMData", rural, compressed=b"\0" * 100, method=method))
        assert _blocks._keeps("x", 0, blob, wanted)
