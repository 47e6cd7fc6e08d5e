"""Fields of view, and the share of an area's streets inside a mapped camera's view.

**Which cameras see.** Every camera of the area (the shared inside test) except guards and
gunshot detectors (``kind``), which are not cameras, and indoor ones (``visibility=indoor``),
which see no street. Of those, a camera with at least one parsed direction sector is
*directed*; one without (no direction, or none that could be read: see
:func:`mapper.tags.parse_directions`) is *undirected* and is never given a direction.

**Field of view.** One per parsed sector, with the radius the maps draw
(``CONE_RADIUS_M`` by ``camera_type``: fixed 30 m, dome 20 m, panning 40 m, other or unknown
25 m). A single bearing is a 60° wedge centred on it (``BEARING_WIDTH_DEG``), a range is
drawn from its start clockwise to its end, ``0-360`` is a disc. The second, labelled figure
("with discs") also gives each undirected camera a disc of the same radius.

**Cut by buildings: rays.** From the camera, a ray every ``RAY_STEP_DEG`` (2°) across the
sector (both edges included) runs out to the radius, or to the first building wall it meets
(``building=*`` ways and multipolygons, their outer and inner rings); the field of view is the
polygon through the camera and the rays' ends. A building within ``OWN_BUILDING_M`` (1 m) of
the camera, or holding it, is the one it hangs on (cameras are mapped on a facade or a little
inside it) and does not block its view. Between two rays the view is a straight edge: at
30 m, a corner narrower than about 1 m can be missed. The geometry is computed in metres, in
an azimuthal equidistant projection centred on the cameras (pyproj), for the buildings and
streets within reach of a camera only; each ray is tested against the wall segments of the
buildings its box meets (numpy, in chunks of ``RAY_CHUNK`` rays).

**Coverage** of an area or an H3 cell: the length of its street network (see
:mod:`mapper.sources.streets`) inside the union of the fields of view, divided by its whole
(geodesic) street length; between 0 and 1, ``None`` when no stored extract holds the area.
A street's pieces inside the views are intervals along it, merged, so that a metre two cameras
see counts once; their length is measured in the projection (within 1e-4 of geodesic over
100 km). Cameras per street km counts every mapped camera of the area, as ``compare`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import h3
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from mapper import sql
from mapper.areas import geometry_of
from mapper.sources.streets import geodesic_lengths
from mapper.streets import AreaStreets, area_streets

CONE_RADIUS_M = {"fixed": 30.0, "dome": 20.0, "panning": 40.0}
CONE_RADIUS_DEFAULT_M = 25.0
BEARING_WIDTH_DEG = 60.0
RAY_STEP_DEG = 2.0
OWN_BUILDING_M = 1.0
NOT_CAMERAS = ("guard", "gunshot_detector")
NOT_SEEING_VISIBILITY = ("indoor",)
ALL_ROUND = (0.0, 360.0)
#: Buildings this far (degrees) beyond an area's box are still read: a camera near the
#: boundary may look past one outside (40 m, the largest radius, is ~0.0004° of latitude).
BUILDING_MARGIN_DEG = 0.001

Geoms = NDArray[np.object_]


def radius_of(camera_type: str | None) -> float:
    return CONE_RADIUS_M.get(camera_type or "", CONE_RADIUS_DEFAULT_M)


def sees(cam: dict[str, Any]) -> bool:
    """Whether a camera's view counts (see the module's documentation)."""
    return cam["kind"] not in NOT_CAMERAS and cam["visibility"] not in NOT_SEEING_VISIBILITY


def _spans(sectors: Sequence[Sequence[float]]) -> list[tuple[float, float, bool]]:
    """(start bearing, clockwise span, closed disc) for each sector."""
    out = []
    for a, b in sectors:
        if (a, b) == ALL_ROUND:
            out.append((0.0, 360.0, True))
        elif a == b:
            out.append((a - BEARING_WIDTH_DEG / 2, BEARING_WIDTH_DEG, False))
        else:
            out.append((a, (b - a) % 360.0, False))
    return out


@dataclass
class Views:
    """Fields of view in metres (local projection): one polygon per (camera, sector)."""

    polygons: Geoms
    camera: NDArray[np.int64]  # index of the camera each polygon belongs to


def fields_of_view(
    xy: NDArray[np.float64], radii: Sequence[float], sectors: Sequence[Sequence[Sequence[float]]],
    buildings: Geoms | None = None, step: float = RAY_STEP_DEG,
) -> Views:  # fmt: skip
    """The fields of view of cameras at ``xy`` (metres), each with its radius and sectors,
    cut by ``buildings`` (polygons in the same metres) when given."""
    owner: list[int] = []  # ray -> field of view
    cam_of: list[int] = []  # field of view -> camera
    closed: list[bool] = []
    angles: list[NDArray[np.float64]] = []
    for i, secs in enumerate(sectors):
        for start, span, disc in _spans(secs):
            if disc:
                n = max(8, math.ceil(360.0 / step))
                a = start + 360.0 * np.arange(n) / n
            else:
                n = max(2, math.ceil(span / step) + 1)
                a = start + span * np.arange(n) / (n - 1)
            angles.append(a)
            owner.extend([len(cam_of)] * len(a))
            cam_of.append(i)
            closed.append(disc)
    if not cam_of:
        return Views(np.empty(0, dtype=object), np.empty(0, dtype=np.int64))
    ray_fov = np.asarray(owner, dtype=np.int64)
    fov_cam = np.asarray(cam_of, dtype=np.int64)
    ray_cam = fov_cam[ray_fov]
    theta = np.radians(np.concatenate(angles))
    origin = xy[ray_cam]
    reach = np.asarray(radii, dtype=np.float64)[ray_cam]
    if buildings is not None and len(buildings):
        reach = _cut(origin, theta, reach, ray_cam, xy, buildings)
    ends = origin + np.column_stack((np.sin(theta), np.cos(theta))) * reach[:, None]
    # Each polygon: the camera (for a sector), then its rays' ends in clockwise order.
    closed_arr = np.asarray(closed)
    heads = np.flatnonzero(~closed_arr)
    pts = np.concatenate((xy[fov_cam[heads]], ends))
    idx = np.concatenate((heads, ray_fov))
    order = np.argsort(np.concatenate((np.zeros(len(heads)), np.ones(len(ends)))), kind="stable")
    order = order[np.argsort(idx[order], kind="stable")]
    rings = shapely.linearrings(pts[order], indices=idx[order])
    polygons = shapely.polygons(rings)
    bad = ~shapely.is_valid(polygons)
    if bad.any():
        polygons[bad] = shapely.make_valid(polygons[bad])
    return Views(polygons, fov_cam)


#: Rays cut in chunks of about this many, so that the candidate pairs stay small in memory.
RAY_CHUNK = 100_000


@dataclass
class Walls:
    """Building walls as segments (metres), grouped by building, with an STR tree of the
    buildings: a ray is tested against the segments of the buildings its box meets."""

    tree: shapely.STRtree
    start: NDArray[np.float64]  # (segments, 2)
    end: NDArray[np.float64]
    first: NDArray[np.int64]  # building -> its first segment
    count: NDArray[np.int64]  # building -> how many segments

    @classmethod
    def of(cls, buildings: Geoms) -> Walls:
        polys, owner = shapely.get_parts(buildings, return_index=True)
        rings, ring_poly = shapely.get_rings(polys, return_index=True)
        coords, ring = shapely.get_coordinates(rings, return_index=True)
        same = ring[1:] == ring[:-1]
        seg_building = owner[ring_poly[ring[:-1][same]]]
        order = np.argsort(seg_building, kind="stable")
        start, end = coords[:-1][same][order], coords[1:][same][order]
        count = np.bincount(seg_building, minlength=len(buildings))
        first = np.concatenate(([0], np.cumsum(count)[:-1]))
        return cls(shapely.STRtree(buildings), start, end, first, count)


def _cut(
    origin: NDArray[np.float64], theta: NDArray[np.float64], reach: NDArray[np.float64],
    ray_cam: NDArray[np.int64], xy: NDArray[np.float64], buildings: Geoms,
) -> NDArray[np.float64]:  # fmt: skip
    """Each ray's length to the first wall of a building other than its camera's own."""
    walls = Walls.of(buildings)
    cam_i, own_b = walls.tree.query(
        shapely.points(xy), predicate="dwithin", distance=OWN_BUILDING_M
    )
    own_keys = cam_i.astype(np.int64) * len(buildings) + own_b
    out = reach.copy()
    for lo in range(0, len(origin), RAY_CHUNK):
        sl = slice(lo, lo + RAY_CHUNK)
        out[sl] = _cut_chunk(origin[sl], theta[sl], reach[sl], ray_cam[sl], walls, own_keys,
                             len(buildings))  # fmt: skip
    return out


def _cut_chunk(
    origin: NDArray[np.float64], theta: NDArray[np.float64], reach: NDArray[np.float64],
    ray_cam: NDArray[np.int64], walls: Walls, own_keys: NDArray[np.int64], nb: int,
) -> NDArray[np.float64]:  # fmt: skip
    d = np.column_stack((np.sin(theta), np.cos(theta)))
    tip = origin + d * reach[:, None]
    lo, hi = np.minimum(origin, tip) - 1e-6, np.maximum(origin, tip) + 1e-6
    ray_i, bld_i = walls.tree.query(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))
    keys = ray_cam[ray_i].astype(np.int64) * nb + bld_i
    own = np.isin(keys, own_keys)
    ray_i, bld_i = ray_i[~own], bld_i[~own]
    out = reach.copy()
    if len(ray_i) == 0:
        return out
    # every segment of each candidate building, against its ray
    n = walls.count[bld_i]
    r = np.repeat(ray_i, n)
    seg = np.repeat(walls.first[bld_i] - np.cumsum(n) + n, n) + np.arange(n.sum())
    e = walls.end[seg] - walls.start[seg]
    dr, w = d[r], walls.start[seg] - origin[r]
    denom = dr[:, 0] * e[:, 1] - dr[:, 1] * e[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (w[:, 0] * e[:, 1] - w[:, 1] * e[:, 0]) / denom
        u = (w[:, 0] * dr[:, 1] - w[:, 1] * dr[:, 0]) / denom
    hit = (np.abs(denom) > 1e-12) & (t >= 0) & (u >= 0) & (u <= 1) & (t < reach[r])
    r, t = r[hit], t[hit]
    if len(r):  # r ascends (the tree answers in the order of its queries): group minima
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        out[r[starts]] = np.minimum(out[r[starts]], np.minimum.reduceat(t, starts))
    return out


def local_projection(lon: float, lat: float) -> tuple[Transformer, Transformer]:
    """To and from metres in an azimuthal equidistant projection centred on (lon, lat)."""
    crs = f"+proj=aeqd +lat_0={lat:.7f} +lon_0={lon:.7f} +datum=WGS84 +units=m +no_defs"
    return (
        Transformer.from_crs("EPSG:4326", crs, always_xy=True),
        Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
    )


def _apply(t: Transformer, geoms: Geoms) -> Geoms:
    if len(geoms) == 0:
        return geoms
    out: Geoms = shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))
    return out


def pieces_in(lines: Geoms, shapes: Geoms) -> tuple[Geoms, NDArray[np.int64], NDArray[np.int64]]:
    """The parts of ``lines`` inside each of ``shapes`` (polygons that do not overlap):
    (pieces, line index, shape index), through an STR tree and pairwise intersections."""
    empty = np.empty(0, dtype=np.int64)
    if len(lines) == 0 or len(shapes) == 0:
        return np.empty(0, dtype=object), empty, empty
    tree = shapely.STRtree(shapes)
    li, si = tree.query(lines, predicate="intersects")
    if len(li) == 0:
        return np.empty(0, dtype=object), empty, empty
    pieces = shapely.intersection(lines[li], shapes[si])
    keep = ~shapely.is_empty(pieces)
    return pieces[keep], li[keep], si[keep]


def _share(part: float, whole: float) -> float | None:
    return round(min(1.0, part / whole), 4) if whole > 0 else None


def cell_polygons(cells: Sequence[str]) -> Geoms:
    """Each cell's hexagon (or pentagon, or a cell with extra vertices where it crosses an
    icosahedron edge) as a shapely polygon, built in one vectorised call."""
    if not len(cells):
        return np.empty(0, dtype=object)
    rings = [h3.cell_to_boundary(c) for c in cells]
    sizes = np.fromiter((len(r) for r in rings), np.intp, len(rings))
    latlng = np.array([p for r in rings for p in r], np.float64)
    which = np.repeat(np.arange(len(rings)), sizes)
    return np.asarray(shapely.polygons(shapely.linearrings(latlng[:, ::-1], indices=which)))


@dataclass
class Coverage:
    """An area's street figures and coverage (lengths in metres, geometries in lon/lat)."""

    stored: bool  # the store holds streets (else every figure is None)
    cameras: int
    seeing: int
    directed: int
    undirected: int
    street_m: float
    walk_m: float
    in_view_m: float
    in_view_discs_m: float
    views: Geoms = field(default_factory=lambda: np.empty(0, dtype=object))
    view_directed: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    in_view: Geoms = field(default_factory=lambda: np.empty(0, dtype=object))  # directed
    in_view_discs: Geoms = field(default_factory=lambda: np.empty(0, dtype=object))
    streets: Geoms = field(default_factory=lambda: np.empty(0, dtype=object))
    walk: Geoms = field(default_factory=lambda: np.empty(0, dtype=object))

    @property
    def share(self) -> float | None:
        """Coverage by directed cameras, unrounded."""
        return self.in_view_m / self.street_m if self.stored and self.street_m > 0 else None

    @property
    def share_discs(self) -> float | None:
        """Coverage with undirected cameras as discs, unrounded."""
        return self.in_view_discs_m / self.street_m if self.stored and self.street_m > 0 else None

    def figures(self) -> dict[str, Any]:
        """The per-area figures (``compare`` columns)."""
        km = self.street_m / 1000
        if not self.stored:
            return dict.fromkeys(FIGURES)
        return {
            "street_km": round(km, 3),
            "walk_km": round(self.walk_m / 1000, 3),
            "per_street_km": round(self.cameras / km, 4) if km > 0 else None,
            "directed": self.directed,
            "undirected": self.undirected,
            "coverage": _share(self.in_view_m, self.street_m),
            "coverage_discs": _share(self.in_view_discs_m, self.street_m),
        }

    def cells(self, cells: Sequence[str], counts: Sequence[int]) -> list[dict[str, Any]]:
        """The figures of each H3 cell (streets clipped to the cell and to the area)."""
        polys = cell_polygons(cells)
        sums = {}
        for key, lines in (("street", self.streets), ("walk", self.walk),
                           ("view", self.in_view), ("discs", self.in_view_discs)):  # fmt: skip
            pieces, _, ci = pieces_in(lines, polys)
            total = np.zeros(len(cells))
            np.add.at(total, ci, geodesic_lengths(pieces))
            sums[key] = total
        out = []
        for i, c in enumerate(cells):
            street = float(sums["street"][i])
            out.append({
                "h3": c,
                "street_km": round(street / 1000, 4) if self.stored else None,
                "walk_km": round(float(sums["walk"][i]) / 1000, 4) if self.stored else None,
                "per_street_km": round(counts[i] / (street / 1000), 3) if street > 0 else None,
                "coverage": _share(float(sums["view"][i]), street),
                "coverage_discs": _share(float(sums["discs"][i]), street),
            })  # fmt: skip
        return out


