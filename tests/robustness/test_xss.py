"""Hostile text in a real browser (issue 9, part 3).

Every payload of :mod:`tests.robustness.payloads` goes into every tag that reaches a page
(name, operator, surveillance, surveillance:type, camera:type, surveillance:zone,
camera:mount, camera:direction, website, image, description, and as a tag key), into area
names (``camdensity area add``), boundary credits and population sources, input file names,
a published count's source link, and site titles (``title`` of a site config). The site and
standalone maps are built with the CLI and opened in Chromium from ``file://``: no payload
runs (``window.__pwned`` stays unset in every frame, no dialog opens, no element carries an
event handler, nothing is requested), every link uses http(s) or is relative, and each
payload shows as exactly its text where it appears (popups opened one by one, the index
table, page titles and headings, map titles).

Area names hold at most 300 printable characters and titles at most 200, so both carry the
payloads in groups (each group one name or title).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, shape

from mapper.maps import FIELDS, MAX_VALUE_CHARS
from mapper.site import slug
from mapper.tags import KINDS, VISIBILITIES, normalise
from tests.browser import PageLog, browser, zoom_to_cameras
from tests.conftest import BOUNDARIES, invoke, map_payloads
from tests.robustness.payloads import (
    PAYLOADS,
    SSTI,
    usable_as_file_name,
    usable_as_name,
)

MAIN = "Basel centre"
MAIN_BOX = (7.5860, 47.5580, 7.5900, 47.5610)
CENTRE = (47.5595, 7.5880)  # lat, lon: the hostile cameras sit around it, ~60 m across
TAG_KEYS = (
    "name", "operator", "surveillance:type", "camera:type", "surveillance:zone",
    "camera:mount", "camera:direction", "website", "image", "description",
)  # fmt: skip


def _groups(items: list[str], limit: int) -> list[str]:
    """Join items with a space into as few strings of at most ``limit`` characters."""
    out: list[str] = []
    for p in items:
        if out and len(out[-1]) + 1 + len(p) <= limit:
            out[-1] += " " + p
        else:
            out.append(p)
    return out


NAMES = _groups([p for p in PAYLOADS if usable_as_name(p)], 300)
TITLES = _groups([p for p in PAYLOADS if all(ord(c) >= 32 for c in p) and p.strip()], 200)
FILE_NAMES = [p for p in PAYLOADS if usable_as_file_name(p)]
COMPARE = [MAIN, *NAMES[:3]]
BAD_SOURCE = "javascript:window.__pwned=1"


def test_corpus() -> None:
    assert len(PAYLOADS) >= 30 and len(set(PAYLOADS)) == len(PAYLOADS)
    assert sum("__pwned" in p for p in PAYLOADS) >= 30 and SSTI in PAYLOADS
    assert all(len(p) < MAX_VALUE_CHARS for p in PAYLOADS)
    names = " ".join(NAMES)
    assert all(p in names for p in PAYLOADS if usable_as_name(p))
    assert all(usable_as_name(n) for n in NAMES) and all(len(t) <= 200 for t in TITLES)


# ----------------------------------------------------------------------------- build
def hostile_elements() -> list[dict[str, Any]]:
    """Two cameras per payload: a public one with the payload in every tag and as a key, and
    one whose ``surveillance`` value is the payload (private: drawn with --show-private)."""
    out = []
    for i, p in enumerate(PAYLOADS):
        public = {"man_made": "surveillance", "surveillance": "public",
                  **dict.fromkeys(TAG_KEYS, p), p: p}  # fmt: skip
        private = {"man_made": "surveillance", "surveillance": p, "name": p}
        for j, tags in enumerate((public, private)):
            n = 2 * i + j
            lat = CENTRE[0] + (n // 12 - 5) * 0.00005
            lon = CENTRE[1] + (n % 12 - 6) * 0.00007
            out.append({"type": "node", "id": 1 + n, "lat": lat, "lon": lon, "tags": tags})
    return out


def toml_str(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _feature_file(path: Path, geom: Any, props: dict[str, Any]) -> Path:
    feature = {"type": "Feature", "properties": props, "geometry": geom.__geo_interface__}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def _ok(*args: str) -> None:
    r = invoke(*args)
    assert r.exit_code == 0, (args[:2], r.stderr)


@dataclass
class Hostile:
    db: Path
    site: Path
    maps: Path
    boundaries: dict[str, Path]


def _site(folder: Path, db: Path, title: str, areas: list[tuple[str, Path]],
          compare: list[str]) -> Path:  # fmt: skip
    cfg = folder / "site.toml"
    lines = [f"title = {toml_str(title)}", f"compare = [{', '.join(map(toml_str, compare))}]"]
    for name, boundary in areas:
        lines += ["[[areas]]", f"name = {toml_str(name)}", f"boundary = {toml_str(str(boundary))}"]
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "site"
    _ok("site", "--config", str(cfg), "--out", str(out), "--tiles", "none", "--db", str(db))
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    base = tmp_path_factory.mktemp("xss")
    db = base / "hostile.duckdb"
    basel = shape(json.loads((BOUNDARIES / "basel.geojson").read_text())["features"][0]["geometry"])
    bounds = {MAIN: _feature_file(base / "main.geojson", box(*MAIN_BOX), {"license": "test box"})}
    for k, name in enumerate(NAMES):  # ~25 m boxes south-west of the cameras
        w, s = 7.5800 + (k % 6) * 0.0008, 47.5520 + (k // 6) * 0.0008
        geom = box(w, s, w + 0.0003, s + 0.0003)
        assert basel.contains(geom)
        props = {"license": name, "population_source": name, "population": 1000 + k}
        bounds[name] = _feature_file(base / f"name{k}.geojson", geom, props)
    cams = base / "cameras.json"
    cams.write_text(json.dumps({"version": 0.6, "elements": hostile_elements()}))
    named = base / "named"
    named.mkdir()
    files = []
    for k, p in enumerate(FILE_NAMES):  # input files named after payloads (about page)
        f = named / f"{p}.json"
        e = {"type": "node", "id": 10_000 + k, "lat": 47.5400, "lon": 7.6000 + k * 1e-4,
             "tags": {"man_made": "surveillance"}}  # fmt: skip
        f.write_text(json.dumps([e]))
        files.append(str(f))
    _ok("ingest", "--db", str(db), str(cams), *files)
    for name, boundary in bounds.items():
        _ok("area", "add", "--boundary", str(boundary), "--db", str(db), name)
    _ok("area", "set", "--reported", "7", "--reported-source", BAD_SOURCE, "--db", str(db),
        NAMES[0])  # fmt: skip
    _ok("area", "set", "--reported", "9", "--reported-source", "https://example.org/count",
        "--db", str(db), NAMES[1])  # fmt: skip
    (base / "main").mkdir()
    site = _site(base / "main", db, TITLES[0], list(bounds.items()), COMPARE)
    maps = base / "maps"
    maps.mkdir()
    _ok("map", MAIN, "--show-private", "--tiles", "none", "-o", str(maps / "cameras.html"),
        "--db", str(db))  # fmt: skip
    _ok("map", NAMES[0], NAMES[1], "--tiles", "none", "-o", str(maps / "dual.html"),
        "--db", str(db))  # fmt: skip
    _ok("map", *NAMES[2:5], "--tiles", "none", "-o", str(maps / "grid.html"), "--db", str(db))
    return Hostile(db, site, maps, bounds)


# ----------------------------------------------------------------------------- expectations
def clip(v: str) -> str:
    return v if len(v) <= MAX_VALUE_CHARS else v[: MAX_VALUE_CHARS - 1] + "…"


def popup_rows(tags: dict[str, str]) -> tuple[list[list[str]], list[list[str]]]:
    """What a camera's popup must show: normalised fields, then the raw tags, as text."""
    n = normalise(tags)
    dirs = "; ".join(f"{a:g}-{b:g}" if a != b else f"{a:g}" for a, b in n.directions)
    values = dict(zip(FIELDS, [n.visibility, n.camera_type, n.zone, n.mount, n.operator, dirs],
                      strict=True))  # fmt: skip
    fields = [["kind", n.kind]] + [[k, clip(v)] for k, v in values.items() if v]
    return fields, [[k, clip(v)] for k, v in sorted(tags.items())]


