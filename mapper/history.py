"""Change over time: the store's cameras as of any date, series per area, and what changed.

Every ingested snapshot is kept (``snapshot_cameras``, schema v4): each source's own copy of
each of its cameras, with the element's version and edit time; a history file's every version
in which an element was a visible camera, valid from its timestamp to the next version's.

The store as of a moment (:func:`as_of`): each dated source stands for its snapshot date, a
history file for any moment up to its own date. Of those that stand, the newest wins each
element, and a camera is gone once a newer snapshot that covers its position (its header
box, else the box of its nodes) lacks it. A ``DATE`` (YYYY-MM-DD) means the end of that day,
UTC: the newest snapshot at or before it stands for it. Undated sources take no part.

A series is counted inside each area's *current* boundary at every date (boundaries change
too: the Monaco quarters are 3 in the 2012 extract, 9 in 2020, 6 in 2023); every series says
so. First-mapped dates are exact only where the element's previous version is known (version
1, or a history file holding the one before); otherwise the camera was mapped *by* that date.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

from mapper import ATTRIBUTION, sql
from mapper.errors import InputError
from mapper.sources import Element, Extract
from mapper.store import open_store

EVERY = ("month", "year")
#: A camera shown only as a count on public pages (as on the maps: indoor, other, doorbell).
PRIVATE_VISIBILITY = ("indoor", "other")
PRIVATE_CAMERA_TYPES = ("doorbell",)
OSM_URL = "https://www.openstreetmap.org/{osm_type}/{osm_id}"


# ----------------------------------------------------------------------------- keeping
def keep_snapshot(
    con: duckdb.DuckDBPyConnection, ex: Extract, source_id: int,
    stage: Callable[[duckdb.DuckDBPyConnection, Extract], int],
) -> None:  # fmt: skip
    """Keep the extract's own copy of its cameras (inside the ingest's transaction, while
    its cameras are staged): every element as read, or a history file's every camera
    version, staged again by ``stage`` (:func:`mapper.ingest.stage`, given by the ingest:
    it imports this module); and the box the snapshot speaks for. Then the store's cameras
    "now" lose those that a newer snapshot of their place lacks."""
    import numpy as np

    box = ex.bbox or ex.extent
    if box is not None:
        sql.run(con, "snapshot-cover-insert", source_id=source_id, min_lon=box[0],
                min_lat=box[1], max_lon=box[2], max_lat=box[3])  # fmt: skip
    if ex.versions:
        elements, columns = _camera_versions(ex)
        sql.run(con, "staged-drop")
        stage(con, Extract(ex.path, ex.sha256, ex.format, elements))
    else:  # a plain extract: its elements as staged, in NumPy (20,900 cameras: 30 ms)
        n = len(ex.elements)
        version = np.fromiter((e.version for e in ex.elements), np.int64, n)
        none = np.zeros(n, np.int64)
        columns = {
            "version": version, "edited_us": np.fromiter(
                (_micros(e.timestamp) for e in ex.elements), np.int64, n),
            "prior_known": version == 1, "from_us": none, "to_us": none,
            "ended": np.zeros(n, np.int8),
        }  # fmt: skip
    columns["seq"] = np.arange(len(columns["version"]), dtype=np.int64)
    con.register("snapshot_rows", columns)
    try:
        sql.run(con, "snapshot-tags-insert")
        sql.run(con, "snapshot-insert-staged", source_id=source_id)
    finally:
        con.unregister("snapshot_rows")
    sql.run(con, "cameras-drop-covered")


_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
#: How a run of camera versions ended (snapshot_rows.ended; queries/history.sql).
ENDED = {"": 0, "deleted": 1, "untagged": 2}


def _micros(t: datetime | None) -> int:
    """Microseconds since 1970 (naive UTC); 0 for none (stored as NULL, as is 1970 itself:
    libosmium's time of an element without one)."""
    return (t - _EPOCH) // _US if t is not None else 0


def _camera_versions(ex: Extract) -> tuple[list[Element], dict[str, Any]]:
    """A history file's camera versions as elements, each valid to the next version's time;
    the last of a run ends 'deleted' or 'untagged' when a version follows it. Also their
    ``snapshot_rows`` columns."""
    import numpy as np

    out: list[Element] = []
    rows: dict[str, list[Any]] = {k: [] for k in ("version", "edited", "prior", "to", "end")}
    vs = ex.versions
    for i, v in enumerate(vs):
        if not v.matches or v.lat != v.lat:  # not a camera then, or not placed (NaN)
            continue
        nxt = vs[i + 1] if i + 1 < len(vs) else None
        same = nxt is not None and (nxt.osm_type, nxt.osm_id) == (v.osm_type, v.osm_id)
        prev = vs[i - 1] if i > 0 else None
        prior = v.version == 1 or (
            prev is not None
            and (prev.osm_type, prev.osm_id) == (v.osm_type, v.osm_id)
            and prev.version == v.version - 1
        )
        out.append(Element(v.osm_type, v.osm_id, v.lat, v.lon, v.tags, v.speed_camera,
                           v.version, v.timestamp))  # fmt: skip
        rows["version"].append(v.version)
        rows["edited"].append(_micros(v.timestamp))
        rows["prior"].append(prior)
        rows["to"].append(_micros(nxt.timestamp) if same and nxt else 0)
        ended = ""
        if same and nxt is not None and not nxt.matches:
            ended = "untagged" if nxt.visible else "deleted"
        rows["end"].append(ENDED[ended])
    edited = np.array(rows["edited"], np.int64)
    return out, {
        "version": np.array(rows["version"], np.int64), "edited_us": edited,
        "prior_known": np.array(rows["prior"], np.bool_), "from_us": edited,
        "to_us": np.array(rows["to"], np.int64), "ended": np.array(rows["end"], np.int8),
    }  # fmt: skip


# ----------------------------------------------------------------------------- moments
def parse_date(text: str, what: str = "date") -> datetime:
    """``YYYY-MM-DD`` as the end of that day, UTC (naive)."""
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d")
    except ValueError:
        raise InputError(f"{what} '{text}' is not a date like 2023-12-26 (YYYY-MM-DD)") from None
    return day + timedelta(days=1) - timedelta(microseconds=1)


def as_of(con: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """From now on, this connection's ``cameras`` are the store's as of ``at``."""
    from mapper.grid import release_view

    release_view(con)
    sql.run(con, "macro-cameras-at")
    sql.run(con, "history-as-of", at=at)


def _period_end(t: datetime, every: str) -> datetime:
    if every == "year":
        return datetime(t.year, 12, 31, 23, 59, 59, 999999)
    last = calendar.monthrange(t.year, t.month)[1]
    return datetime(t.year, t.month, last, 23, 59, 59, 999999)


def _next_period(t: datetime, every: str) -> datetime:
    return _period_end(t, every) + timedelta(microseconds=1)


def _overlaps(row: dict[str, Any], area: dict[str, Any] | None) -> bool:
    if area is None:
        return True
    if row["min_lon"] is None:
        return False
    return not (
        row["max_lon"] < area["min_lon"] or row["min_lon"] > area["max_lon"]
        or row["max_lat"] < area["min_lat"] or row["min_lat"] > area["max_lat"]
    )  # fmt: skip


def moments(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any] | None, every: str = "month"
) -> list[tuple[datetime, str]]:
    """The dates a series has rows for, with what stands for each: every snapshot whose box
    meets the area's, and for a history file, the end of each period (``every``) from its
    first camera version to its own date, which closes the last period."""
    if every not in EVERY:
        raise InputError(f"--every must be one of {', '.join(EVERY)}")
    out: dict[datetime, str] = {}
    for r in sql.rows(con, "history-moments"):
        if not _overlaps(r, area):
            continue
        if r["format"] != "osm-history":
            out.setdefault(r["snapshot"], "snapshot")
            continue
        t = r["first_version"] or r["snapshot"]
        while t < r["snapshot"]:
            end = _period_end(t, every)
            if end >= r["snapshot"]:
                break
            out.setdefault(end, f"history, end of {every}")
            t = _next_period(t, every)
        out.setdefault(r["snapshot"], "history file's date")
    return sorted(out.items())


# ----------------------------------------------------------------------------- series
def _key(r: dict[str, Any]) -> str:
    return f"{r['osm_type']}/{r['osm_id']}"


def _state(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any] | None, at: datetime
) -> dict[str, dict[str, Any]]:
    as_of(con, at)
    if area is None:
        found = sql.rows(con, "history-store-state")
    else:
        found = sql.rows(con, "history-area-state", area_id=area["id"])
    return {_key(r): r for r in found}


