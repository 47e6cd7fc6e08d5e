"""The one tag normaliser for OSM ``man_made=surveillance`` elements.

Every consumer of OSM surveillance tags (loaders, aggregations, the web map) goes through
:func:`normalise`, so the rules below live in exactly one place:

* Values are trimmed of surrounding white space first; an empty string after trimming counts
  as missing.  A number is written with ``str()``; any other value that is not a string
  counts as missing.
* ``kind`` from ``surveillance:type`` (case-insensitive): camera -> ``camera``; ALPR/ANPR ->
  ``ALPR``; guard -> ``guard``; gunshot_detector -> ``gunshot_detector``; missing ->
  ``unknown``; anything else -> ``other``.  A ``highway=speed_camera`` node
  (``speed_camera=True``) is always ``speed_camera``.
* ``visibility`` from ``surveillance``: public/outdoor/indoor kept; missing -> ``unknown``;
  anything else -> ``other``.
* ``camera_type`` from ``camera:type``: first value of a ``;`` list; fixed/dome/panning kept;
  missing -> ``unknown``; anything else -> ``other``.
* ``zone`` (``surveillance:zone``) and ``mount`` (``camera:mount``): first value of a ``;``
  list, stripped and lower-cased; missing -> ``None``.
* ``operator``: as given (trimmed).
* ``directions`` from ``camera:direction``; when that is missing or gives no usable sector
  (a value like ``EB`` beside ``direction=90`` is common on ALPR nodes), from ``direction``.
  See :func:`parse_directions` for the forms read and for the two ambiguous ones.

:func:`normalise` never raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "CAMERA_TYPES",
    "KINDS",
    "MAX_DIRECTION_PARTS",
    "MAX_PART_LENGTH",
    "VISIBILITIES",
    "Normalised",
    "directions_of",
    "normalise",
    "parse_directions",
]

#: Possible values of :attr:`Normalised.kind`, in display order.
KINDS: tuple[str, ...] = (
    "camera",
    "ALPR",
    "speed_camera",
    "guard",
    "gunshot_detector",
    "other",
    "unknown",
)
#: Possible values of :attr:`Normalised.visibility`, in display order.
VISIBILITIES: tuple[str, ...] = ("public", "outdoor", "indoor", "other", "unknown")
#: Possible values of :attr:`Normalised.camera_type`, in display order.
CAMERA_TYPES: tuple[str, ...] = ("fixed", "dome", "panning", "other", "unknown")

#: At most this many non-empty direction parts are looked at; any further part makes the
#: direction invalid.
MAX_DIRECTION_PARTS = 64
#: A direction part longer than this (after trimming) is invalid.
MAX_PART_LENGTH = 64

_KIND_MAP: dict[str, str] = {
    "camera": "camera",
    "alpr": "ALPR",
    "anpr": "ALPR",
    "guard": "guard",
    "gunshot_detector": "gunshot_detector",
}
_VISIBILITY_KEEP = frozenset({"public", "outdoor", "indoor"})
_CAMERA_TYPE_KEEP = frozenset({"fixed", "dome", "panning"})

_COMPASS_ABBREVIATIONS: dict[str, Fraction] = {
    name: Fraction(45, 2) * i
    for i, name in enumerate("N NNE NE ENE E ESE SE SSE S SSW SW WSW W WNW NW NNW".split())
}
_WIND_NAMES = (
    "north northnortheast northeast eastnortheast east eastsoutheast southeast southsoutheast "
    "south southsouthwest southwest westsouthwest west westnorthwest northwest northnorthwest"
).split()


def _wind_spellings() -> dict[str, Fraction]:
    """The 16 winds written out, lower case, as one word or with one hyphen after the first
    word (``northeast``, ``north-east``, ``northnortheast``, ``north-northeast``)."""
    out: dict[str, Fraction] = {}
    for i, name in enumerate(_WIND_NAMES):
        bearing = Fraction(45, 2) * i
        out[name] = bearing
        for first in ("north", "south", "east", "west"):
            if name.startswith(first) and len(name) > len(first):
                out[first + "-" + name[len(first) :]] = bearing
    return out


_COMPASS_WORDS: dict[str, Fraction] = _wind_spellings()

_FULL = Fraction(360)
#: A clockwise span of at least this many degrees is all round (``0-359``, as editors write
#: a full circle when 360 is refused).
ALL_ROUND_SPAN = Fraction(359)
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_DEGREES = r"(?:[ \t]*(?:°|deg))?"
_NUMBER_RE = re.compile(rf"(-?{_NUMBER}){_DEGREES}", re.ASCII | re.I)
_RANGE_END = rf"{_NUMBER}{_DEGREES}|[A-Za-z]{{1,3}}"
_RANGE_RE = re.compile(rf"({_RANGE_END})[ \t]*-[ \t]*({_RANGE_END})", re.ASCII | re.I)
_PART_RE = re.compile(r"[^;,]+")
_DECIMAL_COMMA_RE = re.compile(r"[0-9],[0-9]", re.ASCII)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Normalised:
    """Normalised view of one surveillance element's tags."""

    kind: str
    visibility: str
    camera_type: str
    zone: str | None
    mount: str | None
    operator: str | None
    directions: list[tuple[float, float]]
    direction_invalid: bool


