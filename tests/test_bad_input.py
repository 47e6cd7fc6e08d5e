"""Every bad input: one 'Error:' line on stderr, a non-zero exit, the store exactly as it was."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MONACO, MUNICH, ROOT, SWITZERLAND, digest, invoke, run_process


def _assert_one_error(stderr: str, *fragments: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    data = MUNICH.read_bytes()
    files: dict[str, tuple[Path, str]] = {}

    def put(name: str, content: bytes, expect: str) -> None:
        p = tmp / name
        p.write_bytes(content)
        files[name] = (p, expect)

    put("empty.osm.pbf", b"", "the file is empty")
    put("truncated.osm.pbf", data[: len(data) // 3], "truncated or corrupt OSM file")
    # Fixed bytes, not os.urandom: 1 draw in about 100 starts with "{" or "[" (after
    # whitespace) and is then, rightly, reported as broken JSON (CI failed on one such draw).
    noise = random.Random(19).randbytes(4096)
    assert noise.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"[", b"<")
    put("random.osm.pbf", noise, "unrecognised content")
    put("notosm.json", json.dumps({"hello": [1, 2, 3]}).encode(), "JSON but not OSM data")
    put("list.json", json.dumps([1, 2, 3]).encode(), "JSON but not OSM data")
    put("broken.json", SWITZERLAND.read_bytes()[:5000], "invalid or truncated JSON")
    put("nested.json", b"[" * 100000 + b"]" * 100000, "JSON")
    put(
        "lines.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"@id": "way/1", "man_made": "surveillance"},
                        "geometry": {"type": "LineString", "coordinates": [[8, 47], [8.1, 47.1]]},
                    }
                ],
            }
        ).encode(),  # fmt: skip
        "GeoJSON without point features",
    )
    put("map.osm", b"<?xml version='1.0'?><osm version='0.6'><node id='1' lat='x'", "corrupt OSM")
    return files


@pytest.mark.parametrize(
    "name",
    ["empty.osm.pbf", "truncated.osm.pbf", "random.osm.pbf", "notosm.json", "list.json",
     "broken.json", "nested.json", "lines.geojson", "map.osm"],
)  # fmt: skip
def test_bad_file_leaves_store_unchanged(name: str, seeded: Path, tmp_path: Path) -> None:
    path, expect = _bad_files(tmp_path)[name]
    before = digest(seeded)
    r = invoke("ingest", "--db", str(seeded), str(MUNICH), str(path))
    assert r.exit_code == 1
    _assert_one_error(r.stderr, str(path), expect)
    assert digest(seeded) == before


def test_missing_file(seeded: Path, tmp_path: Path) -> None:
    before = digest(seeded)
    r = invoke("ingest", "--db", str(seeded), str(tmp_path / "nope.osm.pbf"))
    assert r.exit_code == 1
    _assert_one_error(r.stderr, "nope.osm.pbf: no such file")
    assert digest(seeded) == before


def test_bad_input_into_a_new_store_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    path, _ = _bad_files(tmp_path)["truncated.osm.pbf"]
    r = invoke("ingest", "--db", str(db), str(path))
    assert r.exit_code == 1
    assert not db.exists()


def test_store_that_is_not_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("my shopping list\n")
    before = digest(db)
    r = invoke("ingest", "--db", str(db), str(MONACO))
    assert r.exit_code == 1
    _assert_one_error(r.stderr, "is not a camdensity store")
    assert digest(db) == before
    r = invoke("stats", "--db", str(db))
    _assert_one_error(r.stderr, "is not a camdensity store")


def test_missing_store_for_stats(tmp_path: Path) -> None:
    r = invoke("stats", "--db", str(tmp_path / "none.duckdb"))
    assert r.exit_code == 1
    _assert_one_error(r.stderr, "no store at", "camdensity ingest")
    assert not (tmp_path / "none.duckdb").exists()


def test_newer_schema_is_refused(seeded: Path) -> None:
    import duckdb

    con = duckdb.connect(str(seeded))
    con.execute("INSERT INTO schema_version VALUES (999)")
    con.close()
    before = digest(seeded)
    for args in (["stats"], ["ingest", str(MUNICH)]):
        r = invoke(*args, "--db", str(seeded))
        assert r.exit_code == 1
        _assert_one_error(r.stderr, "written by a newer camdensity", "upgrade camdensity")
    assert digest(seeded) == before


@pytest.fixture
def held_lock(seeded: Path) -> Iterator[Path]:
    """Another process (a real Python holding a write connection) owns the store until the
    test ends (it waits on its stdin, which only the end of the test closes)."""
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(seeded)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert p.stdin is not None and p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    try:
        yield seeded
    finally:
        p.kill()
        p.wait()
        p.stdin.close()
        p.stdout.close()


def test_locked_store(held_lock: Path) -> None:
    """Refused, not waited on: the lock is held until the test ends, so a command that
    waited for it would run into run_process's timeout (a hang guard, not a bound)."""
    before = digest(held_lock)
    r = run_process("ingest", "--db", str(held_lock), str(MUNICH))
    assert r.exit_code == 1
    _assert_one_error(r.stderr, "store is in use by another camdensity process")
    r = run_process("stats", "--db", str(held_lock))
    _assert_one_error(r.stderr, "store is in use by another camdensity process")
    assert digest(held_lock) == before


def test_a_damaged_store_is_not_called_one_in_use(seeded: Path) -> None:
    """DuckDB's checksum error names the damaged "block"; it once read as a store held by
    another process, as every message with "lock" in it did."""
    data = bytearray(seeded.read_bytes())
    for offset in (3 * 4096 + 200, 3 * 4096 + 201):  # the first block after the headers
        data[offset] ^= 0xFF
    seeded.write_bytes(bytes(data))
    r = invoke("stats", "--db", str(seeded))
    assert r.exit_code == 1
    _assert_one_error(r.stderr, "cannot open store", "Corrupt database file")
    assert "in use" not in r.stderr


def test_spatial_extension_unavailable(seeded: Path, tmp_path: Path) -> None:
    """No extension wheel, nothing installed under $HOME, no network: a clear message."""
    code = (
        "import sys; sys.modules['duckdb_extension_spatial'] = None; "
        "from mapper.cli import main; sys.argv = ['camdensity'] + sys.argv[1:]; main()"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    before = digest(seeded)
    out = tmp_path / "cams.parquet"
    args = ["export", "--db", str(seeded), "--format", "parquet", "-o", str(out)]
    p = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert p.returncode == 1
    _assert_one_error(p.stderr, "spatial extension could not be loaded", "duckdb-extension-spatial")
    assert digest(seeded) == before and not out.exists()
    # reading OSM files needs no DuckDB extension: libosmium reads them
    p = subprocess.run(
        [sys.executable, "-c", code, "ingest", "--db", str(seeded), str(MUNICH)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "209 cameras" in p.stdout


def test_unknown_export_format_and_missing_folder(seeded: Path, tmp_path: Path) -> None:
    r = invoke(
        "export", "--db", str(seeded), "--format", "csv", "-o", str(tmp_path / "x" / "a.csv")
    )
    assert r.exit_code == 1
    _assert_one_error(r.stderr, "does not exist")
