"""Ingest: read inputs (away from the store), normalise, and write them in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from mapper import _faults, history, sql
from mapper.errors import InputError, StoreOutdated
from mapper.sources import Extract, read_file, sha256_of
from mapper.store import open_store, store_path, transaction
from mapper.tags import normalise

if TYPE_CHECKING:  # at run time, imported by the command that fetches (osmnx is slow)
    from mapper.areas import AreaSpec
    from mapper.sources.live import Fetched


@dataclass
class IngestResult:
    path: str
    format: str | None
    status: str  # 'ingested' or 'unchanged'
    cameras: int = 0
    stored: int = 0
    snapshot: datetime | None = None
    warnings: list[str] = field(default_factory=list)


def stage(con: duckdb.DuckDBPyConnection, ex: Extract) -> int:
    """Put the extract's cameras, normalised, in the temporary table ``staged`` (in the store's
    column order); returns how many.

    Many cameras share one tag set (a survey tags a street alike): each distinct set is
    normalised once. Readers may hand the same dict to cameras tagged alike, which spares
    sorting their tags again. The data reaches DuckDB as NumPy arrays and one JSON text,
    which it reads without pandas (see ``sql._as_relation``).
    """
    import numpy as np

    by_object: dict[tuple[bool, int], int] = {}
    by_tags: dict[tuple[bool, tuple[tuple[str, str], ...]], int] = {}
    sets: list[dict[str, Any]] = []
    rows: list[int] = []
    for e in ex.elements:
        k = by_object.get((e.speed_camera, id(e.tags)))
        if k is None:
            items = tuple(sorted(e.tags.items()))
            k = by_tags.get((e.speed_camera, items))
            if k is None:
                k = by_tags[(e.speed_camera, items)] = len(sets)
                n = normalise(e.tags, speed_camera=e.speed_camera)
                sets.append({
                    "tags": dict(items), "kind": n.kind, "visibility": n.visibility,
                    "camera_type": n.camera_type, "zone": n.zone, "mount": n.mount,
                    "operator": n.operator, "directions": [list(d) for d in n.directions],
                    "direction_invalid": n.direction_invalid,
                })  # fmt: skip
            by_object[(e.speed_camera, id(e.tags))] = k
        rows.append(k)
    elements = ex.elements
    con.register("staged_rows", {
        "seq": np.arange(len(elements), dtype=np.int64),
        "osm_type": np.array([e.osm_type for e in elements], dtype="<U4"),
        "osm_id": np.array([e.osm_id for e in elements], dtype=np.int64),
        "lat": np.array([e.lat for e in elements], dtype=np.float64),
        "lon": np.array([e.lon for e in elements], dtype=np.float64),
        "tag_set": np.array(rows, dtype=np.int64),
    })  # fmt: skip
    text = json.dumps(sets, ensure_ascii=False, separators=(",", ":"))
    con.register("staged_sets", {"sets": np.array([text], dtype=np.str_)})
    sql.run(con, "staged-create")
    return len(elements)


def staged_table(ex: Extract) -> list[dict[str, Any]]:
    """The rows ``stage`` gives the store, as dictionaries (for tests and tools)."""
    con = duckdb.connect(":memory:")
    try:
        stage(con, ex)
        return sql.rows(con, "staged-select")
    finally:
        con.close()


def _digest(path: str) -> str | None:
    """The input's sha256; None when it is not a readable file (its reader says why)."""
    try:
        return sha256_of(Path(path)) if Path(path).is_file() else None
    except OSError:
        return None


def _known_hashes(db: str | None) -> set[str]:
    path = store_path(db)
    if not path.exists():
        return set()
    try:
        with open_store(db) as con:
            return {r["sha256"] for r in sql.rows(con, "source-hashes")}
    except StoreOutdated:  # upgraded when opened to write, and checked again there
        return set()


def _warnings(ex: Extract) -> list[str]:
    out = []
    if ex.skipped_ways:
        shown = ", ".join(f"way/{i}" for i in ex.skipped_ways[:5])
        more = f" and {len(ex.skipped_ways) - 5} more" if len(ex.skipped_ways) > 5 else ""
        out.append(
            f"{ex.path}: {len(ex.skipped_ways)} camera way(s) skipped because their nodes are "
            f"not in the extract ({shown}{more})"
        )
    if ex.rejected:
        out.append(
            f"{ex.path}: {ex.rejected} element(s) rejected (malformed, or coordinates outside "
            "the valid range)"
        )
    return out + ex.warnings