def _clean(value: object) -> str | None:
    """Trimmed string value, or ``None`` when missing or empty. A number (what a JSON dump
    may hold where OSM has text) is written with ``str()``; any other value is no tag value
    and counts as missing."""
    if isinstance(value, int | float):
        try:
            value = str(value)
        except ValueError:  # an int of more digits than sys.get_int_max_str_digits()
            return None
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _ascii_lower(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def _first_of_list(value: str | None) -> str | None:
    if value is None:
        return None
    return value.split(";", 1)[0].strip() or None


def _to_bearing(value: Fraction) -> float:
    """``value mod 360`` as a float that is always in [0, 360)."""
    bearing = float(value % _FULL) + 0.0
    # An exact remainder just below 360 (e.g. from -1e-20) rounds to 360.0 as a float;
    # it is indistinguishable from north, so wrap it to 0.0.
    if not 0.0 <= bearing < 360.0:
        return 0.0
    return bearing


def _range_end(token: str) -> Fraction | None:
    if token[0].isdigit():
        match = _NUMBER_RE.fullmatch(token)
        return Fraction(match.group(1)) if match else None
    return _COMPASS_ABBREVIATIONS.get(token.upper())


Sector = tuple[float, float]


def _parse_part(part: str) -> tuple[Sector | None, bool]:
    """One trimmed, non-empty direction part -> (sector or ``None`` if not a direction,
    whether it was read from an ambiguous form)."""
    if len(part) > MAX_PART_LENGTH:
        return None, False
    number = _NUMBER_RE.fullmatch(part)
    if number:
        bearing = _to_bearing(Fraction(number.group(1)))
        return (bearing, bearing), False
    compass = _COMPASS_ABBREVIATIONS.get(part.upper()) if part.isascii() else None
    if compass is None and part.isascii():
        compass = _COMPASS_WORDS.get(_ascii_lower(part))
    if compass is not None:
        bearing = _to_bearing(compass)
        return (bearing, bearing), False
    match = _RANGE_RE.fullmatch(part)
    if match is None:
        return None, False
    start, end = _range_end(match.group(1)), _range_end(match.group(2))
    if start is None or end is None:
        return None, False
    if end - start >= _FULL:
        return (0.0, 360.0), False
    if (end - start) % _FULL == 0:  # '180-180': a point, or all round? read as all round
        return (0.0, 360.0), True
    if (end - start) % _FULL >= ALL_ROUND_SPAN:
        return (0.0, 360.0), False
    return (_to_bearing(start), _to_bearing(end)), False


def parse_directions(value: str | None) -> tuple[list[Sector], bool]:
    """Parse a ``camera:direction``/``direction`` value.

    Returns ``(sectors, invalid)``: the sorted list of distinct clockwise sectors
    ``(start, end)`` in degrees (a single bearing ``b`` is ``(b, b)``; all-round is
    ``(0.0, 360.0)``; otherwise both bounds are in [0, 360)), and whether any part was not a
    facing direction (such parts are dropped) or was read from an ambiguous form.

    Parts are separated by ``;`` or ``,``. A part is a bearing in degrees (any real number,
    taken mod 360, optionally followed by ``°`` or ``deg``), one of the 16 compass points
    (``NNE``, any case) or winds written out (``northnortheast``, ``north-northeast``,
    ``north-east``, any case), or a clockwise range ``A-B`` of bearings or compass points
    (``304-14``, ``NE-S``). A range spanning at least 359° (``0-359``, ``0-360``, ``10-370``)
    is all round. ``forward``/``backward``/``both`` need the way the node is on and are not
    read here.

    Two forms are ambiguous, read as documented and flagged ``invalid``:

    * ``12,5``, a comma directly between two digits: a list or a decimal comma? Read as a
      list (12° and 5°), as a comma followed by a space (``180, 270``) is.
    * ``180-180``, a range that starts where it ends: a point or all round? Read as all round,
      as the DeFlock app (which writes such values) reads it.

    Never raises.
    """
    text = _clean(value)
    if text is None:
        return [], False
    sectors: set[Sector] = set()
    invalid = bool(_DECIMAL_COMMA_RE.search(text))
    seen = 0
    for match in _PART_RE.finditer(text):
        part = match.group().strip()
        if not part:
            continue
        seen += 1
        if seen > MAX_DIRECTION_PARTS:
            invalid = True
            break
        sector, ambiguous = _parse_part(part)
        if sector is None or ambiguous:
            invalid = True
        if sector is not None:
            sectors.add(sector)
    return sorted(sectors), invalid


def directions_of(tags: Mapping[str, str | None]) -> tuple[list[Sector], bool]:
    """The sectors of ``camera:direction``, else (when it is missing or gives none) of
    ``direction``; ``invalid`` when a value that was looked at had an unreadable or ambiguous
    part (``camera:direction=EB`` beside ``direction=90`` gives ``([(90, 90)], True)``)."""
    sectors, invalid = parse_directions(_get(tags, "camera:direction"))
    if sectors:
        return sectors, invalid
    fallback, fallback_invalid = parse_directions(_get(tags, "direction"))
    return fallback, invalid or fallback_invalid


def _get(tags: Mapping[str, str | None], key: str) -> str | None:
    return _clean(tags.get(key))


def normalise(tags: Mapping[str, str | None] | None, *, speed_camera: bool = False) -> Normalised:
    """Normalise the tags of one surveillance element.  Never raises."""
    if tags is None or not isinstance(tags, Mapping):
        tags = {}

    if speed_camera:
        kind = "speed_camera"
    else:
        raw_kind = _get(tags, "surveillance:type")
        kind = "unknown" if raw_kind is None else _KIND_MAP.get(_ascii_lower(raw_kind), "other")

    raw_visibility = _get(tags, "surveillance")
    if raw_visibility is None:
        visibility = "unknown"
    else:
        raw_visibility = _ascii_lower(raw_visibility)
        visibility = raw_visibility if raw_visibility in _VISIBILITY_KEEP else "other"

    raw_type = _first_of_list(_get(tags, "camera:type"))
    if raw_type is None:
        camera_type = "unknown"
    else:
        raw_type = _ascii_lower(raw_type)
        camera_type = raw_type if raw_type in _CAMERA_TYPE_KEEP else "other"

    zone = _first_of_list(_get(tags, "surveillance:zone"))
    mount = _first_of_list(_get(tags, "camera:mount"))

    directions, direction_invalid = directions_of(tags)

    return Normalised(
        kind=kind,
        visibility=visibility,
        camera_type=camera_type,
        zone=None if zone is None else zone.lower(),
        mount=None if mount is None else mount.lower(),
        operator=_get(tags, "operator"),
        directions=directions,
        direction_invalid=direction_invalid,
    )