# ----------------------------------------------------------------------------- browser
STATE_JS = """() => {
  const URL_ATTRIBUTES = ["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc",
                          "poster", "background", "ping"];
  const links = [], handlers = [];
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const n = a.name.toLowerCase();
      if (n.startsWith("on")) { handlers.push(el.tagName + " " + n); }
      if (URL_ATTRIBUTES.includes(n)) { links.push([el.tagName.toLowerCase(), n, a.value]); }
    }
  }
  const odd = Array.from(document.querySelectorAll(
    "base, object, embed, math, marquee, video, audio, xmp, form, textarea, img, frame, " +
    "frameset, meta[http-equiv=refresh i], iframe:not(.map), svg script, svg a, svg animate, " +
    "svg foreignObject, details[ontoggle], template")).map((e) => e.outerHTML.slice(0, 80));
  const title = document.querySelector("title");
  return {pwned: window.__pwned, handlers: handlers, links: links, odd: odd,
          title: title ? title.textContent : null};
}"""

#: Click each drawn marker as a user would (once :func:`zoom_to_cameras` has zoomed to them:
#: no clustering from zoom 18). A popup that pans the map makes the cluster layer redraw its
#: markers (new elements), so auto-pan is turned off and the markers are looked up afresh
#: before each click.
POPUPS_JS = """() => {
  const maps = Object.keys(window).filter((k) => k.startsWith("map_") && window[k] &&
                                                 window[k].setView).map((k) => window[k]);
  const rows = (t) => Array.from(t.rows).map((r) => Array.from(r.cells).map((c) => c.textContent));
  const sel = "path.leaflet-interactive[stroke='#222']";
  const layer = (el) => maps.map((m) => m._targets[L.stamp(el)]).find((l) => l);
  const out = [], done = new Set();
  const markers = document.querySelectorAll(sel).length;
  for (let i = 0; i < markers; i++) {
    const el = Array.from(document.querySelectorAll(sel)).find((e) => !done.has(layer(e)));
    if (!el) { break; }
    const popup = layer(el).getPopup();
    done.add(layer(el));
    popup.options.autoPan = false;
    const box = el.getBoundingClientRect();
    el.dispatchEvent(new MouseEvent("click", {bubbles: true, clientX: box.x + box.width / 2,
                                              clientY: box.y + box.height / 2}));
    const p = popup.isOpen() ? popup.getElement().querySelector(".cd-popup") : null;
    if (!p) { continue; }
    const t = p.querySelectorAll("table");
    const links = Array.from(p.querySelectorAll("[href]")).map((a) => a.getAttribute("href"));
    out.push({fields: rows(t[0]), tags: rows(t[1]), links: links});
  }
  return {markers: markers, popups: out, pwned: window.__pwned};
}"""

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def bad_links(links: list[list[str]]) -> list[list[str]]:
    """Links whose scheme (as a browser reads it: tabs and newlines removed, ends trimmed) is
    not http(s); relative links are fine, and so is the site's empty ``data:,`` icon."""
    bad = []
    for tag, attr, value in links:
        v = re.sub(r"[\t\n\r]", "", value).strip("\x00 \x0c")
        m = _SCHEME.match(v)
        if m is None or m.group(1).lower() in ("http", "https"):
            continue
        if (tag, attr, v) == ("link", "href", "data:,"):
            continue
        bad.append([tag, attr, value])
    return bad