FIGURES = (
    "street_km", "walk_km", "per_street_km", "directed", "undirected", "coverage",
    "coverage_discs",
)  # fmt: skip


def _near(tree: shapely.STRtree, points: Geoms, lat: float) -> NDArray[np.int64]:
    """Indices of the tree's geometries (lon/lat) within the largest radius of the points."""
    reach = 1.2 * max(*CONE_RADIUS_M.values(), CONE_RADIUS_DEFAULT_M)
    deg = reach / (111_000 * max(0.05, math.cos(math.radians(min(abs(lat), 87.0)))))
    _, idx = tree.query(points, predicate="dwithin", distance=deg)
    return np.unique(idx)


def in_view(lines: Geoms, views: Geoms) -> tuple[float, Geoms]:
    """The length of ``lines`` inside the union of ``views`` (metres, same plane), and those
    parts, each counted once: every piece a view cuts from a line is an interval along it
    (linear referencing), and overlapping intervals of one line are merged."""
    pieces, li, _ = pieces_in(lines, views)
    if len(pieces) == 0:
        return 0.0, np.empty(0, dtype=object)
    parts, k = shapely.get_parts(pieces, return_index=True)
    linear = shapely.get_type_id(parts) == 1
    parts, line = parts[linear], li[k[linear]]
    a = shapely.line_locate_point(lines[line], shapely.get_point(parts, 0))
    b = shapely.line_locate_point(lines[line], shapely.get_point(parts, -1))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((lo, line))
    line, lo, hi = line[order], lo[order], hi[order]
    merged: list[tuple[int, float, float]] = []
    for ln, x, y in zip(line.tolist(), lo.tolist(), hi.tolist(), strict=True):
        if merged and merged[-1][0] == ln and x <= merged[-1][2]:
            if y > merged[-1][2]:
                merged[-1] = (ln, merged[-1][1], y)
        else:
            merged.append((ln, x, y))
    total = sum(y - x for _, x, y in merged)
    from shapely.ops import substring

    out = np.array([substring(lines[ln], x, y) for ln, x, y in merged if y > x], dtype=object)
    return float(total), out


