"""Issue 14, point 5: hostile OSM files (tests/robustness/bombs.py) through the CLI.

Each file is given to ``camdensity ingest`` (and the PBF ones to ``area from-pbf``) in a
fresh process, on a store that already holds the Monaco extract. A hostile file must give
exactly one ``Error:`` line, exit 1, and leave the store byte for byte as it was; a file that
is unusual but valid (lz4 blocks, an external DTD that is not loaded) must be read. Either
way within the issue's bounds, asserted only as upper bounds, from ``wait4`` of the process
(started from a small launcher so that this interpreter's memory is not counted): a peak RSS
under 300 MB, and 5 s of CPU time (user + system, every thread). Wall time depends on what
else the machine runs (two cores, shared), so it is not asserted: a run is killed past
CPU_LIMIT seconds of CPU (a runaway) or HANG_SECONDS of wall time (a hang); the CPU time
asserted is the issue's 5 s.

The guard's own rules are tested directly below: no real file refused, each bound where it
says it is, every stream of a multi-stream file inflated.
"""

from __future__ import annotations

import bz2
import gzip
import shutil
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import osmium
import pytest

from mapper.errors import InputError
from mapper.sources import _guard
from tests.conftest import MONACO, MUNICH, OSM, ROOT, digest, halves
from tests.robustness import bombs
from tests.robustness.bombs import Hostile

MAX_CPU_SECONDS = 5.0
CPU_LIMIT = 30  # seconds of CPU: a runaway ends here, however loaded the machine
HANG_SECONDS = 600.0  # only against a hang (no CPU used): a bounded run takes a second or two
MAX_RSS_MB = 300.0
HOSTILE = bombs.hostile_files()
PBF_ERRORS = [h for h in HOSTILE if h.name.endswith(".pbf") and h.cameras is None]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Hostile], Path]:
    """The file of a hostile case, written on first use."""
    folder = tmp_path_factory.mktemp("hostile")

    def path(h: Hostile) -> Path:
        p = folder / h.name
        if not p.exists():
            p.write_bytes(h.content())
        return p

    return path


def _run(args: list[str], db: Path) -> bombs.Measured:
    argv = [sys.executable, "-m", "mapper", *args, "--db", str(db)]
    return bombs.run_measured(argv, timeout=HANG_SECONDS, cwd=ROOT, cpu_limit=CPU_LIMIT)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _assert_refused(m: bombs.Measured, h: Hostile, db: Path, before: str | None) -> None:
    lines = _lines(m.stderr)
    assert m.code == 1, (m.code, lines[:3])
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines[:3]
    assert h.fragment in lines[0], lines[0]
    assert digest(db) == before, "the store changed"
    assert not db.with_name(db.name + ".wal").exists()


def _assert_bounded(m: bombs.Measured) -> None:
    assert m.cpu < MAX_CPU_SECONDS, f"{m.cpu:.1f} s of CPU"
    assert m.rss_mb < MAX_RSS_MB, f"peak RSS {m.rss_mb:.0f} MB"