@dataclass
class Tab:
    page: Any
    log: PageLog


@pytest.fixture
def tab() -> Iterator[Tab]:
    with browser() as b:
        page = b.new_page(viewport={"width": 1200, "height": 900})
        yield Tab(page, PageLog(page))


def visit(tab: Tab, path: Path, frame_ready: bool = False) -> None:
    """Open ``path`` and return once every frame has loaded (an element's ``onerror`` fires
    before its document's load event) and the tasks queued by then (``onbegin``) have run."""
    tab.page.goto(path.as_uri(), wait_until="load")
    if frame_ready:
        tab.page.frame_locator("iframe.map").locator(".cd-title").first.wait_for(timeout=30000)
    for f in tab.page.frames:
        f.wait_for_load_state("load")
        f.evaluate("() => new Promise((r) => setTimeout(r, 0))")


def check_frames(tab: Tab) -> dict[str, Any]:
    """No payload ran or became markup in any frame; returns the top frame's state."""
    states = []
    for f in tab.page.frames:
        s = f.evaluate(STATE_JS)
        assert s["pwned"] is None, f.url
        assert s["handlers"] == [], (f.url, s["handlers"][:5])
        assert bad_links(s["links"]) == [], (f.url, bad_links(s["links"])[:5])
        assert s["odd"] == [], (f.url, s["odd"][:5])
        states.append(s)
    assert tab.log.dialogs == [], tab.log.dialogs
    assert tab.log.errors == [], tab.log.errors[:5]
    outside = [u for u in tab.log.requests if not u.startswith(("file:", "data:", "blob:"))]
    assert outside == [], outside[:5]
    return states[0]


