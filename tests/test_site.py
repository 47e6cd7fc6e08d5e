"""The static site: the demo config built from a fresh store, checked as files and in Chromium."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from mapper.assets import remote_references
from mapper.site import safe_href, slug
from tests.browser import PageLog, browser
from tests.conftest import MONACO, ROOT, invoke

DEMO = ROOT / "examples" / "demo.toml"
ARTIFACTS = ROOT / "build" / "test-artifacts"
LINK = re.compile(r"""(?:href|src)\s*=\s*"([^"]+)\"""")


#: Full pages (a map and downloads) in the quick tier's demo site: the five compared cities
#: and the busiest areas. The demo's own setting (every area) is built by the slow tier.
QUICK_MAPS = 8


def _build_demo(base: Path, maps: int | None) -> Path:
    """The demo config built into a fresh store; ``maps``: its ``maps`` setting changed (a
    copy of the config, its paths made absolute)."""
    config = DEMO
    if maps is not None:
        text = DEMO.read_text(encoding="utf-8").replace('"../', f'"{ROOT.as_posix()}/')
        assert '"..' not in text
        head, sep, rest = text.partition("\n\n")  # the comment and the title, then the rest
        config = base / "demo.toml"
        config.write_text(f"{head}\nmaps = {maps}{sep}{rest}", encoding="utf-8")
    out = base / "site"
    r = invoke("site", "--config", str(config), "--out", str(out), "--tiles", "none", "--db",
               str(base / "demo.duckdb"))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_demo(tmp_path_factory.mktemp("site"), QUICK_MAPS)


@pytest.fixture(scope="session")
def full_demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo exactly as ``make demo`` builds it (every area with its map)."""
    return _build_demo(tmp_path_factory.mktemp("site-full"), None)


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_pages_exist(demo_site: Path) -> None:
    for name in ("index.html", "compare.html", "about.html"):
        assert (demo_site / name).is_file()
    areas = sorted((demo_site / "areas").glob("*.html"))
    assert len(areas) == 5 + 4 + 34 + 25  # Swiss cities, extracts, Zürich quarters, wards
    maps = {p.stem for p in (demo_site / "maps").glob("*.html")} - {"compare"}
    assert QUICK_MAPS <= len(maps) <= QUICK_MAPS + 5  # the busiest, and the compared ones
    assert {slug(n) for n in ("Zürich", "Bern", "Genève", "Lausanne", "Basel")} <= maps
    for a in areas:  # a full page links its map; the others say they have none
        assert (f'src="../maps/{a.stem}.html"' in a.read_text(encoding="utf-8")) == (a.stem in maps)
    index = (demo_site / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr>") == 1 + 9 + 1 + 59  # two tables with their header rows
    for name in ("Zürich", "Genève", "Munich old town (extract)", "Monaco (extract)"):
        assert f">{name}</a>" in index


def test_every_link_resolves_and_stays_relative(demo_site: Path) -> None:
    for page in _pages(demo_site):
        html = page.read_text(encoding="utf-8")
        assert remote_references(html) == [], page
        assert "© OpenStreetMap contributors" in html, page
        for ref in LINK.findall(html):
            url = urlparse(ref)
            if ref == "data:,":  # the empty favicon: no request at all
                continue
            if url.scheme in ("http", "https"):
                assert ref.startswith("https://www.openstreetmap.org/"), (page, ref)
                continue
            assert not url.scheme and not ref.startswith("/"), (page, ref)
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_file() and demo_site.resolve() in target.parents, (page, ref)


def test_downloads_hold_the_public_cameras(demo_site: Path) -> None:
    folder = demo_site / "data" / slug("Zürich")
    doc = json.loads((folder / "cameras.geojson").read_text(encoding="utf-8"))
    assert doc["license"] == "ODbL-1.0" and doc["area"] == "Zürich"
    assert not {f["properties"]["visibility"] for f in doc["features"]} & {"indoor", "other"}
    page = (demo_site / "maps" / f"{slug('Zürich')}.html").read_text(encoding="utf-8")
    [payload] = [json.loads(m) for m in re.findall(r"var D = (\{.*?\});\n", page)]
    assert len(doc["features"]) == len(payload["cameras"])
    grid = json.loads((folder / "grid.geojson").read_text(encoding="utf-8"))
    assert len(grid["features"]) == len(payload["hexes"])
    csv_lines = (folder / "cameras.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 1 + len(doc["features"])


@pytest.mark.slow  # two fresh stores, two builds
def test_build_is_deterministic(tmp_path: Path) -> None:
    cfg = tmp_path / "small.toml"
    samples = ROOT / "data" / "samples"
    cfg.write_text(f"""
title = "Two cities"
[[inputs]]
path = "{samples / "osm" / "switzerland_surveillance_overpass_2023.json"}"
snapshot = "2023-06-14"
[[areas]]
name = "Basel"
boundary = "{samples / "boundaries" / "basel.geojson"}"
[[areas]]
name = "Genève"
boundary = "{samples / "boundaries" / "geneva.geojson"}"
""")
    outs = []
    for i in range(2):  # two fresh stores, two builds
        out = tmp_path / f"site{i}"
        r = invoke(
            "site", "--config", str(cfg), "--out", str(out), "--db", str(tmp_path / f"{i}.duckdb")
        )
        assert r.exit_code == 0, r.stderr
        outs.append(out)
    files = [sorted(p.relative_to(o) for p in o.rglob("*") if p.is_file()) for o in outs]
    assert files[0] == files[1] and len(files[0]) > 20
    for rel in files[0]:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_rebuild_replaces_the_previous_site(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"  # one extract, one area: what is replaced is the same for any
    assert invoke("ingest", "--db", str(db), str(MONACO)).exit_code == 0
    out = tmp_path / "site"
    assert invoke("site", "--out", str(out), "--db", str(db)).exit_code == 0
    (out / "stale.txt").write_text("from an older build")
    assert invoke("site", "--out", str(out), "--db", str(db)).exit_code == 0
    assert not (out / "stale.txt").exists() and (out / "index.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")]


@pytest.mark.parametrize(
    "content, message",
    [
        ("title = ", "not a valid TOML config"),
        ("colour = 'red'", "unknown setting(s) colour"),
        ("[[areas]]\nname = 'X'", "'boundary' is missing"),
        ("[[inputs]]\npath = 'nope.osm.pbf'", "nope.osm.pbf: no such file"),
    ],
)
def test_bad_configs(content: str, message: str, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(content)
    r = invoke(
        "site",
        "--config",
        str(cfg),
        "--out",
        str(tmp_path / "o"),
        "--db",
        str(tmp_path / "s.duckdb"),
    )
    assert r.exit_code == 1
    assert (
        r.stderr.startswith("Error: ") and message in r.stderr and len(r.stderr.splitlines()) == 1
    )
    assert not (tmp_path / "o").exists()


def test_slugs_are_safe_and_distinct() -> None:
    names = ["../../etc/passwd", "CON", "con", "a/b\\c", "x" * 300, "Zürich", "zürich", "", " "]
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    for s in slugs:
        assert re.fullmatch(r"[a-z0-9-]{1,70}", s), s
        assert not s.startswith(("con-", "-")) or s.startswith("con-") is False
    assert slug("CON").startswith("area-con-")


def test_only_http_links_from_data() -> None:
    assert safe_href("https://example.org/a") == "https://example.org/a"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "ftp://x", "", None):
        assert safe_href(bad) is None


@contextmanager
def _serve(site: Path, root: Path) -> Iterator[str]:
    """``site`` under a sub-path of a local HTTP server on 127.0.0.1 (files linked in
    ``root``)."""
    (root / "sub" / "path").mkdir(parents=True)
    (root / "sub" / "path" / "site").symlink_to(site, target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sub/path/site/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(demo_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(demo_site, tmp_path_factory.mktemp("www")) as base:
        yield base


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


#: A page of each kind: the overview, comparison, about and changes pages, and the page of
#: an area of each group (a city, an extract, a Zürich quarter, a City of London ward),
#: with its map or without one (test_pages_exist checks which).
EACH_KIND = ["index.html", "compare.html", "about.html", "changes.html"] + [
    f"areas/{slug(n)}.html" for n in ("Zürich", "Monaco (extract)", "Altstetten", "Aldgate")
]


def _site_pages(site: Path) -> list[str]:
    every = [p.relative_to(site).as_posix() for p in _pages(site)]
    return [p for p in every if not p.startswith(("maps/", "assets/"))]


def _in_chromium(demo_site: Path, base: str, pages: list[str]) -> None:
    """Each page (and its map) loads from ``base`` without an error, a failed request or a
    request outside the site."""
    with browser() as b:
        page = b.new_page(viewport={"width": 1100, "height": 900})
        log = PageLog(page)
        for rel in pages:
            page.goto(urljoin(base, rel), wait_until="load")
            if page.locator("iframe.map").count():  # an area page with its map, compare
                frame = page.frame_locator("iframe.map")
                frame.locator("path.leaflet-interactive").first.wait_for(timeout=20000)
        assert log.errors == [], log.errors[:5]
        assert log.failed == [], log.failed[:5]
        # a request cut off by leaving its page must still name a file of the site
        assert all(u.startswith(base) for u in log.aborted), log.aborted[:5]
        rels = [unquote(u[len(base) :].split("?")[0].split("#")[0]) for u in log.aborted]
        gone = [r for r in rels if not (demo_site / r).is_file()]
        assert gone == [], gone[:5]
        outside = [u for u in log.requests if not u.startswith((base, "data:", "blob:"))]
        assert outside == [], outside[:5]


@pytest.mark.browser
@pytest.mark.parametrize("how", ["file", "http"])
def test_each_kind_of_page_in_chromium(demo_site: Path, served: str, how: str) -> None:
    """The quick tier's share of the next test: every template, from file:// and over HTTP."""
    assert set(EACH_KIND) <= set(_site_pages(demo_site))
    _in_chromium(demo_site, demo_site.as_uri() + "/" if how == "file" else served, EACH_KIND)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("how", ["file", "http"])
def test_every_page_in_chromium(full_demo_site: Path, how: str, tmp_path: Path) -> None:
    """Every page of the demo as ``make demo`` builds it, every area with its map."""
    assert len(list((full_demo_site / "maps").glob("*.html"))) == 68 + 1  # and compare
    if how == "file":
        _in_chromium(full_demo_site, full_demo_site.as_uri() + "/", _site_pages(full_demo_site))
        return
    with _serve(full_demo_site, tmp_path) as base:
        _in_chromium(full_demo_site, base, _site_pages(full_demo_site))


@pytest.mark.browser
def test_table_sorts_by_mouse_and_keyboard_and_maps_have_hexagons(demo_site: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser() as b:
        page = b.new_page(viewport={"width": 1100, "height": 900})
        page.goto((demo_site / "index.html").as_uri())
        table = page.locator("table.sortable").first

        def column(i: int) -> list[float]:
            cells = table.locator(f"tbody tr td:nth-child({i})")
            return [float(c.get_attribute("data-value") or "nan") for c in cells.all()]

        initial = column(5)  # per km², sorted descending as built
        assert initial == sorted(initial, reverse=True)
        table.locator("th button", has_text="Cameras").click()
        first = column(3)
        assert first == sorted(first, reverse=True)
        table.locator("th button", has_text="Cameras").click()
        assert column(3) == sorted(first)
        table.locator("th button", has_text="km²").first.focus()
        page.keyboard.press("Enter")
        by_area = column(4)
        assert by_area == sorted(by_area, reverse=True)
        page.keyboard.press(" ")
        assert column(4) == sorted(by_area)
        assert table.locator("th[aria-sort='ascending']").count() == 1
        page.screenshot(path=str(ARTIFACTS / "site-index.png"))
        page.goto((demo_site / "compare.html").as_uri())
        frame = page.frame_locator("iframe.map")
        frame.locator("path.leaflet-interactive").first.wait_for(timeout=20000)
        assert frame.locator(".cd-title").count() == 5
        assert frame.locator("path.leaflet-interactive").count() > 1000
        page.screenshot(path=str(ARTIFACTS / "site-compare.png"))
