"""Comparison maps a reader can read (issue 16): at 1400 x 1000 in Chromium, each panel's
title sits above its map, one legend for all panels sits below them, nothing of the two
covers a map, and each panel's attribution fits its map. A map of one area keeps its
legend and title on the map. With streets stored, the coverage layers are drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import PageLog, browser
from tests.conftest import HELSINKI, LONDON, MUNICH, ROOT, invoke

ARTIFACTS = ROOT / "build" / "test-artifacts"
AREAS = [
    "munich_altstadt_2020-07-20 (extent)",
    "london_city_holborn_2020-07-20 (extent)",
    "helsinki_kamppi_kluuvi_2019 (extent)",
]

LAYOUT_JS = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom, w: e.scrollWidth, cw: e.clientWidth}; };
  return {
    maps: Array.from(document.querySelectorAll(".leaflet-container")).map(box),
    strips: Array.from(document.querySelectorAll(".cd-strip")).map(box),
    bars: Array.from(document.querySelectorAll(".cd-legend-bar")).map(box),
    inner: document.querySelectorAll(
      ".leaflet-container .cd-legend, .leaflet-container .cd-title").length,
    attributions: Array.from(document.querySelectorAll(".leaflet-control-attribution")).map(box),
    views: document.querySelectorAll("path[stroke='#6a3d9a']").length,
    inView: document.querySelectorAll("path[stroke='#08306b']").length,
  };
}"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["l"] < b["r"] - 0.5
        and b["l"] < a["r"] - 0.5
        and a["t"] < b["b"] - 0.5
        and (b["t"] < a["b"] - 0.5)
    )


def _inside(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["l"] >= b["l"] - 0.5
        and a["r"] <= b["r"] + 0.5
        and a["t"] >= b["t"] - 0.5
        and (a["b"] <= b["b"] + 0.5)
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("layout") / "s.duckdb"
    assert invoke("ingest", "--db", db, MUNICH, LONDON, HELSINKI).exit_code == 0
    assert invoke("streets", "--db", db, MUNICH, LONDON).exit_code == 0
    return db


def _layout(page_file: Path, shot: str) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        log = PageLog(page)
        page.goto(page_file.as_uri())
        page.wait_for_selector(".leaflet-interactive", timeout=15000)  # the page's scripts ran
        page.evaluate("() => document.fonts.ready.then(() => true)")  # text in its own font
        page.screenshot(path=str(ARTIFACTS / shot))
        out: dict[str, Any] = page.evaluate(LAYOUT_JS)
        assert log.errors == [], log.errors
    return out


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("n", [2, 3])
def test_comparison_panels_are_readable(store: Path, tmp_path: Path, n: int) -> None:
    out = tmp_path / "cmp.html"
    r = invoke("map", "--db", store, *AREAS[:n], "-o", out, "--tiles", "none")
    assert r.exit_code == 0, r.stderr
    got = _layout(out, f"map-compare-{n}.png")
    assert len(got["maps"]) == n and len(got["strips"]) == n
    assert len(got["bars"]) == 1 and got["inner"] == 0  # one legend, none on a panel
    covers = got["strips"] + got["bars"]
    for m in got["maps"]:
        assert m["b"] - m["t"] > 300  # the panels keep most of the page
        for c in covers:
            assert not _overlap(m, c), (m, c)
    bar = got["bars"][0]
    assert bar["b"] <= 1000.5 and bar["w"] <= bar["cw"] + 1  # the legend fits the page width
    for a, m in zip(got["attributions"], got["maps"], strict=True):
        assert _inside(a, m) and a["w"] <= a["cw"] + 1, (a, m)  # attribution fits
    assert got["views"] > 0 and got["inView"] > 0  # coverage layers from the stored streets


@pytest.mark.slow
@pytest.mark.browser
def test_single_map_keeps_its_legend_and_title(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    assert invoke("map", "--db", store, AREAS[0], "-o", out, "--tiles", "none").exit_code == 0
    got = _layout(out, "map-one.png")
    assert got["strips"] == [] and got["bars"] == []
    assert got["inner"] == 2  # the legend and the title, on the map