def _tags(r: dict[str, Any]) -> dict[str, str]:
    t = r["tags"]
    return dict(t) if not isinstance(t, dict) else t


@dataclass
class Step:
    """One row of a series: the cameras at a date, and the change since the row before."""

    date: str
    at: datetime
    standing: str
    cameras: int
    added: list[str]
    removed: list[str]
    retagged: list[str]
    aimed_share: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date, "at": self.at.isoformat(timespec="seconds") + "Z",
            "standing": self.standing, "cameras": self.cameras, "added": self.added,
            "removed": self.removed, "retagged": self.retagged,
            "aimed_share": self.aimed_share,
        }  # fmt: skip


def boundary_source(area: dict[str, Any]) -> str:
    """Where the area's boundary comes from, as a series names it (a file by its name)."""
    source = str(area.get("source") or "")
    return source if source.startswith("OSM ") or "/" not in source else source.rsplit("/", 1)[1]


@dataclass
class Series:
    area: str
    boundary: str
    steps: list[Step] = field(default_factory=list)

    @property
    def note(self) -> str:
        return (
            f"Counted inside the area's current boundary ({self.boundary}) at every date; "
            "the boundary in force at earlier dates may have differed."
        )

    def as_dict(self) -> dict[str, Any]:
        return {"area": self.area, "boundary": self.boundary, "note": self.note,
                "steps": [s.as_dict() for s in self.steps]}  # fmt: skip


