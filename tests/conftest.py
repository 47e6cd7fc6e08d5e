"""Shared fixtures: the real shipped samples, stores built from them, and CLI helpers."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from mapper.cli import cli

#: Hypothesis profiles, chosen by ``CAMDENSITY_HYPOTHESIS``: ``dev`` (``make test``, the
#: default) draws a small fixed set of examples, the same on every run, so a run before a
#: commit never fails by chance; ``ci`` (``make test-all``) draws more, afresh each run.
#: A test that sets its own ``max_examples`` keeps it.
settings.register_profile(
    "dev", max_examples=50, derandomize=True, database=None, deadline=None, print_blob=True
)
settings.register_profile(
    "ci", max_examples=500, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile(os.environ.get("CAMDENSITY_HYPOTHESIS", "dev"))


def halves(values: Any, ids: Any = None) -> list[Any]:
    """``values`` as parameters with every other one (the second, fourth, ...) marked slow:
    the quick tier runs a fixed half of a large family of cases, the slow tier all of them."""
    out = []
    for i, v in enumerate(values):
        marks = [pytest.mark.slow] if i % 2 else []
        out.append(pytest.param(v, id=ids(v) if ids else None, marks=marks))
    return out


ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
OSM = SAMPLES / "osm"
BOUNDARIES = SAMPLES / "boundaries"
MUNICH = OSM / "munich_altstadt_2020-07-20.osm.pbf"
HELSINKI = OSM / "helsinki_kamppi_kluuvi_2019.osm.pbf"
LONDON = OSM / "london_city_holborn_2020-07-20.osm.pbf"
MONACO = OSM / "monaco_2023-12-26.osm.pbf"
SWITZERLAND = OSM / "switzerland_surveillance_overpass_2023.json"
ALL_SAMPLES = [MUNICH, HELSINKI, LONDON, MONACO, SWITZERLAND]


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str) -> Run:
    """Run the CLI in-process (click's runner; stderr kept apart)."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """Run ``python -m mapper`` as a separate process, exactly as a user would."""
    p = subprocess.run(
        [sys.executable, "-m", "mapper", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )
    return Run(p.returncode, p.stdout, p.stderr)


def read_rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows of one query on a store opened read-only (and closed again)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def map_payloads(html: str) -> list[dict[str, Any]]:
    """The data of each map panel of a page written by ``camdensity map`` (``var D``)."""
    return [json.loads(m) for m in re.findall(r"var D = (\{.*?\});\n", html)]


def digest(path: Path) -> str | None:
    if not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def samples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with every shipped sample ingested once (read-only use)."""
    db = tmp_path_factory.mktemp("store") / "samples.duckdb"
    r = invoke("ingest", "--db", str(db), *map(str, ALL_SAMPLES))
    assert r.exit_code == 0, r.stderr
    return db


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A new store of the Monaco extract's cameras, the test's own."""
    db = tmp_path / "s.duckdb"
    assert invoke("ingest", "--db", str(db), str(MONACO)).exit_code == 0
    return db


@pytest.fixture
def store_copy(samples_store: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the samples store."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(samples_store, db)
    return db


SWISS_CITIES = {
    "Zürich": "zurich",
    "Bern": "bern",
    "Genève": "geneva",
    "Lausanne": "lausanne",
    "Basel": "basel",
}


@pytest.fixture(scope="session")
def areas_store(samples_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples store plus the five Swiss cities, City of London wards, Monaco quarters."""
    db = tmp_path_factory.mktemp("areas") / "areas.duckdb"
    shutil.copy(samples_store, db)
    for name, stem in SWISS_CITIES.items():
        r = invoke(
            "area", "add", name, "--boundary", str(BOUNDARIES / f"{stem}.geojson"), "--db", str(db)
        )
        assert r.exit_code == 0, r.stderr
    r = invoke(
        "area", "import", str(BOUNDARIES / "neighbourhoods" / "city-of-london_wards.geojson"),
        "--name-field", "name", "--db", str(db),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = invoke("area", "from-pbf", str(MONACO), "--admin-level", "10", "--db", str(db))
    assert r.exit_code == 0, r.stderr
    return db


def copy_cameras(db: Path, shifts: list[tuple[float, float]], id_step: int) -> None:
    """Shifted copies of a store's cameras straight into its table (copy k, from 1, moved by
    ``shifts[k - 1]`` and its ids by ``k * id_step``): a store at scale for the set-based
    queries, made in SQL from the real cameras it holds."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        for k, (dx, dy) in enumerate(shifts, start=1):
            con.execute(
                "INSERT INTO cameras SELECT * REPLACE (osm_id + $k * $step AS osm_id, "
                "lat + $dy AS lat, lon + $dx AS lon, "  # moved: no cell yet
                "NULL AS h3_5, NULL AS h3_6, NULL AS h3_7, NULL AS h3_8, NULL AS h3_9, "
                "NULL AS h3_10, NULL AS h3_11, NULL AS h3_12) "
                "FROM cameras WHERE osm_id < $step",
                {"k": k, "dx": dx, "dy": dy, "step": id_step},
            )
    finally:
        con.close()
