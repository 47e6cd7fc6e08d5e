"""Per-area figures and rankings: cameras per km² and per 1,000 residents, the mix of types,
tagging completeness and concentration, each row reproducible from the store.

Set-based: any number of areas is one spatial join of the cameras to the areas in DuckDB
(bounding box, then point in polygon) and a few grouped queries over its result, never a
query per area; 2,400 areas take about as long as a handful.

Concentration (busiest cell, share of cells occupied, Gini) is taken on H3 cells, each area
on its own default resolution (the grid rule of :mod:`mapper.grid` by its own size: a 0.4
km² quarter on resolution 12, a 90 km² town on 9), or on the one ``--res`` given for all;
the ``res`` column says which. The cells are the occupied cells (the stored cells of the
area's cameras) and, as empty cells, as many more as make up the area: its geodesic area
over the area of the cell at its centre (at least the occupied ones). That estimate stands
in for listing every cell of every boundary (the exact clipped grid is ``camdensity grid
AREA``; listing it for 2,400 quarters at resolution 12 took 40 s here).

Completeness grade: the mean of four shares (cameras with a known kind, a direction, an
operator, a camera:type). "well tagged" when the mean is at least 0.6, "partly tagged" from
0.3, "barely tagged" below 0.3, and "no cameras mapped" for an area without cameras. It says
how much detail the mapped cameras carry; it cannot say how many cameras are unmapped.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import h3
import numpy as np

from mapper import ATTRIBUTION, coverage, sql
from mapper.areas import get as get_area
from mapper.errors import InputError
from mapper.grid import check_resolution, default_resolution, ensure_cells, keep, prepare
from mapper.store import open_store
from mapper.tags import KINDS, VISIBILITIES

SORT_KEYS = ("per_km2", "per_1k", "cameras", *coverage.SORT_KEYS)
CAVEAT = (
    "Counts are cameras that someone has mapped in OpenStreetMap, not all cameras; "
    "completeness shows how much detail the mapped ones carry."
)
GRADES = (
    (0.6, "well tagged"),
    (0.3, "partly tagged"),
    (0.0, "barely tagged"),
)


def gini(values: Sequence[float]) -> float | None:
    """Gini coefficient of non-negative values (0: all equal; (n-1)/n: all in one)."""
    xs = sorted(values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total <= 0:
        return None
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


def gini_with_empty(cells: int, occupied: int, total: float, ranked_sum: float) -> float | None:
    """:func:`gini` of ``cells`` values of which ``occupied`` are non-zero, from their sum and
    the sum of rank x value over the non-zero ones ranked ascending (the empty cells come
    first in the full order, so rank j among them is rank cells - occupied + j overall)."""
    if cells <= 0 or total <= 0:
        return None
    weighted = (cells - occupied) * total + ranked_sum
    return (2 * weighted) / (cells * total) - (cells + 1) / cells


def grade(shares: dict[str, float], cameras: int) -> str:
    if cameras == 0:
        return "no cameras mapped"
    mean = sum(shares.values()) / len(shares)
    for threshold, words in GRADES:
        if mean >= threshold:
            return words
    return GRADES[-1][1]


def rank(rows: list[dict[str, Any]], key: str) -> None:
    """Sort by ``key`` descending (nulls last) and set competition ranks (ties share)."""
    rows.sort(key=lambda r: (r[key] is None, -(r[key] or 0), r["area"]))
    previous: Any = object()
    current = 0
    for i, r in enumerate(rows, start=1):
        if r[key] is None:
            r["rank"] = None
            continue
        if r[key] != previous:
            current, previous = i, r[key]
        r["rank"] = current


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


@dataclass
class Comparison:
    rows: list[dict[str, Any]]
    #: The resolution forced for every area, or None: each area on its own (column ``res``).
    resolution: int | None
    sort: str

    @property
    def data_date(self) -> str | None:
        dates = [r["data_date"] for r in self.rows if r["data_date"]]
        return max(dates) if dates else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "data_date": self.data_date,
            "resolution": self.resolution,
            "sort": self.sort,
            "attribution": ATTRIBUTION,
            "caveat": CAVEAT,
        }


def cells_estimate(area: dict[str, Any], res: int) -> float:
    """How many cells of ``res`` make up the area: its geodesic area over the area of the
    cell at the centre of its bounding box."""
    lat = (area["min_lat"] + area["max_lat"]) / 2
    lon = (area["min_lon"] + area["max_lon"]) / 2
    cell = h3.latlng_to_cell(lat, lon, res)
    return float(area["geodesic_km2"]) / float(h3.cell_area(cell, "km^2"))


def _row(
    area: dict[str, Any], res: int, t: dict[str, Any], groups: dict[str, dict[str, int]],
    cells: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    n = int(t["cameras"])
    occupied = int(cells["occupied"]) if cells else 0
    n_cells = max(occupied, round(cells_estimate(area, res)), 1)
    concentration = (
        gini_with_empty(n_cells, occupied, float(cells["cameras"]), float(cells["ranked_sum"]))
        if cells else None
    )  # fmt: skip
    completeness = {
        "kind": _share(t["with_kind"], n),
        "direction": _share(t["with_direction"], n),
        "operator": _share(t["with_operator"], n),
        "camera_type": _share(t["with_camera_type"], n),
    }
    km2 = float(area["area_km2"])
    pop = area["population"]
    reported = area["reported_cameras"]
    osm = f"{area['osm_type']}/{area['osm_id']}" if area.get("osm_id") is not None else None
    return {
        "area": area["name"],
        "osm": osm if area.get("osm_type") else None,
        "kind": area["kind"],
        "admin_level": area.get("admin_level"),
        "cameras": n,
        "area_km2": round(km2, 4),
        "area_official": bool(area["area_official"]),
        "per_km2": round(n / km2, 3) if km2 > 0 else None,
        "population": pop,
        "population_year": area["population_year"],
        "per_1k": round(n / pop * 1000, 4) if pop else None,
        "rank": None,
        "share_visibility": {
            v: _share(groups.get("visibility", {}).get(v, 0), n) for v in VISIBILITIES
        },
        "share_kind": {k: _share(groups.get("kind", {}).get(k, 0), n) for k in KINDS},
        "top_zones": [[z, c] for z, c in list(groups.get("zone", {}).items())[:3]],
        "completeness": completeness,
        "grade": grade(completeness, n),
        "data_date": t["data_date"].date().isoformat() if t["data_date"] else None,
        "res": res,
        "cells": n_cells,
        "occupied_share": _share(occupied, n_cells),
        "max_cell": int(cells["max_cell"]) if cells else 0,
        "gini": round(concentration, 4) if concentration is not None else None,
        "reported_cameras": reported,
        "reported_source": area["reported_source"],
        "mapped_share": round(n / reported, 4) if reported else None,
        "population_source": area["population_source"],
        "boundary_source": area["source"],
        "boundary_credit": area["credit"],
    }


def select_areas(
    con: duckdb.DuckDBPyConnection, names: Sequence[str] = (), *, all_areas: bool = False,
    kinds: Sequence[str] = (), admin_level: int | None = None, within: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The areas to compare, on a prepared connection: ``names`` (each through
    :func:`mapper.areas.get`: display name, ``relation/ID`` or unique OSM name), or with
    ``all_areas`` every area, narrowed by ``kinds``, ``admin_level`` and ``within`` (an
    area name: the areas inside that one)."""
    if names:
        chosen = list({a["id"]: a for a in (get_area(con, n) for n in names)}.values())
        inside = None
        if within is not None:
            inside = {a["id"] for a in _select(con, (), None, get_area(con, within)["id"])}
        return [
            a for a in chosen
            if (not kinds or a["kind"] in kinds)
            and (admin_level is None or a["admin_level"] == admin_level)
            and (inside is None or a["id"] in inside)
        ]  # fmt: skip
    if not all_areas:
        raise InputError("name the areas to compare, or pass --all (see 'camdensity area list')")
    within_id = get_area(con, within)["id"] if within is not None else None
    return _select(con, kinds, admin_level, within_id)