def diff_states(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str], list[str]]:
    added = sorted(after.keys() - before.keys(), key=_order)
    removed = sorted(before.keys() - after.keys(), key=_order)
    retagged = sorted(
        (k for k in after.keys() & before.keys() if _tags(after[k]) != _tags(before[k])),
        key=_order,
    )
    return added, removed, retagged


def _order(key: str) -> tuple[str, int]:
    t, i = key.split("/")
    return t, int(i)


def area_series(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], *, every: str = "month",
    at: Sequence[datetime] | None = None,
) -> Series:  # fmt: skip
    """One area's series on a prepared connection (``mapper.grid.prepare``); ``at``: these
    moments instead of the store's."""
    points = [(t, "asked") for t in at] if at is not None else moments(con, area, every)
    series = Series(area["name"], boundary_source(area))
    before: dict[str, dict[str, Any]] = {}
    for t, standing in points:
        now = _state(con, area, t)
        added, removed, retagged = diff_states(before, now) if series.steps else ([], [], [])
        aimed = sum(1 for r in now.values() if r["aimed"])
        series.steps.append(Step(
            t.date().isoformat(), t, standing, len(now), added, removed, retagged,
            round(aimed / len(now), 4) if now else 0.0,
        ))  # fmt: skip
        before = now
    return series


def history(
    db: str | None, names: Sequence[str], *, every: str = "month",
    at: Sequence[datetime] | None = None,
) -> list[Series]:  # fmt: skip
    """``camdensity history``: per area, one row per snapshot date (per period, from a
    history file), counted inside the area's current boundary."""
    from mapper.areas import get as get_area
    from mapper.grid import prepare

    if not names:
        raise InputError("name the areas (see 'camdensity area list')")
    if every not in EVERY:
        raise InputError(f"--every must be one of {', '.join(EVERY)}")
    with open_store(db) as con:
        prepare(con)
        areas = [get_area(con, n) for n in dict.fromkeys(names)]
        return [area_series(con, a, every=every, at=at) for a in areas]


# ----------------------------------------------------------------------------- diff
@dataclass
class Change:
    change: str  # 'added', 'removed', 'retagged'
    osm_type: str
    osm_id: int
    lat: float
    lon: float
    tags: dict[str, str]
    tags_before: dict[str, str] | None
    private: bool
    first_seen: datetime | None
    first_exact: bool
    #: Added where no snapshot at the start reached: the place is new to the store, not
    #: necessarily the camera (see ``mapped``).
    new_place: bool = False

    @property
    def url(self) -> str:
        return OSM_URL.format(osm_type=self.osm_type, osm_id=self.osm_id)

    @property
    def mapped(self) -> str:
        """When it was first mapped: a date, or 'by' a date (see the module's note)."""
        if self.first_seen is None:
            return "unknown"
        day = self.first_seen.date().isoformat()
        return day if self.first_exact else f"by {day}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.change, "osm_type": self.osm_type, "osm_id": self.osm_id,
            "lat": self.lat, "lon": self.lon, "tags": self.tags,
            "tags_before": self.tags_before, "private": self.private, "mapped": self.mapped,
            "new_place": self.new_place, "url": self.url,
        }  # fmt: skip


