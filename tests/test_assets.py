"""Vendored map assets: every CDN link folium makes is replaced, inlined or linked; none leaks."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import branca.colormap as cm
import folium
import folium.folium
import pytest
from branca.element import CssLink, Element, Figure, JavascriptLink
from folium.plugins import (
    DualMap,
    FastMarkerCluster,
    FeatureGroupSubGroup,
    Fullscreen,
    MarkerCluster,
    MiniMap,
)

from mapper.assets import (
    ICON_LIBRARIES,
    AssetError,
    copy_assets,
    libraries,
    localise,
    remote_references,
    use_local_assets,
    vendor_dir,
    vendored_packages,
)
from tests.browser import PageLog, browser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "web" / "README.md"
TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
ZURICH = (47.3769, 8.5417)
SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Altstadt", "cameras": 12},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[8.53, 47.37], [8.55, 47.37], [8.55, 47.38], [8.53, 47.37]]],
            },
        }
    ],
}


def _populate(m: Any, *, icons: bool = True) -> None:
    """Layers like the project's maps: clusters, sub-groups, GeoJSON, legend, controls."""
    cluster = MarkerCluster(name="cameras").add_to(m)
    for i in range(30):
        lat, lon = ZURICH[0] + (i % 6) * 4e-4, ZURICH[1] + (i // 6) * 4e-4
        folium.Marker([lat, lon], popup=f"camera {i}").add_to(cluster)
    sub = FeatureGroupSubGroup(cluster, name="ALPR").add_to(m)
    folium.Marker([ZURICH[0] - 0.01, ZURICH[1]], popup="alpr").add_to(sub)
    if icons:  # outside the cluster, so that their fonts load at once
        folium.Marker(
            [ZURICH[0] + 0.01, ZURICH[1]], icon=folium.Icon(color="red", icon="camera", prefix="fa")
        ).add_to(m)
        folium.Marker([ZURICH[0] + 0.01, ZURICH[1] + 0.01], icon=folium.Icon()).add_to(m)
        folium.Marker(
            [ZURICH[0] + 0.01, ZURICH[1] - 0.01],
            icon=folium.Icon(icon="eye", prefix="fa", angle=45),
        ).add_to(m)
    folium.Marker([ZURICH[0] - 0.005, ZURICH[1] - 0.005], tooltip="plain").add_to(m)
    folium.GeoJson(
        SQUARE, name="hexagons", tooltip=folium.GeoJsonTooltip(["name", "cameras"])
    ).add_to(m)
    cm.StepColormap(
        ["#ffeeee", "#ff8888", "#cc0000"], vmin=0, vmax=30, index=[0, 10, 20, 30], caption="per km²"
    ).add_to(m)
    Fullscreen().add_to(m)
    folium.LayerControl().add_to(m)


def _no_tiles(tiles: str | None) -> dict[str, Any]:
    # without a tile layer the map has no maxZoom, which Leaflet.markercluster needs
    return {} if tiles else {"maxZoom": 18}


def _map(tiles: str | None = "OpenStreetMap", **kwargs: Any) -> folium.Map:
    m = folium.Map(location=ZURICH, zoom_start=14, tiles=tiles, **_no_tiles(tiles))
    _populate(m, **kwargs)
    return m


def _dual_map(tiles: str | None = "OpenStreetMap") -> DualMap:
    m = DualMap(location=ZURICH, zoom_start=14, tiles=tiles, **_no_tiles(tiles))
    _populate(m.m1)
    _populate(m.m2, icons=False)
    folium.LayerControl().add_to(m)
    return m


def _assert_self_contained(page: str) -> None:
    assert remote_references(page) == []
    assert not re.search(r"<script[^>]*\ssrc=", page, re.I)
    assert not re.search(r"<link[^>]*\shref=", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    # every url() left in a stylesheet is a data: URI (or leaflet.css's VML behaviour)
    refs = re.findall(r"url\(\s*['\"]?([^'\")]{0,12})", page)
    assert refs and all(r.startswith(("data:", "#default#VML")) for r in refs), set(refs)


# ---------------------------------------------------------------------- the vendored files


def _readme_rows() -> dict[str, tuple[str, str, str, str]]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"\| `(.+?)` \| (.+?) \| (.+?) \| (.+?) \| `([0-9a-f]{64})` \|", line)
        if m:
            rows[m[1]] = (m[2], m[3], m[4], m[5])
    return rows


def test_readme_table_records_every_vendored_file() -> None:
    on_disk = {
        p.relative_to(vendor_dir()).as_posix()
        for p in vendor_dir().rglob("*")
        if p.is_file() and p.name not in ("assets.toml", "fetch_assets.py")
    }
    in_manifest = {path for pkg in vendored_packages() for path in pkg.paths()}
    rows = _readme_rows()
    assert on_disk == in_manifest == set(rows)
    for pkg in vendored_packages():
        for path in pkg.paths():
            name, version, licence, sha256 = rows[path]
            assert name.split(" ")[0] == pkg.name and version == pkg.version
            assert licence == pkg.licence
            assert hashlib.sha256((vendor_dir() / path).read_bytes()).hexdigest() == sha256
    total = sum((vendor_dir() / p).stat().st_size for p in on_disk)
    assert total < 1_400_000  # keep it small: no source maps, legacy fonts or demo files


def _folium_links() -> list[tuple[str, str]]:
    """Every (kind, url) folium 0.20 and branca add for the elements camdensity uses."""
    links = [("js", u) for _, u in folium.folium._default_js]
    links += [("css", u) for _, u in folium.folium._default_css]
    for plugin in (MarkerCluster, FastMarkerCluster, Fullscreen, DualMap, FeatureGroupSubGroup):
        links += [("js", u) for _, u in plugin.default_js]
        links += [("css", u) for _, u in getattr(plugin, "default_css", [])]
    m = folium.Map(tiles=None)
    cm.LinearColormap(["red", "blue"]).add_to(m)
    m.get_root().render()
    for child in m.get_root().header._children.values():
        if isinstance(child, JavascriptLink | CssLink):
            links.append(("js" if isinstance(child, JavascriptLink) else "css", child.url))
    return sorted(set(links))


def test_every_folium_link_we_use_has_a_local_copy() -> None:
    links = _folium_links()
    assert len(links) >= 17
    fig = Figure()
    for i, (kind, url) in enumerate(links):
        fig.header.add_child(JavascriptLink(url) if kind == "js" else CssLink(url), name=f"l{i}")
    localise(fig, mode="link")
    page = fig.render()
    assert remote_references(page) == []
    assert page.count("<script src=") + page.count("<link rel=") >= len(links)


def test_javascript_is_safe_to_inline() -> None:
    for pkg in vendored_packages():
        for path in pkg.paths():
            if path.endswith(".js"):
                text = (vendor_dir() / path).read_text(encoding="utf-8")
                assert not re.search(r"</script|<!--", text, re.I), path


# ------------------------------------------------------------------------------- inline


def test_inline_map_is_self_contained_but_for_tiles() -> None:
    m = _map()
    use_local_assets(m, mode="inline")
    page = m.get_root().render()
    _assert_self_contained(page)
    assert TILES in page
    # the libraries are there: Leaflet, clusters, sub-groups, awesome markers, d3, fullscreen
    for needle in (
        "L.MarkerClusterGroup",
        "featureGroup.subGroup",
        "L.AwesomeMarkers",
        'version:"3.5.5"',
        "Control.FullScreen",
        "Font Awesome 6 Free",
        "Glyphicons Halflings",
        "L.Icon.Default.mergeOptions",
    ):
        assert needle in page, needle
    # fonts: woff2 only, each embedded once
    faces = re.findall(r"@font-face\s*\{[^}]*\}", page)
    assert len(faces) == 3
    assert all("data:font/woff2;base64," in f for f in faces)
    assert not re.search(r"\.(ttf|eot|woff)\b['\")?#]", page)
    assert page.count("data:font/woff2") == 3


def test_inline_dual_map_is_self_contained() -> None:
    m = _dual_map()
    use_local_assets(m)
    page = m.get_root().render()
    _assert_self_contained(page)
    assert "L.Sync" in page and page.count(TILES) == 2


def test_rendering_is_repeatable_and_settings_can_change() -> None:
    m = _map()
    localise(m)

    def head() -> str:  # folium itself adds to the script on each render; the head is stable
        return str(m.get_root().render().split("</head>")[0])

    first = head()
    assert head() == first
    localise(m, mode="link", prefix="static")
    linked = head()
    assert 'src="static/leaflet@1.9.3/dist/leaflet.js"' in linked
    assert len(linked) < len(first) / 20


def test_elements_added_after_the_call_are_covered() -> None:
    m = folium.Map(tiles=None)
    use_local_assets(m)
    MarkerCluster().add_to(m)
    cm.LinearColormap(["red", "blue"]).add_to(m)
    page = m.get_root().render()
    _assert_self_contained(page)
    assert "L.MarkerClusterGroup" in page and 'version:"3.5.5"' in page


def test_omit_drops_whole_libraries() -> None:
    full = _map(icons=False)
    use_local_assets(full)
    lean = _map(icons=False)
    use_local_assets(lean, omit={*ICON_LIBRARIES, "bootstrap"})
    full_page, lean_page = full.get_root().render(), lean.get_root().render()
    _assert_self_contained(lean_page)
    for gone in ("Font Awesome", "Glyphicons", "awesome-marker", "Bootstrap", "fa-rotate-"):
        assert gone in full_page and gone not in lean_page, gone
    assert len(full_page) - len(lean_page) > 500_000
    assert {"leaflet", "jquery", "markercluster", "d3"} <= libraries()


# --------------------------------------------------------------------------------- link


def _linked_site(tmp_path: Path) -> tuple[Path, Path]:
    site = tmp_path / "site"
    page = site / "maps" / "zurich.html"
    page.parent.mkdir(parents=True)
    m = _map()
    use_local_assets(m, mode="link", prefix="../assets/")
    m.save(str(page))
    copy_assets(site / "assets")
    return site, page


def test_link_mode_references_only_copied_files(tmp_path: Path) -> None:
    site, page = _linked_site(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert remote_references(text) == []
    refs = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', text)
    assert len(refs) == 19  # folium's 17 links; Font Awesome's all.min.css is 3 files here
    for ref in refs:
        assert ref.startswith("../assets/")
        assert (page.parent / ref).resolve().is_file(), ref
    # and what the stylesheets point at is there too
    for css in (site / "assets").rglob("*.css"):
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            target = (css.parent / ref.split("#")[0].split("?")[0]).resolve()
            assert target.is_file() and site in target.parents, (css, ref)


def test_copy_assets_is_deterministic_and_carries_licences(tmp_path: Path) -> None:
    one = copy_assets(tmp_path / "a")
    two = copy_assets(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in one] == [
        p.relative_to(tmp_path / "b") for p in two
    ]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))
    names = {p.relative_to(tmp_path / "a").as_posix() for p in one}
    assert "leaflet@1.9.3/LICENSE" in names
    assert "@fortawesome/fontawesome-free@6.2.0/LICENSE.txt" in names
    assert not any(p.suffix == ".map" for p in one)
    leaflet_js = (tmp_path / "a" / "leaflet@1.9.3" / "dist" / "leaflet.js").read_text()
    assert "sourceMappingURL" not in leaflet_js
    lean = copy_assets(tmp_path / "c", omit=ICON_LIBRARIES)
    assert len(lean) < len(one)