def _select(
    con: duckdb.DuckDBPyConnection, kinds: Sequence[str], level: int | None, within: int | None
) -> list[dict[str, Any]]:
    return sql.rows(con, "compare-select", kinds=list(kinds) or None, level=level, within=within)


def compare(
    db: str | None, names: Sequence[str] = (), *, all_areas: bool = False,
    kinds: Sequence[str] = (), admin_level: int | None = None, within: str | None = None,
    sort: str = "per_km2", res: int | None = None, top: int | None = None,
    at: datetime | None = None,
) -> Comparison:  # fmt: skip
    """One row per area, ranked on ``sort``, the first ``top`` kept; each area on its own
    H3 resolution for concentration unless ``res`` is given; ``at``: the store as of that
    moment (:func:`mapper.history.as_of`)."""
    if sort not in SORT_KEYS:
        raise InputError(f"cannot sort by '{sort}'; use one of {', '.join(SORT_KEYS)}")
    if res is not None:
        check_resolution(res)
    if top is not None and top < 1:
        raise InputError("--top must be 1 or more")
    if not names and not all_areas:
        raise InputError("name the areas to compare, or pass --all (see 'camdensity area list')")
    with open_store(db) as con:
        prepare(con)
        if at is not None:
            from mapper.history import as_of

            as_of(con, at)
        areas = select_areas(con, names, all_areas=all_areas, kinds=kinds,
                             admin_level=admin_level, within=within)  # fmt: skip
        if not areas:
            raise InputError(
                "no areas to compare (check --kind, --admin-level and --within, or add areas first)"
            )
        c = compare_areas(con, areas, sort=sort, res=res)
    keep(db, con)
    if top is not None:
        c.rows = c.rows[:top]
    return c