def write_extract(con: duckdb.DuckDBPyConnection, ex: Extract) -> tuple[int, int]:
    """Record one extract as a source and store its cameras, inside the caller's transaction.

    One element once: stored copies from a source that is not newer are replaced, and the
    extract's elements that a newer source already holds are left out. Returns the new
    source's id and how many of its cameras were stored.
    """
    bbox = ex.bbox or (None, None, None, None)
    row = sql.run(
        con,
        "source-insert",
        path=ex.path,
        sha256=ex.sha256,
        format=ex.format,
        snapshot=ex.snapshot,
        snapshot_kind=ex.snapshot_kind,
        cameras=len(ex.elements),
        skipped_ways=len(ex.skipped_ways),
        rejected=ex.rejected,
        min_lon=bbox[0],
        min_lat=bbox[1],
        max_lon=bbox[2],
        max_lat=bbox[3],
    ).fetchone()
    assert row is not None
    source_id = int(row[0])
    _faults.point("mid-write")
    if ex.bbox is not None:  # a clipped extract's honest study area: its extent
        from mapper import areas

        names = {a["name"] for a in sql.rows(con, "area-names")}
        areas.insert(con, areas.extent_spec(ex.path, ex.bbox, source_id, names))
    stage(con, ex)
    try:
        sql.run(con, "cameras-drop-superseded", snapshot=ex.snapshot)
        inserted = sql.run(con, "cameras-insert-staged", source_id=source_id).fetchone()
        history.keep_snapshot(con, ex, source_id, stage)  # every snapshot kept (schema v4)
    finally:
        sql.run(con, "staged-drop")
        con.unregister("staged_rows")
        con.unregister("staged_sets")
    return source_id, int(inserted[0]) if inserted else 0


def ingest(
    paths: list[str],
    db: str | None = None,
    *,
    include_speed: bool = False,
    quiet: bool = True,
    snapshot: datetime | None = None,
    snapshots: dict[str, datetime] | None = None,
) -> list[IngestResult]:
    """Read every input first; only when all are readable, write them in one transaction.

    ``snapshot`` dates inputs that carry no date of their own (a bare Overpass element list):
    the time the data was downloaded, as the user knows it. Dated inputs keep their own.
    ``snapshots`` gives such a date per path (a site config's inputs).
    """
    for p in paths:
        if not Path(p).exists():
            raise InputError(f"{p}: no such file")
    known = _known_hashes(db)
    results: list[IngestResult] = []
    pending: list[tuple[IngestResult, Extract]] = []
    for p in paths:
        digest = _digest(p)
        if digest is not None and digest in known:
            results.append(IngestResult(p, None, "unchanged"))
            continue
        ex = read_file(p, include_speed=include_speed, progress=not quiet, digest=digest)
        given = (snapshots or {}).get(p, snapshot)
        if given is not None and ex.snapshot is None:
            ex.snapshot, ex.snapshot_kind = given, "given"
        known.add(ex.sha256)
        r = IngestResult(p, ex.format, "ingested", len(ex.elements), 0, ex.snapshot, _warnings(ex))
        results.append(r)
        pending.append((r, ex))
    _faults.point("after-read")
    if not pending:
        return results
    with open_store(db, write=True) as con, transaction(con):
        stored_hashes = {r["sha256"] for r in sql.rows(con, "source-hashes")}
        for r, ex in pending:
            if ex.sha256 in stored_hashes:  # written by another process since we looked
                r.status = "unchanged"
                continue
            _, r.stored = write_extract(con, ex)
    return results


@dataclass
class FetchResult:
    """One fetched place as stored: its area and the source holding its cameras."""

    place: str
    area: AreaSpec
    source: IngestResult
    osm_type: str
    osm_id: int


def write_fetched(db: str | None, fetched: list[Fetched]) -> list[FetchResult]:
    """Store what ``mapper.sources.live.fetch`` downloaded, every place in one transaction:
    its cameras as a source (unless the same answer is stored already) and its boundary as
    an area, refreshed when fetched again; an area of the same name from elsewhere is an
    error and nothing is written."""
    from mapper import areas

    results = []
    with open_store(db, write=True) as con, transaction(con):
        sources = {r["sha256"]: int(r["id"]) for r in sql.rows(con, "stats-sources")}
        existing = {r["name"]: r for r in sql.rows(con, "area-list")}
        for f in fetched:
            spec, ex = f.area, f.extract
            r = IngestResult(ex.path, ex.format, "ingested", len(ex.elements), 0, ex.snapshot)
            r.warnings = spec.warnings + ex.warnings
            if ex.sha256 in sources:  # the same answer as a fetch before: cameras unchanged
                r.status = "unchanged"
                spec.source_id = sources[ex.sha256]
            else:
                spec.source_id, r.stored = write_extract(con, ex)
            old = existing.get(spec.name)
            if old is not None and old["source"] != spec.source:
                raise InputError(
                    f"{f.place}: an area named '{spec.name}' already exists (from "
                    f"{old['source']}); remove it with 'camdensity area remove \"{spec.name}\"' "
                    "and fetch again"
                )
            areas.insert(con, spec, replace=old is not None)
            results.append(FetchResult(f.place, spec, r, f.osm_type, f.osm_id))
    return results


def fetch(
    db: str | None, places: list[str], *, admin_level: int | None = None,
    overpass_url: str | None = None, nominatim_url: str | None = None, timeout: int = 180,
    use_cache: bool = True,
) -> list[FetchResult]:  # fmt: skip
    """``camdensity fetch``: download every place first (``mapper.sources.live.fetch``, the
    store untouched), then store them all in one transaction (:func:`write_fetched`)."""
    from mapper.sources import live

    fetched = live.fetch(
        places, admin_level=admin_level, overpass_url=overpass_url,
        nominatim_url=nominatim_url, timeout=timeout, use_cache=use_cache,
    )  # fmt: skip
    return write_fetched(db, fetched)
