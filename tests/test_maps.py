"""Maps rendered from the shipped data: structure, shared scale, privacy, escaping, browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapper.maps import class_edges, is_private
from tests.browser import PageLog, browser, zoom_to_cameras
from tests.conftest import ROOT, invoke

ARTIFACTS = ROOT / "build" / "test-artifacts"
HOSTILE = [
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    "</script><script>window.__pwned=1;alert(1)</script>",
    '"><svg onload=window.__pwned=1>',
    "javascript:window.__pwned=1",
    "{{ 7*7 }}${window.__pwned=1}",
]


def payloads(html: str) -> list[dict[str, Any]]:
    return [json.loads(m) for m in re.findall(r"var D = (\{.*?\});\n", html)]


def _map(db: Path, out: Path, *args: str) -> str:
    r = invoke("map", *args, "-o", str(out), "--db", str(db))
    assert r.exit_code == 0, r.stderr
    return out.read_text(encoding="utf-8")


def _grid_cells(db: Path, area: str, res: int) -> int:
    r = invoke("grid", area, "--res", str(res), "--format", "json", "--db", str(db))
    return len(json.loads(r.stdout)["cells"])


def _cameras(db: Path, area: str) -> tuple[int, int]:
    """(all cameras in the area, the ones a map may draw) from an independent query."""
    import duckdb
    import shapely

    con = duckdb.connect(str(db), read_only=True)
    wkb = con.execute("SELECT geometry FROM areas WHERE name = ?", [area]).fetchone()
    rows = con.execute("SELECT lon, lat, visibility, camera_type, tags FROM cameras").fetchall()
    con.close()
    assert wkb is not None
    geom = shapely.from_wkb(wkb[0])
    inside = [r for r in rows if geom.intersects(shapely.Point(r[0], r[1]))]
    public = [r for r in inside if not is_private({"visibility": r[2], "tags": r[4]})]
    return len(inside), len(public)


def test_one_area(areas_store: Path, tmp_path: Path) -> None:
    html = _map(areas_store, tmp_path / "z.html", "Zürich")
    [d] = payloads(html)
    assert len(d["hexes"]) == _grid_cells(areas_store, "Zürich", 9) == 969
    everything, public = _cameras(areas_store, "Zürich")
    assert len(d["cameras"]) == public < everything
    assert sum(h[1] for h in d["hexes"]) == everything  # private ones still counted
    assert "© OpenStreetMap contributors" in " ".join(d["attribution"])
    assert d["edges"] == sorted(d["edges"]) and len(d["colours"]) == len(d["edges"]) - 1
    assert any("not drawn" in n for n in d["notes"])
    assert "Fullscreen" in html or "fullscreen" in html


def test_show_private_draws_them(areas_store: Path, tmp_path: Path) -> None:
    [d] = payloads(_map(areas_store, tmp_path / "z.html", "Zürich", "--show-private"))
    assert len(d["cameras"]) == _cameras(areas_store, "Zürich")[0]


@pytest.mark.slow  # side by side: test_api's map files and test_site's compare page, quick
def test_two_and_five_areas_share_one_scale(areas_store: Path, tmp_path: Path) -> None:
    two = payloads(_map(areas_store, tmp_path / "2.html", "Zürich", "Genève"))
    assert len(two) == 2 and two[0]["edges"] == two[1]["edges"]
    assert two[0]["colours"] == two[1]["colours"]
    five_names = ["Zürich", "Bern", "Genève", "Lausanne", "Basel"]
    five = payloads(_map(areas_store, tmp_path / "5.html", *five_names, "--scheme", "jenks"))
    assert [d["title"] for d in five] == five_names
    assert all(d["edges"] == five[0]["edges"] for d in five)
    for d in five:
        assert len(d["hexes"]) == _grid_cells(areas_store, d["title"], 9)
        assert len(d["cameras"]) == _cameras(areas_store, d["title"])[1]
        assert any("Same bins" in n for n in d["notes"])
        assert re.match(r"\d+ cameras · [\d.]+ per km²", d["subtitle"][0])


@pytest.mark.parametrize("scheme", ["quantiles", "jenks", "equal", "log"])
def test_class_edges(scheme: str) -> None:
    values = [0, 0, 1, 2, 2, 3, 5, 8, 13, 21, 34, 55]
    edges = class_edges(values, scheme, 5)
    assert edges[0] == 1 and edges[-1] == 55
    assert edges == sorted(set(edges)) and 2 <= len(edges) <= 6
    assert class_edges([0, 0], scheme, 5) == []
    assert class_edges([4, 4, 4], scheme, 5) == [4, 4]


def _hostile_store(areas_store: Path, tmp_path: Path) -> Path:
    db = tmp_path / "hostile.duckdb"
    shutil.copy(areas_store, db)
    elements = []
    for i, p in enumerate(HOSTILE):
        elements.append({
            "type": "node", "id": 9_000_000_000 + i, "lat": 47.3900 + i * 0.0005, "lon": 8.5700,
            "tags": {"man_made": "surveillance", "surveillance": "public", "name": p,
                     "operator": p, "camera:direction": p, p: p},
        })  # fmt: skip
    f = tmp_path / "hostile.json"
    f.write_text(json.dumps(elements))
    assert invoke("ingest", "--db", str(db), str(f)).exit_code == 0
    return db


def test_hostile_values_are_data_not_markup(areas_store: Path, tmp_path: Path) -> None:
    db = _hostile_store(areas_store, tmp_path)
    html = _map(db, tmp_path / "h.html", "Zürich", "--tiles", "none")
    for p in HOSTILE:
        if any(ch in p for ch in "<>&'\""):
            assert p not in html  # markup never reaches the page verbatim: JSON-escaped
    assert "</script><script>window.__pwned" not in html
    [d] = payloads(html)
    assert {HOSTILE[0]} <= {v for c in d["cameras"] for _, v in c[6]}


@pytest.mark.browser
def test_in_chromium(areas_store: Path, tmp_path: Path) -> None:
    db = _hostile_store(areas_store, tmp_path)
    out = tmp_path / "z.html"
    [d] = payloads(_map(db, out, "Zürich", "--tiles", "none"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser() as b:
        page = b.new_page(viewport={"width": 1200, "height": 800})
        log = PageLog(page)
        page.goto(out.as_uri())
        page.wait_for_selector(".marker-cluster, .leaflet-interactive", timeout=15000)
        hexes = page.locator("path.leaflet-interactive").count()
        assert hexes >= 969
        assert page.locator(".marker-cluster").count() > 0
        # open every hostile camera's popup: zoom in and click the markers near them
        zoom_to_cameras(page, 47.3910, 8.5700, len(d["cameras"]))
        n, texts = page.evaluate(
            """() => {  // open each drawn camera's popup, as a click would
                const sel = "path.leaflet-interactive[stroke='#222']";
                const els = Array.from(document.querySelectorAll(sel));
                const out = [];
                for (const e of els) {
                    e.dispatchEvent(new MouseEvent("click", {bubbles: true}));
                    document.querySelectorAll(".cd-popup").forEach((p) => out.push(p.innerText));
                }
                return [els.length, out];
            }"""
        )
        page.screenshot(path=str(ARTIFACTS / "map-zurich.png"))
        assert page.evaluate("() => window.__pwned") is None
        assert log.dialogs == []
        assert log.errors == [], log.errors
        outside = [u for u in log.requests if not u.startswith(("file:", "data:", "blob:"))]
        assert outside == []
        assert n >= len(HOSTILE)
        for p in HOSTILE:  # each payload shows as text in a popup
            assert any(p in t for t in texts), (p, n, texts)


def test_safe_json_defeats_template_and_script_injection() -> None:
    from jinja2 import Template

    from mapper.maps import safe_json

    value = {"a": "{{ 7*7 }}{% if 1 %}x{% endif %}{# c #}</script>&'", "b": [1.5, None, True],
             "{{": {"{%": ["{#", "{{{", "}}"]}, "c": {}}  # fmt: skip
    text = safe_json(value)
    assert not re.search(r"[<>&']|\{[{%#]", text)
    assert Template(text).render() == text  # a second Jinja pass changes nothing
    assert json.loads(text) == value
    ssti = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    assert json.loads(Template(safe_json([ssti])).render()) == [ssti]


_TEXT = st.text(st.sampled_from(list("{}%#<>&'\"\\/ a\né😀")) | st.characters(), max_size=12)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_safe_json_of_any_value_is_the_value_and_no_tag_or_markup(value: Any) -> None:
    from jinja2 import Template

    from mapper.maps import safe_json

    text = safe_json(value)
    assert text.isascii() and not re.search(r"[<>&']|\{[{%#]", text)
    assert json.loads(text) == value
    assert Template(text).render() == text


def test_ten_thousand_cameras_fit_in_3_mb(tmp_path: Path) -> None:
    """The real Swiss cameras, five shifted copies (10,720), all drawn, inlined assets."""
    from tests.conftest import SWITZERLAND

    elements = json.loads(SWITZERLAND.read_text())
    tiled = [
        {**e, "id": e["id"] + k * 10**10, "lat": e["lat"] + 0.002 * k, "lon": e["lon"] + 0.002 * k}
        for k in range(5)
        for e in elements
    ]
    src = tmp_path / "tiled.json"
    src.write_text(json.dumps(tiled))
    box = {"type": "Polygon", "coordinates": [[[5.9, 45.8], [10.6, 45.8], [10.6, 47.9],
                                               [5.9, 47.9], [5.9, 45.8]]]}  # fmt: skip
    (tmp_path / "ch.geojson").write_text(json.dumps(box))
    db = tmp_path / "t.duckdb"
    assert invoke("ingest", "--db", str(db), str(src)).exit_code == 0
    assert (
        invoke(
            "area", "add", "CH", "--boundary", str(tmp_path / "ch.geojson"), "--db", str(db)
        ).exit_code
        == 0
    )
    out = tmp_path / "m.html"
    html = _map(db, out, "CH", "--show-private")
    [d] = payloads(html)
    assert len(d["cameras"]) == 10_720
    assert out.stat().st_size <= 3 * 1024 * 1024