def shared_resolution(areas: Sequence[dict[str, Any]]) -> int:
    """One resolution for areas shown together on one colour scale (a map): the grid rule
    for the largest."""
    return default_resolution(max(a["geodesic_km2"] for a in areas))


def compare_areas(
    con: duckdb.DuckDBPyConnection, areas: Sequence[dict[str, Any]], *, sort: str = "per_km2",
    res: int | None = None, grids: dict[int, list[dict[str, Any]]] | None = None,
) -> Comparison:  # fmt: skip
    """Rows for areas already read (rows of ``area-get`` or ``compare-select``), on an open,
    prepared connection: one spatial join for all of them. ``res`` forces one resolution;
    ``grids`` (cells a caller holds) is not needed and not read: every figure comes from
    the join, so a map's figures equal ``compare``'s."""
    del grids
    ress = [res if res is not None else default_resolution(a["geodesic_km2"]) for a in areas]
    ensure_cells(con, set(ress))
    con.register("compare_rows", {
        "area_id": np.array([a["id"] for a in areas], np.int64),
        "res": np.array(ress, np.int64),
    })  # fmt: skip
    try:
        sql.run(con, "compare-join")
    finally:
        con.unregister("compare_rows")
    try:
        totals = {r["area_id"]: r for r in sql.rows(con, "compare-totals")}
        groups: dict[int, dict[str, dict[str, int]]] = {}
        for g in sql.rows(con, "compare-groups"):
            groups.setdefault(g["area_id"], {}).setdefault(g["field"], {})[g["value"]] = int(g["n"])
        cells = {r["area_id"]: r for r in sql.rows(con, "compare-cells")}
    finally:
        sql.run(con, "compare-drop")
    rows = [
        _row(a, r, totals[a["id"]], groups.get(a["id"], {}), cells.get(a["id"]))
        for a, r in zip(areas, ress, strict=True)
    ]
    coverage.add_figures(con, areas, rows)  # street km, per street km, coverage
    rank(rows, sort)
    return Comparison(rows, res, sort)


