"""Direction cases from the tests of four OSM tools, with what each tool yields and what
camdensity reads (``mapper.tags.directions_of``). Used by ``tests/test_tags.py``.

The values and the tools' results are taken from their test files (not their code):

* iD: ``test/spec/osm/node.js`` (``#directions``), openstreetmap/iD at 5024feaf (2024-10-21).
  iD yields a list of bearings; its compass table rounds down (NNE is 22).
* GoMap: ``src/iOS/GoMapTests/OsmNode_DirectionTestCase.swift``, bryceco/GoMap at 9d471e27
  (2026-07-24). GoMap yields one ``start``/``end`` pair.
* JOSM: the ``direction`` rule (ticket #14989) of ``resources/data/validator/numeric.mapcss``
  (its ``assertMatch``: JOSM warns "unusual value"; ``assertNoMatch``: JOSM accepts), and
  ``RotationAngleTest`` (``180°``, ``90deg``, cardinal names) of JOSM/josm.
* DeFlock: ``test/models/osm_node_test.dart`` and ``node_profile_test.dart``,
  FoggedLens/deflock-app at bdc5399c (2026-08-04). DeFlock yields (centre, field of view).

Where we differ on purpose, ``note`` says why. Our sectors: ``(b, b)`` is one bearing,
``(0.0, 360.0)`` all round.
"""

from __future__ import annotations

from typing import NamedTuple

ALL = (0.0, 360.0)


class Case(NamedTuple):
    tags: dict[str, str]
    tool: str
    tool_yields: str
    sectors: list[tuple[float, float]]
    invalid: bool
    note: str = ""


def _d(value: str) -> dict[str, str]:
    return {"direction": value}


def _b(x: float) -> list[tuple[float, float]]:
    return [(x, x)]


_WINDS = (
    "n nne ne ene e ese se sse s ssw sw wsw w wnw nw nnw".split(),
    (
        "north northnortheast northeast eastnortheast east eastsoutheast southeast "
        "southsoutheast south southsouthwest southwest westsouthwest west westnorthwest "
        "northwest northnorthwest"
    ).split(),
    # iD's mixed-case spellings of the same 16
    "NOrth NOrthnorTHEast norTHEast EAstnorTHEast EAst EAstsouTHEast souTHEast SOuthsouTHEast "
    "SOuth SOuthsouTHWest souTHWest WEstsouTHWest WEst WEstnorTHWest norTHWest "
    "NOrthnorTHWest".split(),
)
_ID_WINDS = [0, 22, 45, 67, 90, 112, 135, 157, 180, 202, 225, 247, 270, 292, 315, 337]

