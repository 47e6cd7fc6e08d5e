"""Rendering the pages of the static site: the areas :mod:`mapper.site` chose, into a folder.

This module knows nothing of the site's config; :mod:`mapper.site` reads that, picks the
areas and puts the rendered folder in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import jinja2

from mapper import ATTRIBUTION, __version__, output
from mapper._resources import resource_dir
from mapper.areas import get as get_area
from mapper.assets import ICON_LIBRARIES
from mapper.compare import CAVEAT, Comparison, compare_areas, shared_resolution
from mapper.compare import __doc__ as compare_doc
from mapper.errors import AmbiguousArea, InputError, NotFound
from mapper.grid import keep, prepare
from mapper.maps import Panel, attach_figures, is_private, panels, write_map
from mapper.stats import stats_of
from mapper.store import open_store, scratch
from mapper.tags import KINDS, VISIBILITIES

KIND_LABELS = {
    "municipality": "municipality", "neighbourhood": "neighbourhood",
    "extent": "extract extent", "admin": "admin area", "custom": "area",
}  # fmt: skip


# ----------------------------------------------------------------------------- names
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}  # fmt: skip


def slug(name: str) -> str:
    """A safe, distinct file name for an area: ASCII words plus a hash of the exact name."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:48].strip("-") or "area"
    if words in _RESERVED:
        words = f"area-{words}"
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{words}-{digest}"


