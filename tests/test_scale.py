"""The site at scale: thousands of areas from one config line, an index that stays usable.

The store: the shipped Monaco 2023 extract and its six level-10 quarters, tiled 350 times
(cameras and boundaries shifted copies, the quarters keeping their OSM names, so each name
is shared 350 times and shown as 'NAME (relation ID)'): 2,100 areas, 4,900 cameras.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
import shapely

from mapper.areas import AreaSpec, store_specs
from tests.browser import PageLog, browser
from tests.conftest import MONACO, copy_cameras, invoke

COPIES = 350
#: Copies sit on a 25-wide lattice of whole shifts, wider than Monaco, so none overlap.
SIDE, DLON, DLAT = 25, 0.05, 0.04
LINK = re.compile(r"""(?:href|src)\s*=\s*"([^"]+)\"""")


def _shift(k: int) -> tuple[float, float]:
    return (k % SIDE) * DLON, (k // SIDE) * DLAT


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("scale") / "big.duckdb"
    assert invoke("ingest", "-q", "--db", str(db), str(MONACO)).exit_code == 0
    r = invoke("area", "from-pbf", str(MONACO), "--admin-level", "10", "--db", str(db))
    assert r.exit_code == 0, r.stderr
    con = duckdb.connect(str(db))
    quarters = con.execute(
        "SELECT osm_name, osm_id, geometry, population FROM areas WHERE admin_level = 10"
    ).fetchall()
    con.close()
    copy_cameras(db, [_shift(k) for k in range(1, COPIES)], 100_000_000_000)
    specs = []
    for k in range(1, COPIES):
        dx, dy = _shift(k)
        for name, osm_id, wkb, pop in quarters:
            geom = shapely.transform(shapely.from_wkb(wkb), lambda xy: xy + [dx, dy])  # noqa: B023
            specs.append(AreaSpec(
                name=name, kind="admin", geometry=geom, population=pop, admin_level=10,
                osm_type="relation", osm_id=osm_id + k * 100_000_000, osm_name=name,
                source="tiled", credit="© OpenStreetMap contributors (ODbL 1.0)",
            ))  # fmt: skip
    store_specs(str(db), specs)
    return db


@pytest.fixture(scope="module")
def big_site(big_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bigsite")
    config = base / "site.toml"
    config.write_text(
        'title = "Every quarter"\nmaps = 3\n\n[[area_sets]]\nkind = "admin"\nadmin_level = 10\n',
        encoding="utf-8",
    )
    out = base / "site"
    r = invoke("site", "--config", str(config), "--out", str(out), "--tiles", "none", "-q",
               "--db", str(big_store))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return out


@pytest.mark.slow  # a 2,100-area site; the area set's choice: the next test, quick
def test_an_area_set_publishes_every_area_and_maps_only_the_busiest(big_site: Path) -> None:
    pages = sorted((big_site / "areas").glob("*.html"))
    assert len(pages) == 6 * COPIES
    with_map = [p for p in pages if 'class="map"' in p.read_text(encoding="utf-8")]
    assert len(with_map) == 3
    assert len(list((big_site / "maps").glob("*.html"))) == 3 + 1  # + the comparison map
    index = (big_site / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr>") == 100 + 1  # the first rows and the header; the rest by script
    assert '<script src="data/index-rows.js" defer></script>' in index
    rows = (big_site / "data" / "index-rows.js").read_text(encoding="utf-8")
    assert rows.startswith("window.CD_ROWS = [[[") and rows.count('"Larvotto (relation ') == COPIES
    # the maps went to the areas with the most cameras
    table = json.loads(rows.removeprefix("window.CD_ROWS = ").rstrip().removesuffix(";"))[0]
    cameras = {r[1]: r[3] for r in table}
    mapped = [cameras[f"areas/{p.name}"] for p in with_map]
    assert min(mapped) >= max(n for href, n in cameras.items()
                              if href not in {f"areas/{p.name}" for p in with_map})  # fmt: skip
    for page in pages[:50] + with_map:
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if not link.startswith(("http://", "https://", "data:", "#")):
                assert (page.parent / link.split("#")[0]).resolve().exists(), (page, link)


def test_a_config_area_set_may_be_narrowed_within_an_area(big_store: Path, tmp_path: Path) -> None:
    from mapper.site import _published, load_config

    config = tmp_path / "s.toml"
    config.write_text('[[area_sets]]\nkind = "admin"\nadmin_level = 10\n'
                      'within = "monaco_2023-12-26 (extent)"\n', encoding="utf-8")  # fmt: skip
    names = {a["name"] for a in _published(str(big_store), load_config(str(config)))}
    # the copies lie outside the extract's box; La Rousse reaches just north of it
    assert {n.split(" (relation")[0] for n in names} == {
        "Fontvieille", "La Condamine", "Larvotto", "Monaco-Ville", "Monte-Carlo",
    }  # fmt: skip
    assert len(names) == 5
    config.write_text("maps = -1\n", encoding="utf-8")
    r = invoke("site", "--config", str(config), "--out", str(tmp_path / "x"), "--db",
               str(big_store))  # fmt: skip
    assert r.exit_code == 1 and "'maps' must be zero or more" in r.stderr
    config.write_text('[[area_sets]]\nkind = "town"\n', encoding="utf-8")
    r = invoke("site", "--config", str(config), "--out", str(tmp_path / "x"), "--db",
               str(big_store))  # fmt: skip
    assert r.exit_code == 1 and "'kind' must be one of" in r.stderr


@pytest.mark.slow  # the demo site's table is sorted and filtered in Chromium by the quick tier
@pytest.mark.browser
def test_the_index_of_2100_areas_sorts_and_filters_from_file(big_site: Path) -> None:
    with browser() as b:
        page = b.new_page(viewport={"width": 1200, "height": 900})
        log = PageLog(page)
        page.goto((big_site / "index.html").as_uri(), wait_until="load")
        table = page.locator("table.sortable").first
        tools = page.locator(".table-tools").first
        status = tools.locator(".status")
        assert status.text_content() == "Rows 1–100 of 2,100"

        def names() -> list[str]:
            return [c.text_content() or "" for c in table.locator("tbody tr td:nth-child(1)").all()]

        def numbers(i: int) -> list[float]:
            cells = table.locator(f"tbody tr td:nth-child({i})").all()
            return [float(c.get_attribute("data-value") or "nan") for c in cells]

        # sort by cameras over all 2,100 rows, both ways, by mouse and by keyboard
        table.locator("th button", has_text="Cameras").click()
        most = numbers(3)
        assert len(most) == 100 and most == sorted(most, reverse=True)
        table.locator("th button", has_text="Cameras").focus()
        page.keyboard.press("Enter")
        least = numbers(3)
        assert least == sorted(least) and least[0] < most[0]
        # the last page holds the rest
        for _ in range(20):
            tools.locator("button.next").click()
        assert status.text_content() == "Rows 2,001–2,100 of 2,100"
        assert tools.locator("button.next").is_disabled()
        # sort by name, then filter by name (case and accents aside)
        table.locator("th button", has_text="Area").click()
        first = names()
        assert first == sorted(first, key=str.casefold) and first[0].startswith("Fontvieille")
        tools.locator("input.filter").fill("monaco-VILLE")
        assert status.text_content() == "Rows 1–100 of 350 (of 2,100)"
        assert all(n.startswith("Monaco-Ville (relation ") for n in names())
        tools.locator("input.filter").fill("LA CONDA")
        assert status.text_content() == "Rows 1–100 of 350 (of 2,100)"
        tools.locator("input.filter").fill("Fontviéille")  # accents aside, both ways
        assert status.text_content() == "Rows 1–100 of 350 (of 2,100)"
        tools.locator("input.filter").fill("fontvieille (relation 2220206)")
        assert names() == ["Fontvieille (relation 2220206)"]
        tools.locator("input.filter").fill("atlantis")
        assert status.text_content() == "No area matches" and names() == []
        tools.locator("input.filter").fill("")
        assert status.text_content() == "Rows 1–100 of 2,100"
        # the rows link to their pages
        href = table.locator("tbody tr td a").first.get_attribute("href") or ""
        assert (big_site / href).is_file()
        assert log.errors == [] and log.failed == []
        base = big_site.as_uri()
        outside = [u for u in log.requests if not u.startswith((base, "data:"))]
        assert outside == []