def map_frame(tab: Tab, href: str) -> Any:
    [frame] = [f for f in tab.page.frames if f.url.endswith(href)]
    return frame


def map_titles(frame: Any) -> list[str]:
    js = "() => Array.from(document.querySelectorAll('.cd-title b')).map((b) => b.textContent)"
    return list(frame.evaluate(js))


def check_popups(frame: Any, expected: dict[int, dict[str, str]]) -> None:
    """Open every drawn camera's popup: each shows its fields and raw tags as exact text."""
    total = sum(len(d["cameras"]) for d in map_payloads(frame.content()))
    zoom_to_cameras(frame, CENTRE[0], CENTRE[1], total)
    r = frame.evaluate(POPUPS_JS)
    assert r["pwned"] is None
    assert r["markers"] == len(r["popups"]) == len(expected)
    seen: dict[int, dict[str, Any]] = {}
    for p in r["popups"]:
        [link] = p["links"]  # the one link: the element on openstreetmap.org
        m = re.fullmatch(r"https://www\.openstreetmap\.org/node/([0-9]+)", link)
        assert m, link
        seen[int(m.group(1))] = p
    assert set(seen) == set(expected)
    for i, tags in expected.items():
        fields, tag_rows = popup_rows(tags)
        assert seen[i]["fields"] == fields, (i, seen[i]["fields"], fields)
        assert seen[i]["tags"] == tag_rows, (i, seen[i]["tags"], tag_rows)
    ssti = [p for p in seen.values() if ["name", SSTI] in p["tags"]]
    assert any(["operator", SSTI] in p["fields"] for p in ssti)  # never "49"


def _text(tab: Tab, selector: str) -> list[str]:
    return list(tab.page.eval_on_selector_all(selector, "els => els.map((e) => e.textContent)"))


def _cameras(public_only: bool) -> dict[int, dict[str, str]]:
    return {e["id"]: e["tags"] for e in hostile_elements()
            if not public_only or e["tags"]["surveillance"] == "public"}  # fmt: skip


# ----------------------------------------------------------------------------- tests
@pytest.mark.browser
def test_site_index_about_compare(hostile: Hostile, tab: Tab) -> None:
    title = TITLES[0]
    visit(tab, hostile.site / "index.html")
    assert check_frames(tab)["title"] == f"Overview · {title}"
    assert _text(tab, "a.brand") == [title] and _text(tab, "h1") == [title]
    rows = tab.page.eval_on_selector_all(
        "table.sortable tbody tr td:first-child a",
        "els => els.map((e) => [e.textContent, e.getAttribute('href')])",
    )
    assert sorted(rows) == sorted([n, f"areas/{slug(n)}.html"] for n in [MAIN, *NAMES])

    visit(tab, hostile.site / "about.html")
    assert check_frames(tab)["title"] == f"About · {title}"
    items = _text(tab, "main li")
    for name in NAMES:  # boundary credit and population source, both the name
        assert any(i.startswith(f"{name}: {name};") and i.endswith(f"population: {name}")
                   for i in items), name  # fmt: skip
    assert {f"{p}.json" for p in FILE_NAMES} <= set(_text(tab, "main li code"))

    visit(tab, hostile.site / "compare.html", frame_ready=True)
    assert check_frames(tab)["title"] == f"Compare · {title}"
    assert map_titles(map_frame(tab, "maps/compare.html")) == COMPARE


