"""Totals and breakdowns of the store."""

from __future__ import annotations

from typing import Any

import duckdb

from mapper import ATTRIBUTION, sql
from mapper.store import open_store


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def stats(db: str | None = None) -> dict[str, Any]:
    """Everything ``camdensity stats`` shows, as one JSON-ready dictionary."""
    with open_store(db) as con:
        return stats_of(con)


def stats_of(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """:func:`stats` on an open store connection."""
    totals = sql.rows(con, "stats-totals")[0]
    breakdown = sql.rows(con, "stats-breakdown")
    sources = sql.rows(con, "stats-sources")
    per_source = sql.rows(con, "stats-source-breakdown")
    n = int(totals["cameras"])

    def share(k: str) -> float:
        return round(totals[k] / n, 4) if n else 0.0

    by: dict[str, dict[str, int]] = {}
    for r in breakdown:
        by.setdefault(r["field"], {})[r["value"]] = int(r["n"])
    src_by: dict[int, dict[str, dict[str, int]]] = {}
    for r in per_source:
        src_by.setdefault(r["source_id"], {}).setdefault(r["field"], {})[r["value"]] = int(r["n"])
    dates = [s["snapshot"] for s in sources if s["snapshot"] is not None]
    return {
        "cameras": n,
        "nodes": int(totals["nodes"]),
        "ways": int(totals["ways"]),
        "by_kind": by.get("kind", {}),
        "by_visibility": by.get("visibility", {}),
        "by_camera_type": by.get("camera_type", {}),
        "by_zone": by.get("zone", {}),
        "by_mount": by.get("mount", {}),
        "share_with_direction": share("with_direction"),
        "share_with_operator": share("with_operator"),
        "share_with_camera_type": share("with_camera_type"),
        "direction_invalid": int(totals["direction_invalid"]),
        "data_date": _iso(max(dates)) if dates else None,
        "sources": [
            {
                "id": s["id"],
                "path": s["path"],
                "sha256": s["sha256"],
                "format": s["format"],
                "snapshot": _iso(s["snapshot"]),
                "snapshot_kind": s["snapshot_kind"],
                "ingested_at": _iso(s["ingested_at"]),
                "cameras": int(s["cameras"]),
                "stored": int(s["stored"]),
                "skipped_ways": int(s["skipped_ways"]),
                "rejected": int(s["rejected"]),
                "by_kind": src_by.get(s["id"], {}).get("kind", {}),
                "by_visibility": src_by.get(s["id"], {}).get("visibility", {}),
            }
            for s in sources
        ],
        "attribution": ATTRIBUTION,
    }
