"""Interactive folium (Leaflet) maps: H3 density, cameras with view cones, and comparisons
of several areas on one shared colour scale.

View-cone radius by ``camera_type``: fixed 30 m, dome 20 m, panning 40 m, other or unknown
25 m (``mapper.coverage.CONE_RADIUS_M``, the radius the coverage figures use). A single
bearing is drawn as a 60° wedge centred on it; ``[0, 360]`` as a circle. When the store holds
streets (``camdensity streets``), the fields of view cut by buildings, the streets in view and
a choropleth of coverage are layers too (off but for the fields of view).

Several panels (a comparison): each panel's title sits in a strip above its map, one legend
for all of them in a bar below the panels, and each panel's attribution is short (the data
date); two panels are synchronised only when their areas overlap.
Privacy: cameras tagged indoor or with another non-public ``surveillance`` value, and doorbell
cameras, are counted in the hexagons but never drawn as points or cones unless
``show_private``.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import folium
import folium.plugins
import h3
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from mapper import ATTRIBUTION, coverage, sql
from mapper._resources import resource_dir
from mapper.areas import geometry_of
from mapper.areas import get as get_area
from mapper.errors import InputError
from mapper.grid import check_resolution, prepare
from mapper.store import open_store
from mapper.tags import KINDS

SCHEMES = ("quantiles", "jenks", "equal", "log")
CONE_RADIUS_M = coverage.CONE_RADIUS_M
CONE_RADIUS_DEFAULT_M = coverage.CONE_RADIUS_DEFAULT_M
#: A comparison's layout: the title strip above each panel, the shared legend bar below all.
TITLE_STRIP_PX = 46
LEGEND_BAR_PX = 92
PRIVATE_VISIBILITY = ("indoor", "other")
PRIVATE_CAMERA_TYPES = ("doorbell",)
#: ColorBrewer YlOrRd, 3 to 9 classes.
YLORRD = {
    3: ["#ffeda0", "#feb24c", "#f03b20"],
    4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
    5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    8: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    9: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026",
        "#800026"],
}  # fmt: skip
KIND_COLOURS = {
    "camera": "#1f78b4", "ALPR": "#e31a1c", "speed_camera": "#ff7f00", "guard": "#33a02c",
    "gunshot_detector": "#6a3d9a", "other": "#b15928", "unknown": "#9e9e9e",
}  # fmt: skip
EMPTY_STYLE = {"color": "#888888", "weight": 0.4, "fillColor": "#f2f2f2", "fillOpacity": 0.25,
               "opacity": 0.5}  # fmt: skip
FIELDS = ("visibility", "camera_type", "zone", "mount", "operator", "directions")
MAX_VALUE_CHARS = 500


#: Characters that never occur outside a string in JSON, escaped wherever they are.
_SAFE_ANYWHERE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"))
#: A brace that opens a Jinja tag: compact JSON's own braces are followed by a quote, a brace
#: that closes, or a value, so one followed by ``{``, ``%`` or ``#`` is inside a string.
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def safe_json(obj: Any) -> str:
    """JSON for a ``<script>`` that folium renders through Jinja a second time.

    folium wraps each element's script in a new Jinja template, so a tag value such as
    ``{{ 7*7 }}`` would be evaluated (server-side template injection) and ``</script>`` would
    end the script. ``<``, ``>``, ``&`` and ``'`` become ``\\uXXXX`` escapes (they occur only
    inside strings), and so does every ``{`` that would open a Jinja tag (``{{``, ``{%``,
    ``{#``: only a string can hold one). Everything else is plain ASCII JSON. A few passes in
    C over the text, not a loop over its characters (which took 0.24 s for 20,000 cameras).
    """
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    for ch, escape in _SAFE_ANYWHERE:
        text = text.replace(ch, escape)
    return _JINJA_OPEN.sub(r"\\u007b", text)


def class_edges(values: list[float], scheme: str, bins: int) -> list[float]:
    """Bin edges (ascending, len = classes + 1) for the non-zero densities."""
    if scheme not in SCHEMES:
        raise InputError(f"unknown scheme '{scheme}'; use one of {', '.join(SCHEMES)}")
    if not 3 <= bins <= 9:
        raise InputError("--bins must be between 3 and 9")
    xs = sorted(v for v in values if v > 0 and math.isfinite(v))
    if not xs:
        return []
    lo, hi = xs[0], xs[-1]
    distinct = sorted(set(xs))
    k = min(bins, len(distinct))
    if k < 2 or lo == hi:
        return [lo, hi]
    if scheme == "equal":
        edges = [lo + (hi - lo) * i / k for i in range(k + 1)]
    elif scheme == "log":
        a, b = math.log10(lo), math.log10(hi)
        edges = [10 ** (a + (b - a) * i / k) for i in range(k + 1)]
    elif scheme == "jenks":
        import jenkspy

        edges = [float(e) for e in jenkspy.jenks_breaks(distinct, n_classes=k)]
    else:
        edges = [xs[min(len(xs) - 1, round(i * (len(xs) - 1) / k))] for i in range(k + 1)]
    edges[0], edges[-1] = lo, hi
    out = [edges[0]]
    for e in edges[1:]:  # merge edges within 2 % (many cells hold one camera each)
        if e > out[-1] * 1.02:
            out.append(e)
    out[-1] = hi
    return out if len(out) > 1 else [lo, hi]


def bin_of(value: float, edges: list[float]) -> int:
    """-1 for empty cells; else the class index (upper edges inclusive)."""
    if value <= 0 or not edges:
        return -1
    for i in range(1, len(edges)):
        if value <= edges[i]:
            return i - 1
    return len(edges) - 2


def palette(n_classes: int) -> list[str]:
    if n_classes <= 0:
        return []
    if n_classes < 3:
        return YLORRD[3][-n_classes:]
    return YLORRD[min(n_classes, 9)]


def is_private(cam: dict[str, Any]) -> bool:
    raw_type = str((cam.get("tags") or {}).get("camera:type", "")).strip().lower()
    return cam["visibility"] in PRIVATE_VISIBILITY or raw_type in PRIVATE_CAMERA_TYPES


def _clip(value: Any) -> str:
    s = str(value)
    return s if len(s) <= MAX_VALUE_CHARS else s[: MAX_VALUE_CHARS - 1] + "…"


@dataclass
class Panel:
    """Everything one map panel shows, gathered from the store."""

    area: dict[str, Any]
    res: int
    cells: list[dict[str, Any]]
    cameras: list[dict[str, Any]]
    figures: dict[str, Any]
    data_date: str | None
    shown: list[dict[str, Any]] = field(default_factory=list)
    coverage: coverage.Coverage | None = None


class _Rendered(Element):
    """Text already rendered, placed in the figure as it is."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _RenderedOnce(MacroElement):
    """A MacroElement whose macros' output goes into the figure as text. branca's own
    ``render`` wraps each output in ``Element(text)``, which compiles it as a Jinja template
    again: for a map's payload, a megabyte of JSON lexed as a template for nothing (and the
    reason :func:`safe_json` escapes what would open a tag; it still does)."""

    def render(self, **kwargs: Any) -> Any:  # None, as branca's MacroElement.render
        figure = self.get_root()
        assert isinstance(figure, Figure), "CameraLayers renders inside a Figure"
        module = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html),
                             ("script", figure.script)):  # fmt: skip
            macro = module.get(part)
            if macro is not None:
                target.add_child(_Rendered(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
        return None


class CameraLayers(JSCSSMixin, _RenderedOnce):
    """Hexagons, boundary, clustered camera markers, view cones, legend and title."""

    _template = Template((resource_dir("web") / "templates" / "camera_layers.js.j2").read_text())
    default_js = folium.plugins.MarkerCluster.default_js
    default_css = folium.plugins.MarkerCluster.default_css

    def __init__(self, payload: dict[str, Any], box: str = "") -> None:
        super().__init__()
        self._name = "CameraLayers"
        self.payload = safe_json(payload)
        self.box = box  # CSS placing the panel's map in a comparison (ours, not user input)


def _payload(
    p: Panel, edges: list[float], colours: list[str], *, shared: bool, show_private: bool,
    first: bool = True,
) -> dict[str, Any]:  # fmt: skip
    hexes = []
    for c in p.cells:
        ring = [round(v, 6) for lat, lng in h3.cell_to_boundary(c["h3"]) for v in (lat, lng)]
        per = c["per_km2"] or 0.0
        hex_row = [ring, c["cameras"], round(c["area_km2"], 5), round(per, 2), bin_of(per, edges)]
        if p.coverage is not None and p.coverage.stored:  # street km and coverage, for the tooltip
            hex_row += [c.get("street_km"), c.get("coverage"), c.get("coverage_discs")]
        hexes.append(hex_row)
    keys: dict[str, int] = {}
    cams, cones = [], []
    for cam in p.shown:
        tags = [
            [keys.setdefault(k, len(keys)), _clip(v)]
            for k, v in sorted((cam["tags"] or {}).items())
        ]
        dirs = "; ".join(f"{a:g}-{b:g}" if a != b else f"{a:g}" for a, b in cam["directions"])
        fields = [cam["visibility"], cam["camera_type"], cam["zone"], cam["mount"],
                  cam["operator"], dirs]  # fmt: skip
        cams.append([round(cam["lat"], 6), round(cam["lon"], 6), KINDS.index(cam["kind"]),
                     cam["osm_type"], int(cam["osm_id"]),
                     [None if f is None else _clip(f) for f in fields], tags])  # fmt: skip
        r = CONE_RADIUS_M.get(cam["camera_type"], CONE_RADIUS_DEFAULT_M)
        for a, b in cam["directions"]:
            cones.append([round(cam["lat"], 6), round(cam["lon"], 6), float(a), float(b), r])
    f = p.figures
    per_1k = f"{f['per_1k']:.3f} per 1,000 residents" if f.get("per_1k") is not None else None
    notes = [
        "Cameras per km² of each cell's part inside the area; mapped cameras only.",
        "Same bins and colours in every panel (computed over all compared areas)."
        if shared else "",
        "Private and indoor cameras are counted in the hexagons but not drawn."
        if not show_private else "Private and indoor cameras are drawn (--show-private).",
    ]  # fmt: skip
    minx, miny, maxx, maxy = geometry_of(p.area).bounds
    return {
        "hexes": hexes,
        "edges": [round(e, 3) for e in edges],
        "colours": colours,
        "emptyStyle": EMPTY_STYLE,
        "boundary": geometry_of(p.area).__geo_interface__,
        "cameras": cams,
        "keys": list(keys),
        "kinds": list(KINDS),
        "kindColours": [KIND_COLOURS[k] for k in KINDS],
        "fields": list(FIELDS),
        "cones": cones,
        "labels": {
            "hexes": "Density (H3)",
            "boundary": "Boundary",
            "cameras": "Cameras",
            "cones": "View cones",
            "views": "Fields of view (cut by buildings)",
            "discs": "Undirected cameras as discs",
            "inView": "Streets in view",
            "coverage": "Coverage of streets (H3)",
        },  # fmt: skip
        "coverage": coverage.map_payload(p.coverage, p.cells),
        "shared": shared,
        "legendHost": shared and first,
        "legendBarPx": LEGEND_BAR_PX,
        "attributionFull": f"Data {ATTRIBUTION}",
        "legendTitle": f"Mapped cameras per km² (H3 res {p.res})",
        "legendOpen": not shared,
        "notes": [n for n in notes if n],
        "title": p.area["name"],
        "subtitle": [
            s
            for s in [
                f"{f['cameras']} cameras · {f['per_km2']:.2f} per km²",
                per_1k,
                f"tagging: {f['grade']}",
            ]
            if s
        ],  # fmt: skip
        "attribution": [
            "Data © OpenStreetMap contributors, ODbL",
            f"data date {p.data_date or 'unknown'}",
        ],
        "bounds": [[miny, minx], [maxy, maxx]],
    }


def _tiles(tiles: str) -> dict[str, Any]:
    if tiles == "none":
        return {"tiles": None, "maxZoom": 19}
    if tiles == "osm":
        return {"tiles": "OpenStreetMap", "max_zoom": 19, "maxZoom": 19}
    raise InputError(f"unknown tiles '{tiles}'; use osm or none")


def panels(
    con: duckdb.DuckDBPyConnection, areas: list[dict[str, Any]], res: int, show_private: bool
) -> list[Panel]:
    """Read what each area's panel shows (cells at ``res``, cameras) on a prepared connection."""
    from mapper.grid import area_grid

    out = []
    stored = bool(sql.rows(con, "street-files"))
    for a in areas:
        cams = sql.rows(con, "map-cameras", area_id=a["id"])
        shown = [c for c in cams if show_private or not is_private(c)]
        cells = area_grid(con, a, res)
        cov = coverage.area_coverage(con, a) if stored else None
        if cov is not None:
            figures = cov.cells([c["h3"] for c in cells], [c["cameras"] for c in cells])
            for c, f in zip(cells, figures, strict=True):
                c.update({k: f[k] for k in coverage.CELL_FIGURES})
        out.append(Panel(a, res, cells, cams, {}, None, shown, cov))
    return out


def attach_figures(ps: list[Panel], rows: list[dict[str, Any]]) -> None:
    """Give each panel its headline figures (rows from ``compare``)."""
    by_name = {r["area"]: r for r in rows}
    for p in ps:
        p.figures = by_name[p.area["name"]]
        p.data_date = p.figures["data_date"]


@dataclass
class MapResult:
    path: Path
    bytes: int
    edges: list[float]
    panels: list[Panel]


def render(
    db: str | None, names: list[str], out: str, *, res: int | None = None,
    scheme: str = "quantiles", bins: int = 5, show_private: bool = False, tiles: str = "osm",
    assets: str = "inline", asset_prefix: str = "assets/",
) -> MapResult:  # fmt: skip
    """``camdensity map``: one area, two side by side (synchronised), or a grid of panels.

    ``assets``: "inline" (one self-contained file), "cdn" (folium's CDN links), or "link"
    (relative links to ``asset_prefix``, for the static site, which copies the files there).
    """
    _check_names(names, res)
    _check_output(out, assets)
    ps = map_panels(db, names, res=res, show_private=show_private)
    return write_map(ps, out, scheme=scheme, bins=bins, show_private=show_private, tiles=tiles,
                     assets=assets, asset_prefix=asset_prefix)  # fmt: skip


def _check_names(names: list[str], res: int | None) -> None:
    if not names:
        raise InputError("name at least one area (see 'camdensity area list')")
    if res is not None:
        check_resolution(res)


def map_panels(
    db: str | None, names: list[str], *, res: int | None = None, show_private: bool = False
) -> list[Panel]:
    """The panels of a map of ``names`` (``areas.get`` names), with their figures, read from
    the store; every panel at one resolution (``res``, else the largest area's)."""
    from mapper.compare import compare_areas, shared_resolution

    _check_names(names, res)
    with open_store(db) as con:
        prepare(con)
        areas = list({a["id"]: a for a in (get_area(con, n) for n in names)}.values())
        r = res if res is not None else shared_resolution(areas)
        ps = panels(con, areas, r, show_private)
        comparison = compare_areas(con, areas, res=r, grids={p.area["id"]: p.cells for p in ps})
    attach_figures(ps, comparison.rows)
    return ps


def _check_output(out: str, assets: str) -> None:
    if assets not in ("inline", "cdn", "link"):
        raise InputError("--assets must be inline or cdn")
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"{out}: folder {target.parent} does not exist")


def write_map(
    ps: list[Panel], out: str, *, scheme: str = "quantiles", bins: int = 5,
    show_private: bool = False, tiles: str = "osm", assets: str = "inline",
    asset_prefix: str = "assets/",
) -> MapResult:  # fmt: skip
    """Write the map of panels that carry their figures; one colour scale for all."""
    _check_output(out, assets)
    fig, edges = build_figure(ps, scheme=scheme, bins=bins, show_private=show_private,
                              tiles=tiles, assets=assets, asset_prefix=asset_prefix)  # fmt: skip
    html = fig.render()
    target = Path(out)
    target.write_text(html, encoding="utf-8")
    return MapResult(target, len(html.encode("utf-8")), edges, ps)


def build_figure(
    ps: list[Panel], *, scheme: str = "quantiles", bins: int = 5, show_private: bool = False,
    tiles: str = "osm", assets: str = "inline", asset_prefix: str = "assets/",
) -> tuple[Figure, list[float]]:  # fmt: skip
    """The page of panels that carry their figures (not rendered), and its bin edges."""
    if assets not in ("inline", "cdn", "link"):
        raise InputError("--assets must be inline or cdn")
    edges = class_edges([c["per_km2"] or 0 for p in ps for c in p.cells], scheme, bins)
    colours = palette(len(edges) - 1)
    fig = _figure(ps, edges, colours, show_private=show_private, tiles=tiles)
    if assets != "cdn":
        from mapper.assets import ICON_LIBRARIES, localise

        localise(fig, mode="inline" if assets == "inline" else "link", prefix=asset_prefix,
                 omit=ICON_LIBRARIES)  # fmt: skip
    deterministic_ids(fig)
    return fig, edges


def deterministic_ids(root: Any) -> None:
    """Replace folium's random element ids by sequential ones: the same input, the same file."""
    counter = 0

    def walk(el: Any) -> None:
        nonlocal counter
        counter += 1
        el._id = f"{counter:08x}"
        for child in list(getattr(el, "_children", {}).values()):
            walk(child)

    walk(root)


def _overlap(panels: list[Panel]) -> bool:
    """Whether the panels' areas overlap (then synchronised panels show the same ground)."""
    a, b = (geometry_of(p.area) for p in panels)
    return bool(a.intersects(b))


def _panel_box(i: int, cols: int, rows: int) -> str:
    """CSS placing panel ``i``'s map under its title strip, above the shared legend bar."""
    w, h = 100 / cols, 100 / rows
    row, col = i // cols, i % cols
    share = LEGEND_BAR_PX / rows
    return (
        f"position: absolute !important; left: {w * col:.4f}% !important; "
        f"width: {w:.4f}% !important; "
        f"top: calc({h * row:.4f}% + {TITLE_STRIP_PX - share * row:.2f}px) !important; "
        f"height: calc({h:.4f}% - {TITLE_STRIP_PX + share:.2f}px) !important;"
    )


def _title_box(i: int, cols: int, rows: int) -> dict[str, str]:
    """Where panel ``i``'s title strip goes (CSS values), above its map."""
    w, h = 100 / cols, 100 / rows
    row, col = i // cols, i % cols
    share = LEGEND_BAR_PX / rows
    return {
        "left": f"{w * col:.4f}%", "width": f"{w:.4f}%",
        "top": f"calc({h * row:.4f}% - {share * row:.2f}px)", "height": f"{TITLE_STRIP_PX}px",
    }  # fmt: skip


def _figure(panels: list[Panel], edges: list[float], colours: list[str], *,
            show_private: bool, tiles: str) -> Figure:  # fmt: skip
    shared = len(panels) > 1
    kw = _tiles(tiles)
    n = len(panels)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    if n == 2 and _overlap(panels):
        dual = folium.plugins.DualMap(control_scale=True, **kw)
        maps = [dual.m1, dual.m2]
        root = dual.get_root()
        assert isinstance(root, Figure)
        fig = root
    else:
        fig = Figure()
        maps = []
        for i in range(n):
            m = folium.Map(
                control_scale=True, width=f"{100 / cols:.4f}%", height=f"{100 / rows:.4f}%",
                left=f"{100 / cols * (i % cols):.4f}%", top=f"{100 / rows * (i // cols):.4f}%",
                position="absolute", **kw,
            )  # fmt: skip
            fig.add_child(m)
            maps.append(m)
    for i, (m, p) in enumerate(zip(maps, panels, strict=True)):
        folium.plugins.Fullscreen().add_to(m)
        payload = _payload(p, edges, colours, shared=shared, show_private=show_private,
                           first=i == 0)  # fmt: skip
        box = _panel_box(i, cols, rows) if shared else ""
        payload["titleBox"] = _title_box(i, cols, rows) if shared else None
        CameraLayers(payload, box).add_to(m)
    fig.header.add_child(
        folium.Element(
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'
            f'<meta name="copyright" content="Map data {html.escape(ATTRIBUTION)}">'
        )
    )
    return fig