# ------------------------------------------------------------------------------- errors


def test_an_unvendored_cdn_url_fails_naming_it() -> None:
    m = _map()
    MiniMap().add_to(m)
    use_local_assets(m)
    with pytest.raises(AssetError, match=re.escape("leaflet-minimap/3.6.1/Control.MiniMap.js")):
        m.get_root().render()


def test_a_remote_script_in_the_head_fails() -> None:
    m = folium.Map(tiles=None)
    m.get_root().header.add_child(Element('<script src="https://evil.example/x.js"></script>'))
    use_local_assets(m, mode="link")
    with pytest.raises(AssetError, match="https://evil.example/x.js"):
        m.get_root().render()


def test_bad_arguments() -> None:
    m = folium.Map(tiles=None)
    with pytest.raises(ValueError, match="mode"):
        use_local_assets(m, mode="cdn")
    for prefix in ("https://cdn.example/", "//cdn.example/", "/assets/"):
        with pytest.raises(ValueError, match="relative"):
            use_local_assets(m, mode="link", prefix=prefix)
    with pytest.raises(ValueError, match="unknown libraries to omit: jqeury"):
        use_local_assets(m, omit=["jqeury"])
    with pytest.raises(ValueError, match="Figure"):
        use_local_assets(folium.Marker([0, 0]))


