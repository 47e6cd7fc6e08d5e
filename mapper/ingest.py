"""Ingest: read inputs (away from the store), normalise, and write them in one transaction."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mapper import sql
from mapper.errors import InputError
from mapper.sources import Extract, read_file, sha256_of
from mapper.store import open_store, store_path, transaction
from mapper.tags import normalise


@dataclass
class IngestResult:
    path: str
    format: str | None
    status: str  # 'ingested' or 'unchanged'
    cameras: int = 0
    stored: int = 0
    snapshot: datetime | None = None
    warnings: list[str] = field(default_factory=list)


_SCHEMA = pa.schema(
    [
        ("osm_type", pa.string()),
        ("osm_id", pa.int64()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("tags", pa.map_(pa.string(), pa.string())),
        ("kind", pa.string()),
        ("visibility", pa.string()),
        ("camera_type", pa.string()),
        ("zone", pa.string()),
        ("mount", pa.string()),
        ("operator", pa.string()),
        ("directions", pa.list_(pa.list_(pa.float64()))),
        ("direction_invalid", pa.bool_()),
    ]
)


#: The columns that come from a camera's tags, once per distinct tag set.
_NORMALISED = _SCHEMA.names[4:]
_NORMALISED_SCHEMA = pa.schema([_SCHEMA.field(name) for name in _NORMALISED])


def staged_table(ex: Extract) -> pa.Table:
    """The extract's cameras, normalised, as an Arrow table in the store's column order.

    Many cameras share one tag set (a survey tags a street alike): each distinct set is
    normalised once, and its row is repeated with ``take``. Readers may hand the same dict to
    cameras tagged alike, which spares sorting their tags again.
    """
    by_object: dict[tuple[bool, int], int] = {}
    by_tags: dict[tuple[bool, tuple[tuple[str, str], ...]], int] = {}
    distinct: dict[str, list[Any]] = {name: [] for name in _NORMALISED}
    rows: list[int] = []
    for e in ex.elements:
        k = by_object.get((e.speed_camera, id(e.tags)))
        if k is None:
            items = tuple(sorted(e.tags.items()))
            k = by_tags.get((e.speed_camera, items))
            if k is None:
                k = by_tags[(e.speed_camera, items)] = len(distinct["tags"])
                n = normalise(e.tags, speed_camera=e.speed_camera)
                distinct["tags"].append(items)
                distinct["kind"].append(n.kind)
                distinct["visibility"].append(n.visibility)
                distinct["camera_type"].append(n.camera_type)
                distinct["zone"].append(n.zone)
                distinct["mount"].append(n.mount)
                distinct["operator"].append(n.operator)
                distinct["directions"].append([list(s) for s in n.directions])
                distinct["direction_invalid"].append(n.direction_invalid)
            by_object[(e.speed_camera, id(e.tags))] = k
        rows.append(k)
    normalised = pa.table(distinct, schema=_NORMALISED_SCHEMA).take(pa.array(rows, pa.int64()))
    return pa.table(
        {
            "osm_type": pa.array([e.osm_type for e in ex.elements], pa.string()),
            "osm_id": pa.array([e.osm_id for e in ex.elements], pa.int64()),
            "lat": pa.array([e.lat for e in ex.elements], pa.float64()),
            "lon": pa.array([e.lon for e in ex.elements], pa.float64()),
            **{name: normalised.column(name) for name in _NORMALISED},
        },
        schema=_SCHEMA,
    )


def _known_hashes(db: str | None) -> set[str]:
    path = store_path(db)
    if not path.exists():
        return set()
    with open_store(db) as con:
        return {r["sha256"] for r in sql.rows(con, "source-hashes")}


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
    if ex.bbox is not None:  # a clipped extract's honest study area: its extent
        from mapper import areas

        names = {a["name"] for a in sql.rows(con, "area-names")}
        areas.insert(con, areas.extent_spec(ex.path, ex.bbox, source_id, names))
    staged = staged_table(ex)  # noqa: F841  (read by the queries below as `staged`)
    con.register("staged", staged)
    try:
        sql.run(con, "cameras-drop-superseded", snapshot=ex.snapshot)
        inserted = sql.run(con, "cameras-insert-staged", source_id=source_id).fetchone()
    finally:
        con.unregister("staged")
    return source_id, int(inserted[0]) if inserted else 0


#: The digest of a file whose sha256 is being computed beside its reading.
_PENDING = "(pending)"


def ingest(
    paths: list[str],
    db: str | None = None,
    *,
    include_speed: bool = False,
    quiet: bool = True,
    snapshot: datetime | None = None,
    snapshots: dict[str, datetime] | None = None,
    pbf_reader: str = "scan",
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
        hashing: Future[str] | None = None
        digest = None
        if Path(p).is_file() and not known:
            # Nothing stored can equal it: hash the file (hashlib leaves the GIL) beside the read.
            hashing = ThreadPoolExecutor(1).submit(sha256_of, Path(p))
            digest = _PENDING
        elif Path(p).is_file():
            digest = sha256_of(Path(p))
            if digest in known:
                results.append(IngestResult(p, None, "unchanged"))
                continue
        try:
            ex = read_file(
                p, include_speed=include_speed, progress=not quiet, digest=digest,
                pbf_reader=pbf_reader,
            )  # fmt: skip
        finally:
            if hashing is not None:
                digest = hashing.result()
        if hashing is not None:
            ex.sha256 = str(digest)
        given = (snapshots or {}).get(p, snapshot)
        if given is not None and ex.snapshot is None:
            ex.snapshot, ex.snapshot_kind = given, "given"
        known.add(ex.sha256)
        r = IngestResult(p, ex.format, "ingested", len(ex.elements), 0, ex.snapshot, _warnings(ex))
        results.append(r)
        pending.append((r, ex))
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