def _cameras(db: Path, path: Path) -> list[dict[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT c.tags FROM cameras c JOIN sources s ON c.source_id = s.id WHERE s.path = ?",
            [str(path)],
        ).fetchall()
    finally:
        con.close()
    return [dict(r[0]) for r in rows]


def _seeded(seed: Path, tmp_path: Path) -> tuple[Path, str | None]:
    """A private copy of the seeded store, and its digest before the command."""
    db = tmp_path / "store.duckdb"
    shutil.copy(seed, db)
    return db, digest(db)


@pytest.mark.parametrize("h", halves(HOSTILE, lambda h: h.name))  # every one in the slow tier
def test_ingest_of_a_hostile_file(
    h: Hostile, hostile: Callable[[Hostile], Path], monaco_seed: Path, tmp_path: Path
) -> None:
    path = hostile(h)
    db, before = _seeded(monaco_seed, tmp_path)
    m = _run(["ingest", "-q", str(path)], db)
    if h.cameras is None:
        _assert_refused(m, h, db, before)
    else:
        assert m.code == 0, _lines(m.stderr)[:3]
        assert not any(line.startswith("Error:") for line in _lines(m.stderr))
        tags = _cameras(db, path)
        assert len(tags) == h.cameras
        assert not any("root:" in v for t in tags for v in t.values())  # no file was read in
    _assert_bounded(m)


@pytest.mark.slow
@pytest.mark.parametrize("h", PBF_ERRORS, ids=lambda h: h.name)
def test_area_from_pbf_of_a_hostile_file(
    h: Hostile, hostile: Callable[[Hostile], Path], monaco_seed: Path, tmp_path: Path
) -> None:
    path = hostile(h)
    db, before = _seeded(monaco_seed, tmp_path)
    m = _run(["area", "from-pbf", str(path)], db)
    _assert_refused(m, h, db, before)
    _assert_bounded(m)


def test_pyosmium_reads_the_lz4_file_as_the_zlib_one(hostile: Callable[[Hostile], Path]) -> None:
    """The hand-written lz4 blocks are real lz4: libosmium decodes the same elements."""
    h = next(h for h in HOSTILE if h.name == "pbf-lz4.osm.pbf")

    def ids(p: Path) -> list[tuple[str, int]]:
        return [(o.type_str(), o.id) for o in osmium.FileProcessor(str(p))]

    assert ids(hostile(h)) == ids(MUNICH)


# ------------------------------------------------------------------------ the guard alone
def _osm_copies(folder: Path) -> list[tuple[Path, str]]:
    """Every shipped PBF, and Monaco and Munich as OSM XML, plain, gzip and bzip2."""
    out = [(p, "pbf") for p in sorted(OSM.glob("*.osm.pbf"))]
    for src in (MONACO, MUNICH):
        xml = folder / src.name.replace(".pbf", "")
        gz, bz = Path(f"{xml}.gz"), Path(f"{xml}.bz2")
        if src == MUNICH:  # written once for every test (bombs.py)
            xml.write_bytes(bombs.munich_xml())
            gz.write_bytes(bombs.munich_xml_gz())
            bz.write_bytes(bombs.munich_xml_bz2())
        else:
            with osmium.SimpleWriter(str(xml)) as w:
                for obj in osmium.FileProcessor(str(src)):
                    w.add(obj)
            gz.write_bytes(gzip.compress(xml.read_bytes(), 9))
            bz.write_bytes(bz2.compress(xml.read_bytes(), 9))
        out += [(xml, "osm"), (gz, "osm.gz"), (bz, "osm.bz2")]
    return out


@pytest.mark.slow  # every shipped file passes the guard on its way in: test_osm_reader.py
def test_no_real_file_is_refused(tmp_path: Path) -> None:
    for path, fmt in _osm_copies(tmp_path):
        _guard.check(str(path), fmt)


def test_the_bound_is_where_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compressed XML passes up to MAX_RATIO times its size plus SLACK, and not beyond."""
    monkeypatch.setattr(_guard, "SLACK", 1 << 20)
    body = b"<?xml version='1.0'?>\n<osm version=\"0.6\">\n"
    p = tmp_path / "spaces.osm.gz"
    for spaces, refused in (((1 << 20) - 1000, False), (3 << 20, True)):
        data = gzip.compress(body + b" " * spaces + b"</osm>\n")
        p.write_bytes(data)
        assert (len(body) + spaces > _guard.MAX_RATIO * len(data) + _guard.SLACK) == refused
        if refused:
            with pytest.raises(InputError, match="compression bomb"):
                _guard.check(str(p), "osm.gz")
        else:
            _guard.check(str(p), "osm.gz")


@pytest.mark.parametrize("kind", ["gz", pytest.param("bz2", marks=pytest.mark.slow)])
def test_every_stream_is_inflated(kind: str, tmp_path: Path) -> None:
    """A bomb in a second stream is found (libosmium reads every stream); a file of several
    streams is otherwise read, and bytes after the last stream are left to libosmium."""
    xml = bombs.munich_xml()
    pack = gzip.compress if kind == "gz" else bz2.compress
    p = tmp_path / f"x.osm.{kind}"
    p.write_bytes(pack(xml[:1000]) + pack(xml[1000:]) + b"trailing")
    _guard.check(str(p), f"osm.{kind}")
    if kind == "gz":  # then 320 MiB of zeros in a second stream (or five of 64 MiB each)
        p.write_bytes(bombs.munich_xml_gz() + bombs.deflate(*bombs.fill(b"\0", 320 << 20)).gzip())
    else:
        p.write_bytes(bombs.munich_xml_bz2() + bombs.bzip2_fill(b"\0", 320 << 20))
    with pytest.raises(InputError, match="compression bomb"):
        _guard.check(str(p), f"osm.{kind}")


def test_a_damaged_stream_is_named(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(bombs.munich_xml()))
    data[len(data) // 2] ^= 0xFF
    p = tmp_path / "x.osm.gz"
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match="truncated or corrupt OSM file .the gzip stream"):
        _guard.check(str(p), "osm.gz")


def test_entities_after_the_prolog_window_are_left_to_libosmium(tmp_path: Path) -> None:
    """Only the first 64 KiB are looked at; libosmium refuses any entity declaration."""
    p = tmp_path / "late.osm"
    laughs = bombs.billion_laughs().split(b"\n", 1)[1]  # without its XML declaration
    p.write_bytes(b"<?xml version='1.0'?>\n<!-- " + b"x" * (70 << 10) + b" -->\n" + laughs)
    _guard.check(str(p), "osm")
    with pytest.raises(RuntimeError, match="XML entities are not supported"):
        for _ in osmium.FileProcessor(osmium.io.File(str(p), "osm")):
            pass


def test_compressions_are_probed_not_assumed() -> None:
    """lz4 is read by this build of libosmium (the lz4 file test reads it); zstd, lzma and
    the obsolete bzip2 blobs are not; an unknown name is never."""
    assert _guard._reads("lz4")
    assert not any(_guard._reads(m) for m in ("zstd", "lzma", "bzip2", "brotli"))


def test_inflate_steps_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No call to an inflater asks for more than STEP bytes of output."""
    asked: list[int] = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, *a: int) -> None:
            self._d = real(*a)

        def decompress(self, data: bytes, max_length: int = -1) -> bytes:
            asked.append(max_length)
            return self._d.decompress(data, max_length)

        def __getattr__(self, name: str) -> object:
            return getattr(self._d, name)

    monkeypatch.setattr(_guard.zlib, "decompressobj", Spy)
    p = tmp_path / "x.osm.gz"
    p.write_bytes(gzip.compress(bombs.munich_xml()))
    _guard.check(str(p), "osm.gz")
    assert asked and all(0 < n <= _guard.STEP for n in asked)