def test_remote_references() -> None:
    page = """
        <script src="https://a.example/x.js"></script><script src='//b.example/y.js'></script>
        <link rel="stylesheet" href="http://c.example/z.css"/><link href="local.css"/>
        <style>.x{background:url( "https://d.example/i.png" )} @import "//e.example/s.css";</style>
        <script>var p = $(`<img src="https://f.example/p.png">`); var q = "<img src=\\"https://g.example/q.png\\">";
        L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png");</script>
        <a href="https://www.openstreetmap.org/copyright">OSM</a><img src="data:image/png,AA">
    """
    assert remote_references(page) == [
        "//b.example/y.js",
        "//e.example/s.css",
        "http://c.example/z.css",
        "https://a.example/x.js",
        "https://d.example/i.png",
        "https://f.example/p.png",
        "https://g.example/q.png",
    ]


# ------------------------------------------------------------------------------ browser

_LOADED = """async () => {
    await document.fonts.ready;
    const fa = await document.fonts.load('900 14px "Font Awesome 6 Free"', '\\uf030');
    const gl = await document.fonts.load('14px "Glyphicons Halflings"', '\\ue086');
    const icon = document.querySelector('img.leaflet-marker-icon:not(.awesome-marker)');
    return {
        fa: fa.length, glyph: gl.length,
        markers: document.querySelectorAll('.leaflet-marker-icon').length,
        clusters: document.querySelectorAll('.marker-cluster').length,
        awesome: document.querySelectorAll('.awesome-marker.leaflet-interactive').length,
        icon: icon ? icon.src : null,
        legend: document.querySelectorAll('.legend.leaflet-control svg rect').length,
        fullscreen: document.querySelectorAll('.leaflet-control-zoom-fullscreen').length,
        maps: document.querySelectorAll('.folium-map.leaflet-container').length,
    };
}"""


