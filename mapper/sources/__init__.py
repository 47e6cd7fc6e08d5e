"""Readers: each turns one input file into an :class:`Extract` of raw camera elements.

Formats are detected from content, never from the file name (:func:`read_file`).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mapper.errors import InputError

PBF = "pbf"
OVERPASS_JSON = "overpass-json"
GEOJSON = "geojson"
OVERPASS_LIVE = "overpass-live"


@dataclass(slots=True)
class Element:
    """One camera as read: an OSM node, or a way placed at its centroid."""

    osm_type: str
    osm_id: int
    lat: float
    lon: float
    tags: dict[str, str]
    speed_camera: bool = False
    version: int = 0  # the element's OSM version, 0 when the input does not say
    timestamp: datetime | None = None  # when that version was made (UTC), when known


@dataclass(slots=True)
class Version:
    """One version of an element read from an OSM history file (``osm.read_history``):
    ``matches`` when it is visible and carries the tags asked for (a camera)."""

    osm_type: str
    osm_id: int
    version: int
    timestamp: datetime  # UTC, naive
    visible: bool
    matches: bool
    lat: float  # NaN when not placed (deleted, or a way with a node missing)
    lon: float
    tags: dict[str, str]
    speed_camera: bool = False


@dataclass
class Extract:
    path: str
    sha256: str
    format: str
    elements: list[Element] = field(default_factory=list)
    snapshot: datetime | None = None
    snapshot_kind: str | None = None  # 'header', 'newest-element', 'overpass', None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    skipped_ways: list[int] = field(default_factory=list)
    rejected: int = 0
    warnings: list[str] = field(default_factory=list)
    #: A history file's every version of every element that was a camera in one of them.
    versions: list[Version] = field(default_factory=list)
    #: The box of the file's nodes when its header has none and every node was read anyway
    #: (the area a dated snapshot speaks for; see mapper/history.py).
    extent: tuple[float, float, float, float] | None = None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_camera(tags: dict[str, str], include_speed: bool) -> tuple[bool, bool]:
    """(is a camera we keep, is a speed camera)."""
    if tags.get("man_made", "").strip() == "surveillance":
        return True, False
    if include_speed and tags.get("highway", "").strip() == "speed_camera":
        return True, True
    return False, False


def valid_id(value: Any) -> bool:
    """An OSM element id: an integer that fits the store's BIGINT."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def valid_coordinate(lat: Any, lon: Any) -> bool:
    return (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and not isinstance(lat, bool)
        and not isinstance(lon, bool)
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    )


def clean_tags(raw: Any) -> dict[str, str] | None:
    """Tags as a str -> str dict; None when ``raw`` is not a mapping."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return None
    out: dict[str, str] = {}
    for k, v in raw.items():
        if v is None or isinstance(v, dict | list):
            continue
        out[_text(str(k))] = _text(str(v))
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(s: str) -> str:
    """``s`` with lone surrogates (JSON may hold "\\ud800") replaced by U+FFFD: they have no
    UTF-8 form, so the store could not hold them."""
    return s if s.isascii() else _SURROGATE.sub("\ufffd", s)


def read_file(
    path: str, *, include_speed: bool = False, progress: bool = False, digest: str | None = None
) -> Extract:
    """Detect the format of ``path`` from its first bytes and read its cameras: OSM files
    (PBF, XML, history) through libosmium (:mod:`mapper.sources.osm`), Overpass JSON and
    GeoJSON dumps through their readers."""
    from mapper.sources import geojson, osm, overpass

    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(
            f"{path}: is a folder; give an OSM file (.osm.pbf, .osm), Overpass JSON or GeoJSON"
        )
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise InputError(
            f"{path}: the file is empty; expected an OSM file (.osm.pbf, .osm), Overpass JSON "
            "or GeoJSON"
        )
    digest = digest or sha256_of(p)
    if osm.sniff(path, head) is not None:
        return osm.read_cameras(path, digest, include_speed=include_speed, progress=progress)
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head[:1] in (b"{", b"["):
        data = load_json(p, path)
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            return geojson.read(path, digest, data, include_speed=include_speed)
        if isinstance(data, dict) and data.get("type") == "Feature":
            return geojson.read(
                path, digest, {"type": "FeatureCollection", "features": [data]}, include_speed
            )
        if overpass.looks_like_overpass(data):
            return overpass.read(path, digest, data, include_speed=include_speed)
        raise InputError(
            f"{path}: JSON but not OSM data; expected Overpass JSON "
            '({"elements": [...]} or a list of elements) or a GeoJSON FeatureCollection'
        )
    raise InputError(
        f"{path}: not an OSM file (.osm.pbf, .osm, .osm.gz, .osm.bz2), Overpass JSON or GeoJSON "
        "(unrecognised content); check that the download completed"
    )


def load_json(
    p: Path, path: str, *, too_deep: str = "to be OSM data",
    invalid: str = "invalid or truncated JSON",
) -> Any:  # fmt: skip
    """Parse a JSON file; nesting and syntax errors become one-line :class:`InputError`s."""
    import json

    try:
        with p.open("rb") as f:
            return json.load(f)
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply {too_deep}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: {invalid} ({str(exc)[:80]})") from None