KIND_LABELS = {"municipality": "city", "neighbourhood": "nbhd", "extent": "extent"}


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its nested shares as columns (for CSV and Markdown)."""
    out = {k: v for k, v in row.items() if not isinstance(v, dict | list)}
    for v, x in row["share_visibility"].items():
        out[f"vis_{v}"] = x
    for k, x in row["share_kind"].items():
        out[f"kind_{k}"] = x
    out["top_zones"] = "; ".join(f"{z} ({n})" for z, n in row["top_zones"])
    for k, x in row["completeness"].items():
        out[f"with_{k}"] = x
    return out


FLAT_COLUMNS = (
    ["rank", "area", "kind", "cameras", "area_km2", "area_official", "per_km2", "population",
     "population_year", "per_1k"]
    + [f"vis_{v}" for v in VISIBILITIES]
    + [f"kind_{k}" for k in KINDS]
    + ["top_zones", "with_kind", "with_direction", "with_operator", "with_camera_type", "grade",
       "data_date", "res", "cells", "occupied_share", "max_cell", "gini", "reported_cameras",
       "reported_source", "mapped_share", "osm"]
    + list(coverage.FIGURES)
)  # fmt: skip


def header_lines(c: Comparison) -> list[str]:
    res = (
        f"H3 resolution {c.resolution}" if c.resolution is not None
        else "H3 resolution by each area's size (res)"
    )  # fmt: skip
    return [
        f"camdensity compare, sorted by {c.sort}; {res}; data date {c.data_date or 'unknown'}",
        f"Data {ATTRIBUTION}",
        CAVEAT,
    ]


def short_name(name: str, width: int) -> str:
    """A name cut to ``width``; a shared name keeps its ' (relation ID)' whole, so that the
    rows of 400 'Monte-Carlo's stay apart."""
    if len(name) <= width:
        return name
    m = _RELATION_SUFFIX.search(name)
    if m and len(m[0]) < width - 3:
        return name[: width - len(m[0]) - 1] + "…" + m[0]
    return name[: width - 1] + "…"


_RELATION_SUFFIX = re.compile(r" \(relation [0-9]+\)$")


def terminal_table(c: Comparison) -> str:
    """A table that fits 100 columns; everything else is in --format json."""
    lines = []
    head = (f"{'#':>3} {'area':<26} {'kind':<6} {'cameras':>7} {'km²':>8} {'per km²':>8} "
            f"{'per 1k':>7} {'res':>3} {'tagging':<13} {'data date':<10}")  # fmt: skip
    lines.append(head)
    lines.append("-" * len(head))
    for r in c.rows:
        name = short_name(r["area"], 26)
        km2 = f"{r['area_km2']:.2f}" + ("*" if r["area_official"] else " ")
        per_km2 = f"{r['per_km2']:.2f}" if r["per_km2"] is not None else "-"
        per_1k = f"{r['per_1k']:.3f}" if r["per_1k"] is not None else "-"
        lines.append(
            f"{r['rank'] if r['rank'] is not None else '-':>3} {name:<26} "
            f"{KIND_LABELS.get(r['kind'], r['kind'])[:6]:<6} {r['cameras']:>7} {km2:>8} "
            f"{per_km2:>8} {per_1k:>7} {r['res']:>3} {r['grade']:<13} {r['data_date'] or '-':<10}"
        )
    lines.append("")
    lines.append("* official land area; others geodesic area of the boundary.")
    lines.extend(coverage.street_lines(c.rows))
    for line in header_lines(c):
        lines.extend(textwrap.wrap(line, 100))
    return "\n".join(line.rstrip() for line in lines)