def coverage_of(
    streets: AreaStreets, cams: Sequence[dict[str, Any]], *, occlusion: bool = True,
    step: float = RAY_STEP_DEG, geometry: bool = True,
) -> Coverage:  # fmt: skip
    """Coverage of streets already clipped to an area by these cameras (see the module).

    Only the buildings and streets within reach of a camera are projected and cut; lengths
    in view are measured in the local projection (within 1e-4 of geodesic over 100 km).
    ``geometry``: also keep the fields of view in lon/lat (for maps).
    """
    seeing = [c for c in cams if sees(c)]
    directed = [c for c in seeing if len(c["directions"]) > 0]
    street_lines = streets.lines[streets.street]
    result = Coverage(
        stored=streets.stored, cameras=len(cams), seeing=len(seeing), directed=len(directed),
        undirected=len(seeing) - len(directed),
        street_m=float(streets.length_m[streets.street].sum()),
        walk_m=float(streets.length_m[streets.walk].sum()), in_view_m=0.0,
        in_view_discs_m=0.0, streets=street_lines, walk=streets.lines[streets.walk],
    )  # fmt: skip
    if not seeing or len(street_lines) == 0:
        return result
    lons = np.array([c["lon"] for c in seeing])
    lats = np.array([c["lat"] for c in seeing])
    lat0 = float(lats.max()) if abs(lats.max()) > abs(lats.min()) else float(lats.min())
    fwd, inv = local_projection((lons.min() + lons.max()) / 2, (lats.min() + lats.max()) / 2)
    x, y = fwd.transform(lons, lats)
    xy = np.column_stack((x, y))
    points = shapely.points(lons, lats)
    sectors = [[tuple(s) for s in c["directions"]] or [ALL_ROUND] for c in seeing]
    radii = [radius_of(c["camera_type"]) for c in seeing]
    blds = None
    if occlusion and len(streets.buildings):
        near_b = _near(shapely.STRtree(streets.buildings), points, lat0)
        blds = _apply(fwd, streets.buildings[near_b])
    views = fields_of_view(xy, radii, sectors, blds, step)
    is_directed = np.array([len(c["directions"]) > 0 for c in seeing])[views.camera]
    near_s = _near(shapely.STRtree(street_lines), points, lat0)
    parts = shapely.get_parts(street_lines[near_s])  # a clipped street may be in pieces
    lines_m = _apply(fwd, parts[shapely.get_type_id(parts) == 1])
    for discs in (False, True):
        chosen = views.polygons if discs else views.polygons[is_directed]
        metres, pieces = in_view(lines_m, chosen)
        if discs:
            result.in_view_discs, result.in_view_discs_m = _apply(inv, pieces), metres
        else:
            result.in_view, result.in_view_m = _apply(inv, pieces), metres
    if geometry:
        result.views, result.view_directed = _apply(inv, views.polygons), is_directed
    return result


