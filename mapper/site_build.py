"""Rendering the pages of the static site (see :mod:`mapper.site`)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from mapper import ATTRIBUTION, __version__, output, sql
from mapper.areas import get as get_area
from mapper.assets import ICON_LIBRARIES
from mapper.compare import CAVEAT, Comparison, compare_areas, shared_resolution
from mapper.compare import __doc__ as compare_doc
from mapper.errors import InputError
from mapper.grid import prepare
from mapper.maps import Panel, attach_figures, is_private, panels, write_map
from mapper.site import KIND_LABELS, SiteConfig, bar_chart, safe_href, slug
from mapper.stats import stats
from mapper.store import open_store
from mapper.tags import KINDS, VISIBILITIES

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


def _area_names(db: str | None, cfg: SiteConfig | None) -> list[dict[str, Any]]:
    with open_store(db) as con:
        every = sql.rows(con, "area-list")
    if cfg is None:
        return every
    wanted: set[str] = {a.name for a in cfg.areas}
    wanted |= {i.extent_name for i in cfg.inputs if i.extent_name}
    from mapper.areas import feature_names

    for imp in cfg.imports:
        wanted |= set(feature_names(imp.path, imp.name_field))
    by_source = {a["source"]: a for a in every if a["kind"] == "extent"}
    for i in cfg.inputs:
        if i.path in by_source:
            wanted.add(by_source[i.path]["name"])
    return [a for a in every if a["name"] in wanted]


def _downloads(area: dict[str, Any], panel: Panel, sources: dict[int, str], folder: Path,
               rel: str) -> list[dict[str, str]]:  # fmt: skip
    from mapper import export, grid
    from mapper.store import scratch

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

    s = scratch()
    try:
        table = pa.Table.from_pylist(rows) if rows else pa.table(
            {k: pa.array([], pa.float64() if k in ("lat", "lon") else pa.string())
             for k in export.COLUMNS})  # fmt: skip
        export.write_geoparquet(s, table, folder / "cameras.parquet")
    finally:
        s.close()
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


def _groups(db: str | None, areas: list[dict[str, Any]]) -> list[Group]:
    """Read everything the pages show, with one store connection; cities and neighbourhoods
    are separate groups, each on its own shared resolution."""
    spec = [
        ("Cities and study areas", "Municipalities on their boundaries; city-centre extracts on "
         "their own extent (no population).", [a for a in areas if a["kind"] != "neighbourhood"]),
        ("Neighbourhoods", "Within-city areas: compare them with each other, not with cities.",
         [a for a in areas if a["kind"] == "neighbourhood"]),
    ]  # fmt: skip
    out = []
    with open_store(db) as con:
        prepare(con)
        for title, note, members in spec:
            if not members:
                continue
            full = [get_area(con, a["name"]) for a in members]
            res = shared_resolution(full)
            ps = panels(con, full, res, show_private=False)
            c = compare_areas(con, full, res=res, grids={p.area["id"]: p.cells for p in ps})
            attach_figures(ps, c.rows)
            out.append(Group(title, note, c, ps))
    return out


def render_site(
    db: str | None, out: Path, cfg: SiteConfig | None, *, tiles: str, env: jinja2.Environment
) -> list[str]:
    from mapper._resources import resource_dir
    from mapper.assets import copy_assets

    areas = _area_names(db, cfg)
    if not areas:
        raise InputError("no areas to publish: add areas (camdensity area add) or use --config")
    groups = _groups(db, areas)
    dates = [g.comparison.data_date for g in groups if g.comparison.data_date]
    common = {"site": {"title": cfg.title if cfg else "Mapped surveillance cameras"},
              "attribution": ATTRIBUTION, "version": __version__,
              "data_date": max(dates) if dates else None}  # fmt: skip
    st = stats(db)
    sources_by_id = {s["id"]: s["path"] for s in st["sources"]}
    (out / "maps").mkdir(parents=True, exist_ok=True)
    pages: list[str] = []
    tables = []
    for g in groups:
        rows = []
        for r in g.comparison.rows:
            rows.append({**r, "kind": KIND_LABELS.get(r["kind"], r["kind"]),
                         "tagging": sum(r["completeness"].values()) / 4,
                         "href": f"areas/{slug(r['area'])}.html"})  # fmt: skip
        tables.append({"title": g.title, "note": g.note, "rows": rows})
        for p in g.panels:
            r, s = p.figures, slug(p.area["name"])
            write_map([p], str(out / "maps" / f"{s}.html"), tiles=tiles, assets="link",
                      asset_prefix="../assets/")  # fmt: skip
            downloads = _downloads(p.area, p, sources_by_id, out / "data" / s, f"../data/{s}/")
            page = env.get_template("area.html.j2").render(
                **common, root="../", page_title=r["area"], row={
                    **r, "reported_source_href": safe_href(r["reported_source"])},
                kind_label=KIND_LABELS.get(r["kind"], r["kind"]),
                grade_meaning=GRADE_MEANING.get(r["grade"], ""), map_href=f"../maps/{s}.html",
                charts=_charts(r), downloads=downloads, resolution=p.res,
            )  # fmt: skip
            _write(out / "areas" / f"{s}.html", page)
            pages.append(f"areas/{s}.html")
    every = {p.area["name"]: p for g in groups for p in g.panels}
    wanted = [n for n in (cfg.compare if cfg else []) if n in every]
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
    _write(out / "index.html", env.get_template("index.html.j2").render(
        **common, root="", page_title="Overview", groups=tables))  # fmt: skip
    shutil.copytree(resource_dir("web") / "static", out / "static")
    copy_assets(out / "assets", omit=ICON_LIBRARIES)
    _write(out / "assets" / "LICENSES.txt", _licences())
    return ["index.html", "compare.html", "about.html", *pages]