def _open(page_file: Path) -> tuple[dict[str, Any], PageLog]:
    """Open the page in Chromium; its state once fonts are loaded, and what it logged."""
    with browser() as b:
        page = b.new_page(viewport={"width": 1000, "height": 700})
        log = PageLog(page)
        page.goto(page_file.as_uri())
        page.wait_for_selector(".marker-cluster", timeout=15000)
        state = page.evaluate(_LOADED)
        page.screenshot(path=str(page_file.with_suffix(".png")))
    return state, log


@pytest.mark.browser
def test_inline_map_in_chromium_makes_no_request(tmp_path: Path) -> None:
    out = tmp_path / "map.html"
    m = _map(tiles=None)
    use_local_assets(m)
    m.save(str(out))
    state, log = _open(out)
    assert log.errors == [] and log.failed == []
    assert [u for u in log.requests if not u.startswith("data:")] == [out.as_uri()]
    assert state["fa"] == 1 and state["glyph"] == 1  # the icon fonts loaded from data: URIs
    assert state["clusters"] >= 1 and state["awesome"] == 3 and state["fullscreen"] == 1
    assert state["legend"] > 0  # d3 drew branca's colour scale
    assert state["icon"].startswith("data:image/png;base64,")  # Leaflet's default marker


@pytest.mark.slow  # the inline and linked maps in Chromium: the quick tier
@pytest.mark.browser
def test_lean_inline_map_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "lean.html"
    m = _map(tiles=None, icons=False)
    use_local_assets(m, omit={*ICON_LIBRARIES, "bootstrap"})
    m.save(str(out))
    state, log = _open(out)
    assert log.errors == [] and log.failed == []
    assert [u for u in log.requests if not u.startswith("data:")] == [out.as_uri()]
    assert state["clusters"] >= 1 and state["legend"] >= 1 and state["fullscreen"] == 1


@pytest.mark.browser
def test_linked_site_in_chromium_loads_only_its_own_files(tmp_path: Path) -> None:
    site, page = _linked_site(tmp_path)
    m = _map(tiles=None)
    use_local_assets(m, mode="link", prefix="../assets/")
    m.save(str(page))
    state, log = _open(page)
    assert log.errors == [] and log.failed == []
    outside = [u for u in log.requests if not u.startswith((site.as_uri() + "/", "data:"))]
    assert outside == []
    assert any(u.endswith("fa-solid-900.woff2") for u in log.requests)
    assert state["fa"] == 1 and state["glyph"] == 1 and state["awesome"] == 3
    assert state["icon"].startswith(site.as_uri() + "/assets/leaflet@1.9.3/dist/images/marker-icon")


@pytest.mark.slow  # the inline and linked maps in Chromium: the quick tier
@pytest.mark.browser
def test_dual_map_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "dual.html"
    m = _dual_map(tiles=None)
    use_local_assets(m)
    m.save(str(out))
    state, log = _open(out)
    assert log.errors == [] and log.failed == []
    assert [u for u in log.requests if not u.startswith("data:")] == [out.as_uri()]
    assert state["maps"] == 2
