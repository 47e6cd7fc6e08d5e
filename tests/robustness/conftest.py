"""Fixtures shared by the robustness tests: a small seeded store and a large tiled PBF."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MONACO, invoke
from tests.robustness.tiler import tiled_munich


@pytest.fixture(scope="session")
def monaco_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the Monaco extract ingested (never written to: copy it first)."""
    db = tmp_path_factory.mktemp("seed") / "monaco.duckdb"
    r = invoke("ingest", "--db", str(db), str(MONACO))
    assert r.exit_code == 0, r.stderr
    return db


@pytest.fixture(scope="session")
def big_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Munich extract tiled 5 x 5 (25 copies, ~20 MB, 5,225 cameras)."""
    return tiled_munich(5, tmp_path_factory.mktemp("big") / "munich_x5.osm.pbf")