def area_coverage(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], *, occlusion: bool = True,
    geometry: bool = True,
) -> Coverage:  # fmt: skip
    """An area's coverage from the store, on a prepared connection (spatial, area macro)."""
    if "geometry" not in area:
        area = sql.rows(con, "area-get-id", id=area["id"])[0]
    shape = geometry_of(area)
    streets = area_streets(con, area, shape, BUILDING_MARGIN_DEG)
    cams = sql.rows(con, "coverage-cameras", area_id=area["id"])
    if not streets.stored:
        return Coverage(False, len(cams), 0, 0, 0, 0.0, 0.0, 0.0, 0.0)
    return coverage_of(streets, cams, occlusion=occlusion, geometry=geometry)


#: ``compare`` sort keys these figures add.
SORT_KEYS = ("per_street_km", "coverage", "coverage_discs")


def add_figures(
    con: duckdb.DuckDBPyConnection, areas: Sequence[dict[str, Any]], rows: list[dict[str, Any]]
) -> None:
    """Give each ``compare`` row (same order as ``areas``) the street figures (``FIGURES``);
    ``None`` everywhere when the store holds no streets (one query, no geometry read)."""
    stored = bool(sql.rows(con, "street-files"))
    for area, row in zip(areas, rows, strict=True):
        figures = area_coverage(con, area, geometry=False).figures() if stored else None
        row.update(figures or dict.fromkeys(FIGURES))