CASES: list[Case] = [
    # ---------------------------------------------------------------- iD
    Case(_d("blah"), "iD", "[]", [], True),
    Case(_d("NaN"), "iD", "[]", [], True),
    Case(_d("eastwest"), "iD", "[]", [], True),
    Case(_d(""), "iD", "[]", [], False),
    Case(_d("0"), "iD", "[0]", _b(0.0), False),
    Case(_d("45"), "iD", "[45]", _b(45.0), False),
    Case(_d("-45"), "iD", "[-45]", _b(315.0), False, "we take bearings mod 360"),
    Case(_d("360"), "iD", "[360]", _b(0.0), False, "mod 360"),
    Case(_d("1000"), "iD", "[1000]", _b(280.0), False, "mod 360"),
    *[
        Case(
            _d(spelling),
            "iD",
            f"[{_ID_WINDS[i]}]",
            _b(22.5 * i),
            False,
            "iD rounds the half points down; we keep 22.5° steps" if i % 2 else "",
        )
        for names in _WINDS
        for i, spelling in enumerate(names)
    ],  # fmt: skip
    *[
        Case(_d(v.upper()), "iD", f"[{_ID_WINDS[i]}]", _b(22.5 * i), False)
        for i, v in enumerate(_WINDS[0])
    ],
    Case(_d("0;45"), "iD", "[0, 45]", [(0.0, 0.0), (45.0, 45.0)], False),
    Case(_d("45;north"), "iD", "[45, 0]", [(0.0, 0.0), (45.0, 45.0)], False),
    Case(_d("north;east"), "iD", "[0, 90]", [(0.0, 0.0), (90.0, 90.0)], False),
    Case(
        _d("n;s;e;w"),
        "iD",
        "[0, 180, 90, 270]",
        [(0.0, 0.0), (90.0, 90.0), (180.0, 180.0), (270.0, 270.0)],
        False,
    ),  # fmt: skip
    Case(_d("s;wat"), "iD", "[180]", _b(180.0), True, "the dropped part is flagged"),
    Case(
        {"camera:direction": "forward"},
        "iD",
        "[270] (from the parent way)",
        [],
        True,
        "forward/backward need the way the node is on: not read",
    ),  # fmt: skip
    Case({"camera:direction": "backward"}, "iD", "[90] (from the parent way)", [], True),
    Case({"camera:direction": "both"}, "iD", "[90, 270] (from the parent way)", [], True),
    Case({"camera:direction": "all"}, "iD", "[90, 270] (from the parent way)", [], True),
    Case(
        {"camera:direction": "both;ne;60"},
        "iD",
        "[90, 270, 45, 60]",
        [(45.0, 45.0), (60.0, 60.0)],
        True,
    ),  # fmt: skip
    # ---------------------------------------------------------------- GoMap
    Case({"direction": "42"}, "GoMap", "start 42", _b(42.0), False),
    Case({"camera:direction": "42"}, "GoMap", "start 42", _b(42.0), False),
    Case(
        {"direction": "90", "camera:direction": "180"},
        "GoMap",
        "key direction (90)",
        _b(180.0),
        False,
        "we prefer camera:direction, the camera's own key (as iD does)",
    ),  # fmt: skip
    Case({"highway": "stop", "direction": "forward"}, "GoMap", "nil", [], True),
    Case({"direction": "90-120"}, "GoMap", "90-120", [(90.0, 120.0)], False),
    *[
        Case({"camera:direction": k}, "GoMap", f"start {v}", _b(float(v)), False)
        for k, v in {
            "N": 0,
            "NE": 45,
            "E": 90,
            "SE": 135,
            "S": 180,
            "SW": 225,
            "W": 270,
            "NW": 315,
        }.items()
    ],  # fmt: skip
    # ---------------------------------------------------------------- JOSM
    Case(_d("north-down"), "JOSM", "warns", [], True),
    Case(_d("rome"), "JOSM", "warns", [], True),
    Case(_d("C"), "JOSM", "warns", [], True),
    Case(_d("NNNE"), "JOSM", "warns", [], True),
    Case(_d("1360"), "JOSM", "warns", _b(280.0), False, "read mod 360, as iD and DeFlock do"),
    Case(_d("north-south"), "JOSM", "warns", [], True),
    Case(
        _d("north-east"),
        "JOSM",
        "warns (a range? write N-E)",
        _b(45.0),
        False,
        "read as the wind north-east, not as a range",
    ),  # fmt: skip
    Case(_d("45-100;190-250;300-"), "JOSM", "warns", [(45.0, 100.0), (190.0, 250.0)], True),
    Case(_d("-10"), "JOSM", "warns", _b(350.0), False, "mod 360"),
    Case(_d("360"), "JOSM", "warns", _b(0.0), False, "mod 360"),
    Case(_d("NE-S"), "JOSM", "accepts", [(45.0, 180.0)], False),
    Case(_d("0-360"), "JOSM", "accepts (complete panorama)", [ALL], False),
    Case(
        _d("45-100;190-250;300-360"),
        "JOSM",
        "accepts",
        [(45.0, 100.0), (190.0, 250.0), (300.0, 0.0)],
        False,
    ),  # fmt: skip
    Case(
        _d("45-100;190-250;300"),
        "JOSM",
        "accepts",
        [(45.0, 100.0), (190.0, 250.0), (300.0, 300.0)],
        False,
    ),  # fmt: skip
    Case(_d("90;270"), "JOSM", "accepts", [(90.0, 90.0), (270.0, 270.0)], False),
    Case(_d("0"), "JOSM", "accepts", _b(0.0), False),
    Case(_d("45"), "JOSM", "accepts", _b(45.0), False),
    Case(_d("N"), "JOSM", "accepts", _b(0.0), False),
    Case(_d("NNE"), "JOSM", "accepts", _b(22.5), False),
    Case(_d("west"), "JOSM", "accepts", _b(270.0), False),
    Case(_d("up"), "JOSM", "accepts (for steps, not a facing direction)", [], True),
    Case(_d("down"), "JOSM", "accepts (for steps)", [], True),
    Case(_d("forward"), "JOSM", "accepts (from the way)", [], True),
    Case(_d("anti-clockwise"), "JOSM", "accepts (for roundabouts)", [], True),
    Case(_d("anticlockwise"), "JOSM", "accepts (for roundabouts)", [], True),
    Case(_d("180°"), "JOSM", "π (RotationAngle)", _b(180.0), False),
    Case(_d("90deg"), "JOSM", "π/2 (RotationAngle)", _b(90.0), False),
    Case(_d("south"), "JOSM", "π (RotationAngle)", _b(180.0), False),
    Case(_d("s"), "JOSM", "π (RotationAngle)", _b(180.0), False),
    Case(_d("northwest"), "JOSM", "315° (RotationAngle)", _b(315.0), False),
    Case(_d("bad"), "JOSM", "IllegalArgumentException (RotationAngle)", [], True),
    # ---------------------------------------------------------------- DeFlock
    Case(
        _d("180-180"),
        "DeFlock",
        "centre 180, fov 360",
        [ALL],
        True,
        "ambiguous (a point or all round): read as all round, flagged",
    ),  # fmt: skip
    Case(_d("0-0"), "DeFlock", "centre 0, fov 360", [ALL], True),
    Case(_d("270-270"), "DeFlock", "centre 270, fov 360", [ALL], True),
    Case(_d("90-270"), "DeFlock", "centre 180, fov 180", [(90.0, 270.0)], False),
    Case(_d("270-90"), "DeFlock", "centre 0, fov 180", [(270.0, 90.0)], False),
    Case(_d("90"), "DeFlock", "centre 90, default fov", _b(90.0), False),
    Case(_d("55-125"), "DeFlock", "fov 70", [(55.0, 125.0)], False),
    Case(_d("55-125;235-305"), "DeFlock", "two, fov 70", [(55.0, 125.0), (235.0, 305.0)], False),
    Case(_d("90;180-360"), "DeFlock", "two", [(90.0, 90.0), (180.0, 0.0)], False),
    Case(
        _d("90;180;270"), "DeFlock", "three", [(90.0, 90.0), (180.0, 180.0), (270.0, 270.0)], False
    ),  # fmt: skip
    Case({"camera:direction": "180"}, "DeFlock", "centre 180", _b(180.0), False),
    # ---------------------------------------------------------------- issue 16's forms
    Case(
        {"camera:direction": "EB", "direction": "90"},
        "ALPR nodes",
        "-",
        _b(90.0),
        True,
        "camera:direction gives no sector: direction is used; EB is flagged",
    ),  # fmt: skip
    Case(
        {"camera:direction": "NB;SB", "direction": "0;180"},
        "ALPR nodes",
        "-",
        [(0.0, 0.0), (180.0, 180.0)],
        True,
    ),  # fmt: skip
    Case({"camera:direction": "90", "direction": "EB"}, "ALPR nodes", "-", _b(90.0), False),
    Case(_d("NorthNorthEast"), "issue 16", "-", _b(22.5), False),
    Case(_d("north-northwest"), "issue 16", "-", _b(337.5), False),
    Case(_d("90 °"), "issue 16", "-", _b(90.0), False),
    Case(_d("90DEG"), "issue 16", "-", _b(90.0), False),
    Case(_d("90°-180°"), "issue 16", "-", [(90.0, 180.0)], False),
    Case(_d("0-359"), "issue 16", "DeFlock: centre 179.5, fov 359", [ALL], False),
    Case(
        _d("12,5"),
        "issue 16",
        "iD [] · GoMap nil · DeFlock 12 · JOSM warns",
        [(5.0, 5.0), (12.0, 12.0)],
        True,
        "ambiguous: read as a list, flagged",
    ),  # fmt: skip
    Case(_d("180, 270"), "issue 16", "-", [(180.0, 180.0), (270.0, 270.0)], False),
]