@pytest.mark.slow  # the titles' index, about and compare pages: in the quick tier
@pytest.mark.browser
def test_site_area_pages(hostile: Hostile, tab: Tab) -> None:
    title = TITLES[0]
    for name in [MAIN, *NAMES]:
        s = slug(name)
        visit(tab, hostile.site / "areas" / f"{s}.html", frame_ready=True)
        assert check_frames(tab)["title"] == f"{name} · {title}"
        assert _text(tab, "main h1") == [name]
        assert tab.page.get_attribute("iframe.map", "title") == f"Map of {name}"
        frame = map_frame(tab, f"maps/{s}.html")
        assert map_titles(frame) == [name]
        notes = " ".join(_text(tab, "p.note"))
        credit = name if name != MAIN else "test box"
        assert f"Boundary: {credit}." in notes
        if name != MAIN:
            assert f"Population: {name}." in notes
        links = tab.page.eval_on_selector_all("a", "els => els.map((e) => e.getAttribute('href'))")
        if name == NAMES[0]:  # a javascript: source is no link
            assert f"A published count of 7 (source: {BAD_SOURCE})" in " ".join(notes.split())
            assert "None" not in links
        if name == NAMES[1]:
            assert "https://example.org/count" in links
        if name == MAIN:
            check_popups(frame, _cameras(public_only=True))
            check_frames(tab)
            zones = {z for t in _cameras(False).values() if (z := normalise(t).zone)}
            labels = {t for t in _text(tab, "figure svg text") if not t.endswith(" %")}
            allowed = {*KINDS, *VISIBILITIES, "none"} | {z.replace("\x00", "") for z in zones}
            assert labels <= allowed | zones | {z.replace("\x00", "\ufffd") for z in zones}
            assert labels & (zones | {z.replace("\x00", "") for z in zones})


@pytest.mark.browser
def test_standalone_maps(hostile: Hostile, tab: Tab) -> None:
    visit(tab, hostile.maps / "cameras.html")
    tab.page.wait_for_selector(".cd-title", timeout=30000)
    check_frames(tab)
    check_popups(tab.page.main_frame, _cameras(public_only=False))  # --show-private
    check_frames(tab)
    for file, names in (("dual.html", NAMES[:2]), ("grid.html", NAMES[2:5])):
        visit(tab, hostile.maps / file)
        tab.page.wait_for_selector(".cd-title", timeout=30000)
        check_frames(tab)
        assert map_titles(tab.page.main_frame) == names


@pytest.mark.slow  # the quick tier has TITLES[0], the main site's (test_site_index_about_compare)
@pytest.mark.browser
def test_site_titles(hostile: Hostile, tab: Tab, tmp_path: Path) -> None:
    """Every title: one small site per further title."""
    sites = [(TITLES[0], hostile.site)]
    for k, title in enumerate(TITLES[1:], start=1):
        (tmp_path / f"title{k}").mkdir()
        area = [(NAMES[-1], hostile.boundaries[NAMES[-1]])]
        sites.append((title, _site(tmp_path / f"title{k}", hostile.db, title, area, [])))
    for title, site in sites:
        visit(tab, site / "index.html")
        assert check_frames(tab)["title"] == f"Overview · {title}"
        assert _text(tab, "a.brand") == [title] and _text(tab, "h1") == [title]
        visit(tab, site / "about.html")
        assert check_frames(tab)["title"] == f"About · {title}"