def street_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The street figures as a small table for the terminal (empty when none)."""
    shown = [r for r in rows if r.get("street_km") is not None]
    if not shown:
        return []

    def pct(x: float | None) -> str:
        return f"{100 * x:.1f}%" if x is not None else "-"

    head = (f"{'area':<30} {'street km':>9} {'walk km':>8} {'per st.km':>9} {'directed':>8} "
            f"{'undir.':>6} {'coverage':>8} {'w/ discs':>8}")  # fmt: skip
    out = ["", head, "-" * len(head)]
    for r in shown:
        name = r["area"] if len(r["area"]) <= 30 else r["area"][:29] + "…"
        per = f"{r['per_street_km']:.2f}" if r["per_street_km"] is not None else "-"
        out.append(
            f"{name:<30} {r['street_km']:>9.1f} {r['walk_km']:>8.1f} {per:>9} "
            f"{r['directed']:>8} {r['undirected']:>6} {pct(r['coverage']):>8} "
            f"{pct(r['coverage_discs']):>8}"
        )
    out.append("Coverage: share of street length in a directed camera's field of view, cut by")
    out.append("buildings; w/ discs: undirected cameras as discs too (docs/streets.md).")
    return out


#: The per-cell figures ``grid`` adds for an area (``Coverage.cells``).
CELL_FIGURES = ("street_km", "walk_km", "per_street_km", "coverage", "coverage_discs")


def add_cell_figures(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    """Give each of an area's grid rows its street figures (``CELL_FIGURES``), when the store
    holds streets in the area (else the rows stay as they are)."""
    if not rows or not sql.rows(con, "street-files"):
        return
    cov = area_coverage(con, area, geometry=False)
    if not cov.stored:
        return
    figures = cov.cells([r["h3"] for r in rows], [int(r["cameras"]) for r in rows])
    for r, f in zip(rows, figures, strict=True):
        r.update({k: f[k] for k in CELL_FIGURES})


#: Coverage classes of the choropleth (share of street length in view), and their colours
#: (ColorBrewer Blues).
COVERAGE_EDGES = (0.0, 0.05, 0.15, 0.3, 0.5, 1.0)
COVERAGE_COLOURS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")


def _flat(coords: NDArray[np.float64]) -> list[float]:
    """[lat, lon, lat, lon, ...] rounded to 6 decimals (about 0.1 m)."""
    return [round(float(v), 6) for pt in coords for v in (pt[1], pt[0])]


def _rings(geoms: Geoms) -> list[list[float]]:
    out = []
    for g in shapely.get_parts(geoms):
        if shapely.get_type_id(g) == 3 and not g.is_empty:  # Polygon: its outer ring
            out.append(_flat(shapely.get_coordinates(g.exterior)))
    return out


def _paths(lines: Geoms) -> list[list[float]]:
    return [
        _flat(shapely.get_coordinates(g))
        for g in shapely.get_parts(lines)
        if shapely.get_type_id(g) == 1 and not g.is_empty
    ]


def coverage_class(share: float | None) -> int:
    """-1 for no street; else the class of ``COVERAGE_EDGES`` (upper edges inclusive, 0 in
    the first)."""
    if share is None:
        return -1
    for i in range(1, len(COVERAGE_EDGES)):
        if share <= COVERAGE_EDGES[i]:
            return i - 1
    return len(COVERAGE_EDGES) - 2


def map_payload(cov: Coverage | None, cells: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """What a map panel draws of the coverage (JSON-ready), or None without stored streets:
    fields of view (directed; undirected as discs), the street pieces in view, and each
    cell's coverage class."""
    if cov is None or not cov.stored:
        return None
    directed = cov.view_directed if len(cov.views) else np.zeros(0, bool)
    return {
        "views": _rings(cov.views[directed]) if len(cov.views) else [],
        "discs": _rings(cov.views[~directed]) if len(cov.views) else [],
        "inView": _paths(cov.in_view),
        "inViewDiscs": _paths(cov.in_view_discs),
        "cells": [coverage_class(c.get("coverage")) for c in cells],
        "edges": list(COVERAGE_EDGES),
        "colours": list(COVERAGE_COLOURS),
        "figures": cov.figures(),
    }
