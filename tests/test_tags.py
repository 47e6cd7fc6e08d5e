"""Tests for mapper.tags: the surveillance tag normaliser."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapper.tags import (
    CAMERA_TYPES,
    KINDS,
    MAX_DIRECTION_PARTS,
    VISIBILITIES,
    Normalised,
    directions_of,
    normalise,
    parse_directions,
)
from tests.direction_peers import CASES, Case

# --------------------------------------------------------------------------- kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("camera", "camera"),
        ("Camera", "camera"),
        ("CAMERA", "camera"),
        ("ALPR", "ALPR"),
        ("alpr", "ALPR"),
        ("ANPR", "ALPR"),
        ("anpr", "ALPR"),
        ("guard", "guard"),
        ("Guard", "guard"),
        ("gunshot_detector", "gunshot_detector"),
        ("GUNSHOT_DETECTOR", "gunshot_detector"),
        ("  camera  ", "camera"),
        ("\tANPR\n", "ALPR"),
        ("", "unknown"),
        ("   ", "unknown"),
        ("speed_camera", "other"),
        ("camera;ALPR", "other"),
        ("webcam", "other"),
        ("gunshot detector", "other"),
    ],
)
def test_kind(value: str, expected: str) -> None:
    assert normalise({"surveillance:type": value}).kind == expected


def test_kind_missing() -> None:
    assert normalise({}).kind == "unknown"
    assert normalise({"surveillance:type": None}).kind == "unknown"
    assert normalise(None).kind == "unknown"


@pytest.mark.parametrize("value", [None, "camera", "ALPR", "guard", "nonsense"])
def test_speed_camera_overrides_kind(value: str | None) -> None:
    assert normalise({"surveillance:type": value}, speed_camera=True).kind == "speed_camera"
    assert normalise(None, speed_camera=True).kind == "speed_camera"


# --------------------------------------------------------------------------- visibility


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("public", "public"),
        ("Public", "public"),
        ("outdoor", "outdoor"),
        ("OUTDOOR", "outdoor"),
        ("indoor", "indoor"),
        (" indoor ", "indoor"),
        ("webcam", "other"),
        ("privat", "other"),
        ("yes", "other"),
        ("public;outdoor", "other"),
        ("", "unknown"),
        (" \t ", "unknown"),
    ],
)
def test_visibility(value: str, expected: str) -> None:
    assert normalise({"surveillance": value}).visibility == expected


def test_visibility_missing() -> None:
    assert normalise({}).visibility == "unknown"
    assert normalise({"surveillance": None}).visibility == "unknown"


# --------------------------------------------------------------------------- camera type


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fixed", "fixed"),
        ("dome", "dome"),
        ("panning", "panning"),
        ("Dome;fixed", "dome"),
        ("FIXED", "fixed"),
        (" panning ; dome", "panning"),
        ("fixed ;dome", "fixed"),
        ("ptz", "other"),
        ("thermal;dome", "other"),
        ("", "unknown"),
        ("  ", "unknown"),
    ],
)
def test_camera_type(value: str, expected: str) -> None:
    assert normalise({"camera:type": value}).camera_type == expected


def test_camera_type_missing() -> None:
    assert normalise({}).camera_type == "unknown"


# --------------------------------------------------------------------------- zone, mount, operator


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("traffic", "traffic"),
        ("Traffic", "traffic"),
        (" Parking ; Entrance", "parking"),
        ("town;shop", "town"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_zone(value: str | None, expected: str | None) -> None:
    assert normalise({"surveillance:zone": value}).zone == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pole", "pole"),
        ("Wall", "wall"),
        (" Ceiling ;wall", "ceiling"),
        ("", None),
        (None, None),
    ],
)
def test_mount(value: str | None, expected: str | None) -> None:
    assert normalise({"camera:mount": value}).mount == expected


def test_zone_and_mount_missing() -> None:
    result = normalise({})
    assert result.zone is None
    assert result.mount is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Stadtpolizei Zürich", "Stadtpolizei Zürich"),
        ("  Flock Safety \n", "Flock Safety"),
        ("SBB;Police", "SBB;Police"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_operator(value: str | None, expected: str | None) -> None:
    assert normalise({"operator": value}).operator == expected


def test_full_example() -> None:
    tags = {
        "man_made": "surveillance",
        "surveillance:type": " ANPR ",
        "surveillance": "Public",
        "surveillance:zone": "Traffic",
        "camera:type": "Dome;fixed",
        "camera:mount": " Pole ",
        "camera:direction": "90;EB",
        "operator": " City Police ",
    }
    assert normalise(tags) == Normalised(
        kind="ALPR",
        visibility="public",
        camera_type="dome",
        zone="traffic",
        mount="pole",
        operator="City Police",
        directions=[(90.0, 90.0)],
        direction_invalid=True,
    )


def test_empty_tags() -> None:
    expected = Normalised(
        kind="unknown",
        visibility="unknown",
        camera_type="unknown",
        zone=None,
        mount=None,
        operator=None,
        directions=[],
        direction_invalid=False,
    )
    assert normalise({}) == expected
    assert normalise(None) == expected


def test_non_string_values_do_not_raise() -> None:
    class Bad:
        def __str__(self) -> str:
            raise RuntimeError("no")

    tags: dict[str, object] = {
        "surveillance:type": 42,
        "surveillance": Bad(),
        "camera:direction": 90,
        "operator": 1.5,
    }
    result = normalise(tags)  # type: ignore[arg-type]
    assert result.kind == "other"
    assert result.visibility == "unknown"
    assert result.directions == [(90.0, 90.0)]
    assert result.operator == "1.5"


def test_non_mapping_does_not_raise() -> None:
    assert normalise(["camera"]).kind == "unknown"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- directions


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # numbers
        ("90", [(90.0, 90.0)]),
        ("0", [(0.0, 0.0)]),
        ("360", [(0.0, 0.0)]),
        ("450", [(90.0, 90.0)]),
        ("-140", [(220.0, 220.0)]),
        ("-0", [(0.0, 0.0)]),
        ("12.5", [(12.5, 12.5)]),
        ("-0.5", [(359.5, 359.5)]),
        ("007", [(7.0, 7.0)]),
        ("90;270", [(90.0, 90.0), (270.0, 270.0)]),
        ("90;160;270", [(90.0, 90.0), (160.0, 160.0), (270.0, 270.0)]),
        ("90, 270", [(90.0, 90.0), (270.0, 270.0)]),
        ("90°", [(90.0, 90.0)]),
        ("12.5deg", [(12.5, 12.5)]),
        ("-90 °", [(270.0, 270.0)]),
        # compass abbreviations
        ("N", [(0.0, 0.0)]),
        ("NNE", [(22.5, 22.5)]),
        ("nne", [(22.5, 22.5)]),
        ("NE", [(45.0, 45.0)]),
        ("ENE", [(67.5, 67.5)]),
        ("E", [(90.0, 90.0)]),
        ("ESE", [(112.5, 112.5)]),
        ("SE", [(135.0, 135.0)]),
        ("SSE", [(157.5, 157.5)]),
        ("S", [(180.0, 180.0)]),
        ("SSW", [(202.5, 202.5)]),
        ("SW", [(225.0, 225.0)]),
        ("WSW", [(247.5, 247.5)]),
        ("W", [(270.0, 270.0)]),
        ("WNW", [(292.5, 292.5)]),
        ("nw", [(315.0, 315.0)]),
        ("NNW", [(337.5, 337.5)]),
        # compass words
        ("north", [(0.0, 0.0)]),
        ("South", [(180.0, 180.0)]),
        ("south", [(180.0, 180.0)]),
        ("EAST", [(90.0, 90.0)]),
        ("west", [(270.0, 270.0)]),
        ("north-east", [(45.0, 45.0)]),
        ("North-East", [(45.0, 45.0)]),
        ("northeast", [(45.0, 45.0)]),
        ("south-east", [(135.0, 135.0)]),
        ("southwest", [(225.0, 225.0)]),
        ("north-west", [(315.0, 315.0)]),
        ("northwest", [(315.0, 315.0)]),
        ("NorthWest", [(315.0, 315.0)]),
        ("northnortheast", [(22.5, 22.5)]),
        ("WestSouthWest", [(247.5, 247.5)]),
        ("east-southeast", [(112.5, 112.5)]),
        # ranges
        ("304-14", [(304.0, 14.0)]),
        ("190-100", [(190.0, 100.0)]),
        ("90-180", [(90.0, 180.0)]),
        ("90 - 180", [(90.0, 180.0)]),
        ("90 -180", [(90.0, 180.0)]),
        ("0-360", [(0.0, 360.0)]),
        ("10-370", [(0.0, 360.0)]),
        ("0-720", [(0.0, 360.0)]),
        ("350-370", [(350.0, 10.0)]),
        ("400-450", [(40.0, 90.0)]),
        ("12.5-45.5", [(12.5, 45.5)]),
        ("NE-SW", [(45.0, 225.0)]),
        ("nw - ne", [(315.0, 45.0)]),
        ("N-90", [(0.0, 90.0)]),
        ("0-359", [(0.0, 360.0)]),
        ("1-0", [(0.0, 360.0)]),
        ("10-369.5", [(0.0, 360.0)]),
        ("0-358", [(0.0, 358.0)]),
        ("90deg-180deg", [(90.0, 180.0)]),
        # mixed separators, whitespace, duplicates, ordering
        ("270; 90 ,N", [(0.0, 0.0), (90.0, 90.0), (270.0, 270.0)]),
        ("  90  ", [(90.0, 90.0)]),
        ("90;90;E;450", [(90.0, 90.0)]),
        ("90;;  ;,", [(90.0, 90.0)]),
        ("0-360;10-370", [(0.0, 360.0)]),
        ("180-90;90;180-90", [(90.0, 90.0), (180.0, 90.0)]),
    ],
)
def test_parse_directions_valid(value: str, expected: list[tuple[float, float]]) -> None:
    assert parse_directions(value) == (expected, False)


@pytest.mark.parametrize(
    "value",
    [
        "EB",
        "NB",
        "SB",
        "WB",
        "Flock Raven",
        "10--20",
        ".5",
        "5.",
        "+90",
        "1e3",
        "nan",
        "inf",
        "-10-20",
        "10-",
        "-",
        "NNNE",
        "north east",
        "٣",  # ARABIC-INDIC DIGIT THREE
        "１２",  # FULLWIDTH digits
        "90°°",
        "°",
        "deg",
        "north-north-east",
        "northnorth",
        "1" * 5000,
        "1" * 400 + "-" + "2" * 400,
    ],
)
def test_parse_directions_invalid(value: str) -> None:
    assert parse_directions(value) == ([], True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("90;EB", [(90.0, 90.0)]),
        ("EB;90", [(90.0, 90.0)]),
        ("NB;180;Flock Raven;0-360", [(0.0, 360.0), (180.0, 180.0)]),
        ("10--20, 20", [(20.0, 20.0)]),
        # ambiguous forms, read as documented in parse_directions and flagged
        ("12,5", [(5.0, 5.0), (12.0, 12.0)]),
        ("90,270", [(90.0, 90.0), (270.0, 270.0)]),
        ("180-180", [(0.0, 360.0)]),
        ("0-0", [(0.0, 360.0)]),
        ("360-0", [(0.0, 360.0)]),
    ],
)
def test_parse_directions_mixed(value: str, expected: list[tuple[float, float]]) -> None:
    assert parse_directions(value) == (expected, True)


@pytest.mark.parametrize("value", [None, "", "   ", ";", " ; , ;"])
def test_parse_directions_empty(value: str | None) -> None:
    assert parse_directions(value) == ([], False)


def test_parse_directions_tiny_negative_stays_below_360() -> None:
    sectors, invalid = parse_directions("-0." + "0" * 19 + "1")
    assert not invalid
    assert sectors == [(0.0, 0.0)]
    sectors, invalid = parse_directions("359." + "9" * 30)
    assert sectors == [(0.0, 0.0)]


def test_parse_directions_part_cap() -> None:
    many = ";".join(str(i) for i in range(MAX_DIRECTION_PARTS))
    sectors, invalid = parse_directions(many)
    assert not invalid
    assert len(sectors) == MAX_DIRECTION_PARTS
    sectors, invalid = parse_directions(many + ";100")
    assert invalid
    assert len(sectors) == MAX_DIRECTION_PARTS
    assert (100.0, 100.0) not in sectors


def test_direction_tag_fallback() -> None:
    assert normalise({"direction": "90"}).directions == [(90.0, 90.0)]
    assert normalise({"camera:direction": "180", "direction": "90"}).directions == [(180.0, 180.0)]
    # an empty camera:direction counts as missing
    assert normalise({"camera:direction": "  ", "direction": "90"}).directions == [(90.0, 90.0)]
    # camera:direction gives no usable sector: direction is used, and the EB flagged
    result = normalise({"camera:direction": "EB", "direction": "90"})
    assert result.directions == [(90.0, 90.0)]
    assert result.direction_invalid
    result = normalise({"camera:direction": "EB", "direction": "WB"})
    assert (result.directions, result.direction_invalid) == ([], True)
    result = normalise({"camera:direction": "90;EB", "direction": "180"})
    assert (result.directions, result.direction_invalid) == ([(90.0, 90.0)], True)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.tool}:{';'.join(c.tags.values())}" for c in CASES]
)
def test_peer_direction_cases(case: Case) -> None:
    """The direction tests of iD, GoMap, JOSM and DeFlock (tests/direction_peers.py)."""
    assert directions_of(case.tags) == (case.sectors, case.invalid), case.note
    n = normalise(case.tags)
    assert (n.directions, n.direction_invalid) == (case.sectors, case.invalid)


def test_peer_table_covers_each_tool() -> None:
    tools = {c.tool for c in CASES}
    assert {"iD", "GoMap", "JOSM", "DeFlock"} <= tools


def test_normalise_directions_invalid_flag() -> None:
    result = normalise({"camera:direction": "90;NB"})
    assert result.directions == [(90.0, 90.0)]
    assert result.direction_invalid
    assert not normalise({"camera:direction": "90"}).direction_invalid
    assert not normalise({}).direction_invalid


# --------------------------------------------------------------------------- display tuples


def test_value_tuples() -> None:
    assert set(KINDS) == {
        "camera",
        "ALPR",
        "speed_camera",
        "guard",
        "gunshot_detector",
        "other",
        "unknown",
    }
    assert set(VISIBILITIES) == {"public", "outdoor", "indoor", "other", "unknown"}
    assert set(CAMERA_TYPES) == {"fixed", "dome", "panning", "other", "unknown"}
    for values in (KINDS, VISIBILITIES, CAMERA_TYPES):
        assert len(set(values)) == len(values)
        assert values[-2:] == ("other", "unknown")


# --------------------------------------------------------------------------- properties

_KEYS = [
    "surveillance:type",
    "surveillance",
    "camera:type",
    "surveillance:zone",
    "camera:mount",
    "operator",
    "camera:direction",
    "direction",
]
_ANY_TEXT = st.text()  # includes control characters
_DIRECTION_ALPHABET = st.sampled_from(list("0123456789.-;, \t") + ["N", "E", "S", "W", "n", "٣"])
_DIRECTION_TEXT = st.one_of(
    _ANY_TEXT,
    st.text(alphabet=_DIRECTION_ALPHABET, max_size=40),
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False).map(str),
            st.integers().map(str),
            st.sampled_from(["N", "NNE", "north-west", "EB", "0-360", "304-14", "-140", ".5"]),
            st.builds(
                lambda a, b: f"{a}-{b}",
                st.integers(min_value=0, max_value=2000),
                st.integers(min_value=0, max_value=2000),
            ),
        ),
        max_size=80,
    ).map(";".join),
)
_TAGS = st.dictionaries(
    st.one_of(st.sampled_from(_KEYS), _ANY_TEXT),
    st.one_of(st.none(), _ANY_TEXT, _DIRECTION_TEXT),
)


def _check_sectors(sectors: list[tuple[float, float]]) -> None:
    assert sectors == sorted(set(sectors))
    for sector in sectors:
        assert isinstance(sector, tuple)
        assert len(sector) == 2
        if sector == (0.0, 360.0):
            continue
        for bound in sector:
            assert isinstance(bound, float)
            assert math.isfinite(bound)
            assert 0.0 <= bound < 360.0
            assert math.copysign(1.0, bound) == 1.0  # no -0.0


@settings(database=None, deadline=None)
@given(tags=_TAGS, speed_camera=st.booleans())
def test_normalise_never_raises(tags: dict[str, str | None], speed_camera: bool) -> None:
    result = normalise(tags, speed_camera=speed_camera)
    assert result.kind in KINDS
    assert result.visibility in VISIBILITIES
    assert result.camera_type in CAMERA_TYPES
    if speed_camera:
        assert result.kind == "speed_camera"
    else:
        assert result.kind != "speed_camera"
    for optional in (result.zone, result.mount, result.operator):
        assert optional is None or (optional != "" and optional == optional.strip())
    _check_sectors(result.directions)
    assert isinstance(result.direction_invalid, bool)


@settings(database=None, deadline=None)
@given(value=st.one_of(st.none(), _DIRECTION_TEXT))
def test_parse_directions_never_raises(value: str | None) -> None:
    sectors, invalid = parse_directions(value)
    _check_sectors(sectors)
    assert isinstance(invalid, bool)
    assert len(sectors) <= 64


@settings(database=None, deadline=None)
@given(bearing=st.integers(min_value=-(10**6), max_value=10**6))
def test_integer_bearing_is_mod_360(bearing: int) -> None:
    assert parse_directions(str(bearing)) == ([(float(bearing % 360),) * 2], False)


@settings(database=None, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=10**6),
    end=st.integers(min_value=0, max_value=10**6),
)
def test_integer_range(start: int, end: int) -> None:
    sectors, invalid = parse_directions(f"{start}-{end}")
    span = end - start
    if span >= 359 or span % 360 >= 359:
        assert not invalid
        assert sectors == [(0.0, 360.0)]
    elif span % 360 == 0:
        assert invalid  # '180-180': read as all round, flagged
        assert sectors == [(0.0, 360.0)]
    else:
        assert not invalid
        assert sectors == [(float(start % 360), float(end % 360))]


@settings(database=None, deadline=None)
@given(value=_DIRECTION_TEXT)
def test_direction_tag_matches_parse_directions(value: str) -> None:
    result = normalise({"camera:direction": value})
    assert (result.directions, result.direction_invalid) == parse_directions(value)