@dataclass
class Diff:
    start: datetime | None
    end: datetime
    areas: list[str]
    changes: list[Change]
    note: str = ""

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "retagged": 0, "new_place": 0}
        for c in self.changes:
            out[c.change] += 1
            out["new_place"] += c.new_place
        return out


def is_private(r: dict[str, Any]) -> bool:
    raw_type = (_tags(r).get("camera:type") or "").strip().lower()
    return r["visibility"] in PRIVATE_VISIBILITY or raw_type in PRIVATE_CAMERA_TYPES


def _first_mapped(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[datetime | None, bool]]:
    return {_key(r): (r["first_seen"], bool(r["exact"])) for r in
            sql.rows(con, "history-first-mapped")}  # fmt: skip


def first_mapped(db: str | None) -> dict[str, tuple[datetime | None, bool]]:
    """Per camera ever stored ('node/ID'): when it was first mapped, and whether that is
    exact (else it was mapped by then)."""
    with open_store(db) as con:
        return _first_mapped(con)


def diff_between(
    con: duckdb.DuckDBPyConnection, areas: Sequence[dict[str, Any]], start: datetime | None,
    end: datetime,
) -> list[Change]:  # fmt: skip
    """The changes from ``start`` (None: from nothing) to ``end``, in the areas (none: the
    whole store), on a prepared connection."""
    targets: list[dict[str, Any] | None] = list(areas) or [None]
    first = _first_mapped(con)
    reached = _reached(con, start)
    changes: dict[str, Change] = {}
    for area in targets:
        before = _state(con, area, start) if start is not None else {}
        after = _state(con, area, end)
        added, removed, retagged = diff_states(before, after)
        for kind, keys, side in (("added", added, after), ("removed", removed, before),
                                 ("retagged", retagged, after)):  # fmt: skip
            for k in keys:
                r = side[k]
                seen, exact = first.get(k, (None, False))
                old = _tags(before[k]) if kind == "retagged" else None
                new_place = kind == "added" and not _inside(reached, r["lon"], r["lat"])
                changes.setdefault(k, Change(kind, r["osm_type"], int(r["osm_id"]), r["lat"],
                                             r["lon"], _tags(r), old, is_private(r), seen,
                                             exact, new_place))  # fmt: skip
    order = {"added": 0, "removed": 1, "retagged": 2}
    return sorted(changes.values(), key=lambda c: (order[c.change], c.osm_type, c.osm_id))


Box = tuple[float, float, float, float]


def _reached(con: duckdb.DuckDBPyConnection, start: datetime | None) -> list[Box]:
    """The boxes that the snapshots standing at ``start`` speak for (a history file: any)."""
    if start is None:
        return []
    return [
        (r["min_lon"], r["min_lat"], r["max_lon"], r["max_lat"])
        for r in sql.rows(con, "history-moments")
        if r["min_lon"] is not None and (r["format"] == "osm-history" or r["snapshot"] <= start)
    ]


def _inside(boxes: list[Box], lon: float, lat: float) -> bool:
    return any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in boxes)


def previous_moment(
    con: duckdb.DuckDBPyConnection, areas: Sequence[dict[str, Any]], end: datetime
) -> datetime | None:
    """The newest snapshot date before the one that stands for ``end``."""
    dates: set[datetime] = set()
    targets: list[dict[str, Any] | None] = list(areas) or [None]
    for a in targets:
        dates |= {t for t, _ in moments(con, a, "month")}
    standing = [t for t in dates if t <= end]
    if not standing:
        return None
    newest = max(standing)
    earlier = [t for t in standing if t < newest]
    return max(earlier) if earlier else None


def diff(
    db: str | None, names: Sequence[str] = (), *, start: str | None = None,
    end: str | None = None,
) -> Diff:  # fmt: skip
    """``camdensity diff``: the cameras added, removed or retagged from ``start`` to ``end``
    (dates; default: the newest snapshot, and the one before it)."""
    from mapper.areas import get as get_area
    from mapper.grid import prepare

    with open_store(db) as con:
        prepare(con)
        areas = [get_area(con, n) for n in dict.fromkeys(names)]
        dated = [r["snapshot"] for r in sql.rows(con, "history-moments")]
        if not dated:
            raise InputError("the store holds no dated snapshot; nothing to compare")
        stop = parse_date(end, "--to") if end else max(dated)
        begin = parse_date(start, "--from") if start else previous_moment(con, areas, stop)
        if begin is not None and begin >= stop:
            raise InputError("--from must be before --to")
        changes = diff_between(con, areas, begin, stop)
    note = "" if begin is not None else "no earlier snapshot: every camera counts as added"
    return Diff(begin, stop, [a["name"] for a in areas], changes, note)


