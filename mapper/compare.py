"""Per-area figures and rankings: cameras per km² and per 1,000 residents, the mix of types,
tagging completeness and concentration, each row reproducible from the store.

Completeness grade: the mean of four shares (cameras with a known kind, a direction, an
operator, a camera:type). "well tagged" when the mean is at least 0.6, "partly tagged" from
0.3, "barely tagged" below 0.3, and "no cameras mapped" for an area without cameras. It says
how much detail the mapped cameras carry; it cannot say how many cameras are unmapped.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from mapper import ATTRIBUTION, sql
from mapper.areas import get as get_area
from mapper.errors import InputError
from mapper.grid import area_grid, check_resolution, default_resolution, prepare
from mapper.store import open_store
from mapper.tags import KINDS, VISIBILITIES

SORT_KEYS = ("per_km2", "per_1k", "cameras")
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
    resolution: int
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


def _row(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], res: int,
    cells: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    t = sql.rows(con, "compare-area-totals", area_id=area["id"])[0]
    groups: dict[str, dict[str, int]] = {}
    for g in sql.rows(con, "compare-area-groups", area_id=area["id"]):
        groups.setdefault(g["field"], {})[g["value"]] = int(g["n"])
    n = int(t["cameras"])
    if cells is None:
        cells = area_grid(con, area, res)
    counts = [c["cameras"] for c in cells]
    completeness = {
        "kind": _share(t["with_kind"], n),
        "direction": _share(t["with_direction"], n),
        "operator": _share(t["with_operator"], n),
        "camera_type": _share(t["with_camera_type"], n),
    }
    km2 = float(area["area_km2"])
    pop = area["population"]
    reported = area["reported_cameras"]
    concentration = gini(counts)
    return {
        "area": area["name"],
        "kind": area["kind"],
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
        "cells": len(counts),
        "occupied_share": _share(sum(1 for c in counts if c > 0), len(counts)),
        "max_cell": max(counts) if counts else 0,
        "gini": round(concentration, 4) if concentration is not None else None,
        "reported_cameras": reported,
        "reported_source": area["reported_source"],
        "mapped_share": round(n / reported, 4) if reported else None,
        "population_source": area["population_source"],
        "boundary_source": area["source"],
        "boundary_credit": area["credit"],
    }


def compare(
    db: str | None, names: Sequence[str] = (), *, all_areas: bool = False,
    kinds: Sequence[str] = (), sort: str = "per_km2", res: int | None = None,
    at: datetime | None = None,
) -> Comparison:  # fmt: skip
    """One row per area, ranked on ``sort``; every area on the same H3 resolution; ``at``:
    the store as of that moment (:func:`mapper.history.as_of`)."""
    if sort not in SORT_KEYS:
        raise InputError(f"cannot sort by '{sort}'; use one of {', '.join(SORT_KEYS)}")
    if res is not None:
        check_resolution(res)
    if not names and not all_areas:
        raise InputError("name the areas to compare, or pass --all (see 'camdensity area list')")
    with open_store(db) as con:
        prepare(con)
        if at is not None:
            from mapper.history import as_of

            as_of(con, at)
        if all_areas:
            names = [r["name"] for r in sql.rows(con, "area-names")]
        areas = [get_area(con, n) for n in dict.fromkeys(names)]
        if kinds:
            areas = [a for a in areas if a["kind"] in kinds]
        if not areas:
            raise InputError("no areas to compare (check --kind, or add areas first)")
        return compare_areas(con, areas, sort=sort, res=res)


def shared_resolution(areas: Sequence[dict[str, Any]]) -> int:
    """One resolution for areas compared together: the grid rule for the largest."""
    return default_resolution(max(a["geodesic_km2"] for a in areas))


def compare_areas(
    con: duckdb.DuckDBPyConnection, areas: Sequence[dict[str, Any]], *, sort: str = "per_km2",
    res: int | None = None, grids: dict[int, list[dict[str, Any]]] | None = None,
) -> Comparison:  # fmt: skip
    """Rows for areas already read (``area-get`` rows), on an open, prepared connection.

    ``grids`` may hold each area's cells at ``res`` (by area id), computed by the caller.
    """
    r = res if res is not None else shared_resolution(areas)
    rows = [_row(con, a, r, (grids or {}).get(a["id"])) for a in areas]
    rank(rows, sort)
    return Comparison(rows, r, sort)


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
       "data_date", "cells", "occupied_share", "max_cell", "gini", "reported_cameras",
       "reported_source", "mapped_share"]
)  # fmt: skip


def header_lines(c: Comparison) -> list[str]:
    return [
        f"camdensity compare, sorted by {c.sort}; H3 resolution {c.resolution}; "
        f"data date {c.data_date or 'unknown'}",
        f"Data {ATTRIBUTION}",
        CAVEAT,
    ]


def terminal_table(c: Comparison) -> str:
    """A table that fits 100 columns; everything else is in --format json."""
    lines = []
    head = (f"{'#':>3} {'area':<28} {'kind':<6} {'cameras':>7} {'km²':>8} {'per km²':>8} "
            f"{'per 1k':>7} {'tagging':<13} {'data date':<10}")  # fmt: skip
    lines.append(head)
    lines.append("-" * len(head))
    for r in c.rows:
        name = r["area"] if len(r["area"]) <= 28 else r["area"][:27] + "…"
        km2 = f"{r['area_km2']:.2f}" + ("*" if r["area_official"] else " ")
        per_km2 = f"{r['per_km2']:.2f}" if r["per_km2"] is not None else "-"
        per_1k = f"{r['per_1k']:.3f}" if r["per_1k"] is not None else "-"
        lines.append(
            f"{r['rank'] if r['rank'] is not None else '-':>3} {name:<28} "
            f"{KIND_LABELS.get(r['kind'], r['kind'])[:6]:<6} {r['cameras']:>7} {km2:>8} "
            f"{per_km2:>8} {per_1k:>7} {r['grade']:<13} {r['data_date'] or '-':<10}"
        )
    lines.append("")
    lines.append("* official land area; others geodesic area of the boundary.")
    for line in header_lines(c):
        lines.extend(textwrap.wrap(line, 100))
    return "\n".join(line.rstrip() for line in lines)