def safe_href(url: str | None) -> str | None:
    """Only http(s) links reach a page."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def bar_chart(
    title: str, shares: list[tuple[str, float]], colour: str = "#b10026"
) -> dict[str, Any]:
    """A small horizontal bar chart as inline SVG (labels escaped)."""
    from markupsafe import Markup, escape

    rows = [(k, v) for k, v in shares if v > 0] or [("none", 0.0)]
    h = 20 * len(rows) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="{h}" role="img" '
             f'aria-label="{escape(title)}">']  # fmt: skip
    for i, (label, v) in enumerate(rows):
        y = 4 + i * 20
        w = round(170 * v, 1)
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="110" y="{y + 2}" width="{w}" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{110 + w + 4}" y="{y + 13}" font-size="12">'
                     f"{round(v * 100)} %</text>")  # fmt: skip
    parts.append("</svg>")
    return {"title": title, "svg": Markup("".join(parts))}


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("web") / "templates" / "site")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


GRADE_MEANING = {
    "well tagged": "Most mapped cameras carry their kind, direction, operator and type.",
    "partly tagged": "Many mapped cameras lack some detail (direction, operator or type).",
    "barely tagged": "Most mapped cameras carry little more than their position.",
    "no cameras mapped": "No camera is mapped here: that says nothing about how many exist.",
}


def _grade_rule() -> str:
    doc = compare_doc or ""
    start = doc.find("Completeness grade:")
    return " ".join(doc[start:].split()) if start >= 0 else ""


def _named(con: duckdb.DuckDBPyConnection, compare: list[str]) -> list[str]:
    """The names of the config's ``compare`` areas (names or ``relation/ID``, as every
    command takes them); one not in the store is left out, an ambiguous one is an error."""
    found = []
    for n in compare:
        try:
            found.append(str(get_area(con, n)["name"]))
        except AmbiguousArea:
            raise
        except NotFound:
            continue
    return found


def _downloads(
    parquet: duckdb.DuckDBPyConnection, area: dict[str, Any], panel: Panel,
    sources: dict[int, str], folder: Path, rel: str,
) -> list[dict[str, str]]:  # fmt: skip
    """An area's download files; ``parquet``: an in-memory DuckDB with spatial loaded
    (:func:`mapper.store.scratch`), for the GeoParquet."""
    from mapper import export, grid

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for c in panel.cameras:
        if is_private(c):
            continue
        r = {k: c[k] for k in export.COLUMNS if k in c}
        r["source"] = os.path.basename(sources.get(c["source_id"], ""))
        r["lat"], r["lon"] = round(c["lat"], 7), round(c["lon"], 7)
        rows.append(r)
    export.write_csv(rows, folder / "cameras.csv")
    export.write_geojson(rows, folder / "cameras.geojson", {"area": area["name"]})
    import pyarrow as pa

    table = pa.Table.from_pylist(rows) if rows else pa.table(
        {k: pa.array([], pa.float64() if k in ("lat", "lon") else pa.string())
         for k in export.COLUMNS})  # fmt: skip
    export.write_geoparquet(parquet, table, folder / "cameras.parquet")
    g = grid.Grid(area, panel.res, panel.cells)
    (folder / "grid.geojson").write_text(
        json.dumps(grid.to_geojson(g), ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8",
    )
    (folder / "grid.csv").write_text(output.to_csv(g.rows, grid.COLUMNS, [
        f"H3 grid of {area['name']} at resolution {g.res}", f"Data {ATTRIBUTION}",
    ]), encoding="utf-8")  # fmt: skip
    note = "public and outdoor cameras only; private and indoor ones are left out"
    return [
        {"href": rel + "cameras.csv", "label": "Cameras (CSV)", "note": note},
        {"href": rel + "cameras.geojson", "label": "Cameras (GeoJSON)", "note": note},
        {"href": rel + "cameras.parquet", "label": "Cameras (GeoParquet)", "note": note},
        {"href": rel + "grid.geojson", "label": f"H3 grid, res {g.res} (GeoJSON)", "note": ""},
        {"href": rel + "grid.csv", "label": f"H3 grid, res {g.res} (CSV)", "note": ""},
    ]


def _charts(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        bar_chart("By kind", [(k, row["share_kind"][k]) for k in KINDS]),
        bar_chart(
            "By visibility", [(v, row["share_visibility"][v]) for v in VISIBILITIES], "#1f78b4"
        ),  # fmt: skip
        bar_chart(
            "Top zones",
            [(z, n / row["cameras"]) for z, n in row["top_zones"]] if row["cameras"] else [],
            "#33a02c",
        ),  # fmt: skip
    ]


def _licences() -> str:
    """The bundled libraries with their versions, licences and licence files."""
    from mapper.assets import vendored_packages

    lines = ["Libraries served by this site (taken from the registries' packages):", ""]
    for pkg in vendored_packages():
        if pkg.library in ICON_LIBRARIES:
            continue
        files = ", ".join(f"{pkg.folder}/{f}" for f in pkg.licence_files) or "none shipped"
        lines.append(f"{pkg.name} {pkg.version} ({pkg.registry}): {pkg.licence}; text: {files}")
    lines += ["", f"Map data {ATTRIBUTION}.", ""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@dataclass
class Group:
    title: str
    note: str
    comparison: Comparison
    panels: list[Panel]


#: Areas with a map and downloads on their page, by default (site config ``maps``).
DEFAULT_MAPS = 100


def mapped_names(rows: list[dict[str, Any]], maps: int, named: Sequence[str] = ()) -> set[str]:
    """Which areas get a full page with a map and downloads: the ``maps`` areas with the
    most cameras (ties by name) and those on the comparison map (``named``). The others get
    a page of figures without a map: measured on 2,400 tiled Monaco quarters, a map with its
    clipped resolution-12 grid and the downloads cost about a second and 1 MB per area, a
    page of figures 4 KB."""
    ranked = sorted(rows, key=lambda r: (-r["cameras"], r["area"]))
    return {r["area"] for r in ranked[:maps]} | set(named)


def _groups(
    con: duckdb.DuckDBPyConnection, areas: list[dict[str, Any]], maps: int = DEFAULT_MAPS,
    named: Sequence[str] = (),
) -> list[Group]:  # fmt: skip
    """The areas' figures and panels, on a prepared connection; cities and neighbourhoods
    are separate groups, each on its own shared resolution. Figures come from one
    comparison per group (one spatial join); panels (grid, cameras) only for the areas of
    :func:`mapped_names`."""
    spec = [
        ("Cities and study areas", "Municipalities on their boundaries; city-centre extracts on "
         "their own extent (no population).", [a for a in areas if a["kind"] != "neighbourhood"]),
        ("Neighbourhoods", "Within-city areas: compare them with each other, not with cities.",
         [a for a in areas if a["kind"] == "neighbourhood"]),
    ]  # fmt: skip
    out = []
    done = []
    for title, note, members in spec:
        if members:
            res = shared_resolution(members)
            done.append((title, note, res, compare_areas(con, members, res=res)))
    wanted = mapped_names([r for *_, c in done for r in c.rows], maps, named)
    for title, note, res, c in done:
        full = [get_area(con, r["area"]) for r in c.rows if r["area"] in wanted]
        ps = panels(con, full, res, show_private=False)
        attach_figures(ps, c.rows)
        out.append(Group(title, note, c, ps))
    return out


#: Rows of a table in the index's HTML; the rest arrive with data/index-rows.js (sorting,
#: filtering and paging in web/static/site.js), so the first paint never waits for them.
FIRST_ROWS = 100


def _index_rows(tables: list[dict[str, Any]]) -> str:
    """Every row of the index's tables as a script (file:// pages may load scripts, not
    fetch JSON): ``CD_ROWS[i]`` holds table i's rows as arrays, display text beside the
    values that sort (web/static/site.js draws them with textContent, never as HTML)."""

    def num(v: Any, fmt: str) -> list[Any]:
        return [fmt.format(v) if v is not None else "–", v]

    data = []
    for t in tables:
        data.append([
            [r["area"], r["href"], r["kind"], r["cameras"],
             [f"{r['area_km2']:.2f}" + ("*" if r["area_official"] else ""), r["area_km2"]],
             num(r["per_km2"], "{:.2f}"), num(r["population"], "{:,}"),
             num(r["per_1k"], "{:.3f}"), [f"{r['tagging'] * 100:.0f}", r["tagging"]],
             r["grade"], r["data_date"] or "–"]
            for r in t["rows"]
        ])  # fmt: skip
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return f"window.CD_ROWS = {text};\n"


def render_site(
    db: str | None,
    out: Path,
    areas: list[dict[str, Any]],
    *,
    title: str,
    compare: list[str],
    tiles: str,
    previous: Path | None = None,
    maps: int = DEFAULT_MAPS,
) -> list[str]:
    """Render the pages of ``areas`` (rows of ``area-list``) into the folder ``out``; the
    comparison map shows the ``compare`` areas (default: up to six municipalities);
    ``previous``: the site this build replaces (for its changes page)."""
    from mapper import site_history
    from mapper.assets import copy_assets

    if not areas:
        raise InputError("no areas to publish: add areas (camdensity area add) or use --config")
    env = _env()
    # Everything the pages show is read over one store connection, closed before anything
    # is written.
    with open_store(db) as con:
        prepare(con)
        named = _named(con, compare)
        groups = _groups(con, areas, maps, named)
        published = [p.area["name"] for g in groups for p in g.panels]
        hist = site_history.read(con, published, previous)
        st = stats_of(con)
    keep(db, con)
    dates = [g.comparison.data_date for g in groups if g.comparison.data_date]
    common = {"site": {"title": title},
              "attribution": ATTRIBUTION, "version": __version__,
              "data_date": max(dates) if dates else None}  # fmt: skip
    sources_by_id = {s["id"]: s["path"] for s in st["sources"]}
    (out / "maps").mkdir(parents=True, exist_ok=True)
    pages: list[str] = []
    tables = []
    with scratch() as parquet:
        for g in groups:
            rows = []
            for r in g.comparison.rows:
                rows.append({**r, "kind": KIND_LABELS.get(r["kind"], r["kind"]),
                             "tagging": sum(r["completeness"].values()) / 4,
                             "href": f"areas/{slug(r['area'])}.html"})  # fmt: skip
            tables.append({"title": g.title, "note": g.note, "rows": rows})
            panel_of = {p.area["name"]: p for p in g.panels}
            for r in g.comparison.rows:
                s, p = slug(r["area"]), panel_of.get(r["area"])
                downloads: list[dict[str, str]] = []
                if p is not None:  # a full page: map and downloads (mapped_names)
                    write_map([p], str(out / "maps" / f"{s}.html"), tiles=tiles, assets="link",
                              asset_prefix="../assets/")  # fmt: skip
                    downloads = _downloads(parquet, p.area, p, sources_by_id, out / "data" / s,
                                           f"../data/{s}/")  # fmt: skip
                page = env.get_template("area.html.j2").render(
                    **common, root="../", page_title=r["area"], row={
                        **r, "reported_source_href": safe_href(r["reported_source"])},
                    kind_label=KIND_LABELS.get(r["kind"], r["kind"]),
                    grade_meaning=GRADE_MEANING.get(r["grade"], ""),
                    map_href=f"../maps/{s}.html" if p is not None else None,
                    charts=_charts(r), downloads=downloads, resolution=r["res"],
                    timeline=hist.timelines.get(r["area"]),
                )  # fmt: skip
                _write(out / "areas" / f"{s}.html", page)
                pages.append(f"areas/{s}.html")
    every = {p.area["name"]: p for g in groups for p in g.panels}
    wanted = [n for n in named if n in every]
    if not wanted:
        wanted = [n for n, p in every.items() if p.area["kind"] == "municipality"][:6]
    wanted = wanted or list(every)[:4]
    cmp_panels = [every[n] for n in wanted]
    if len({p.res for p in cmp_panels}) > 1:  # mixed groups: one resolution for the panels
        from mapper.maps import render

        cm = render(db, wanted, str(out / "maps" / "compare.html"), tiles=tiles,
                    assets="link", asset_prefix="../assets/")  # fmt: skip
    else:
        cm = write_map(cmp_panels, str(out / "maps" / "compare.html"), tiles=tiles,
                       assets="link", asset_prefix="../assets/")  # fmt: skip
    _write(out / "compare.html", env.get_template("compare.html.j2").render(
        **common, root="", page_title="Compare", names=wanted, resolution=cm.panels[0].res,
        map_href="maps/compare.html"))  # fmt: skip
    sources = [{"name": os.path.basename(s["path"]), "format": s["format"],
                "snapshot": (s["snapshot"] or "")[:10] or None} for s in st["sources"]]  # fmt: skip
    boundaries = [{"area": r["area"], "credit": r["boundary_credit"],
                   "population_source": r["population_source"]}
                  for g in groups for r in g.comparison.rows]  # fmt: skip
    _write(out / "about.html", env.get_template("about.html.j2").render(
        **common, root="", page_title="About", grade_rule=_grade_rule(), sources=sources,
        boundaries=boundaries, tiles=tiles != "none", caveat=CAVEAT))  # fmt: skip
    site_history.write(env, out, common, hist)
    _write(out / "data" / "index-rows.js", _index_rows(tables))
    _write(out / "index.html", env.get_template("index.html.j2").render(
        **common, root="", page_title="Overview", groups=tables,
        first_rows=FIRST_ROWS))  # fmt: skip
    shutil.copytree(resource_dir("web") / "static", out / "static")
    copy_assets(out / "assets", omit=ICON_LIBRARIES)
    _write(out / "assets" / "LICENSES.txt", _licences())
    return ["index.html", "compare.html", "about.html", "changes.html", *pages]