def diff_table(d: Diff) -> str:
    """The changes as a terminal table."""
    start = d.start.date().isoformat() if d.start else "nothing"
    c = d.counts()
    lines = [
        f"camdensity diff {start} -> {d.end.date().isoformat()}"
        + (f" in {', '.join(d.areas)}" if d.areas else "")
        + f": {c['added']} added, {c['removed']} removed, {c['retagged']} retagged",
    ]
    if c["new_place"]:
        lines.append(
            f"{c['new_place']} of the added (added*) are where no earlier snapshot reached: "
            "their place is new to the store, not necessarily the camera"
        )
    if d.note:
        lines.append(d.note)
    head = f"{'change':<9} {'element':<18} {'mapped':<14} {'lat':>10} {'lon':>10}  what"
    lines += [head, "-" * len(head)]
    for ch in d.changes:
        what = ch.tags.get("surveillance:type") or ch.tags.get("surveillance") or ""
        if ch.change == "retagged" and ch.tags_before is not None:
            old, new = ch.tags_before, ch.tags
            what = "changed: " + ", ".join(sorted(k for k in old.keys() | new.keys()
                                                  if old.get(k) != new.get(k)))  # fmt: skip
        label = ch.change + ("*" if ch.new_place else "")
        lines.append(f"{label:<9} {ch.osm_type + '/' + str(ch.osm_id):<18} {ch.mapped:<14} "
                     f"{ch.lat:>10.6f} {ch.lon:>10.6f}  {what}")  # fmt: skip
    lines.append(f"Data {ATTRIBUTION}")
    return "\n".join(line.rstrip() for line in lines)


def diff_geojson(d: Diff) -> dict[str, Any]:
    """The changes as a GeoJSON FeatureCollection of points."""
    feats = []
    for ch in d.changes:
        props = ch.as_dict()
        for k in ("lat", "lon"):
            props.pop(k)
        feats.append({
            "type": "Feature", "id": f"{ch.osm_type}/{ch.osm_id}",
            "geometry": {"type": "Point", "coordinates": [round(ch.lon, 7), round(ch.lat, 7)]},
            "properties": props,
        })  # fmt: skip
    return {
        "type": "FeatureCollection", "license": "ODbL-1.0", "attribution": ATTRIBUTION,
        "from": d.start.isoformat(timespec="seconds") + "Z" if d.start else None,
        "to": d.end.isoformat(timespec="seconds") + "Z", "areas": d.areas, "note": d.note,
        "features": feats,
    }  # fmt: skip


# ----------------------------------------------------------------------------- output
SERIES_COLUMNS = ("area", "date", "standing", "cameras", "added", "removed", "retagged",
                  "aimed_share", "added_ids", "removed_ids", "retagged_ids")  # fmt: skip


def series_rows(all_series: Sequence[Series]) -> list[dict[str, Any]]:
    return [
        {"area": s.area, "date": st.date, "standing": st.standing, "cameras": st.cameras,
         "added": len(st.added), "removed": len(st.removed), "retagged": len(st.retagged),
         "aimed_share": st.aimed_share, "added_ids": " ".join(st.added),
         "removed_ids": " ".join(st.removed), "retagged_ids": " ".join(st.retagged)}
        for s in all_series for st in s.steps
    ]  # fmt: skip


def series_table(all_series: Sequence[Series]) -> str:
    lines: list[str] = []
    for s in all_series:
        lines.append(f"{s.area}")
        head = (f"{'date':<10} {'cameras':>7} {'added':>6} {'removed':>7} {'retagged':>8} "
                f"{'aimed':>6}  standing")  # fmt: skip
        lines += [head, "-" * len(head)]
        for st in s.steps:
            lines.append(f"{st.date:<10} {st.cameras:>7} {len(st.added):>6} "
                         f"{len(st.removed):>7} {len(st.retagged):>8} "
                         f"{st.aimed_share:>6.0%}  {st.standing}")  # fmt: skip
        lines.append(s.note)
        lines.append("")
    lines.append(f"Data {ATTRIBUTION}. Counts are cameras mapped in OpenStreetMap at each date.")
    return "\n".join(lines)
