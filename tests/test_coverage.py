"""Fields of view and coverage (mapper/coverage.py): a case worked out by hand, the
method's rules (own building, indoor cameras, undirected ones apart), and the shipped Munich
extract with and without buildings."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from mapper.areas import get as get_area
from mapper.coverage import area_coverage, coverage_of, fields_of_view, local_projection
from mapper.grid import area_grid, prepare
from mapper.sources.streets import geodesic_lengths
from mapper.store import open_store
from mapper.streets import AreaStreets
from tests.conftest import MUNICH, invoke

LON, LAT = 11.575, 48.137  # the hand-made scene is drawn in metres around this point
TAN30 = math.tan(math.radians(30))


def _scene(
    lines_m: list[list[tuple[float, float]]], buildings_m: list[shapely.Geometry]
) -> AreaStreets:
    _, inv = local_projection(LON, LAT)

    def back(g: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(g, lambda c: np.column_stack(inv.transform(c[:, 0], c[:, 1])))

    lines = np.array([back(shapely.LineString(c)) for c in lines_m], dtype=object)
    n = len(lines)
    return AreaStreets(
        osm_ids=np.arange(n), street=np.ones(n, bool), walk=np.zeros(n, bool), lines=lines,
        length_m=geodesic_lengths(lines),
        buildings=np.array([back(b) for b in buildings_m], dtype=object), stored=True,
    )  # fmt: skip


def _cam(x: float, y: float, directions: list[list[float]], **kw: Any) -> dict[str, Any]:
    fwd, inv = local_projection(LON, LAT)
    lon, lat = inv.transform(x, y)
    cam = {"lon": lon, "lat": lat, "kind": "camera", "visibility": "public",
           "camera_type": "fixed", "directions": directions}  # fmt: skip
    cam.update(kw)
    return cam


STREET_NEAR = [(-20.0, 5.0), (20.0, 5.0)]  # 40 m, between the camera and the wall
STREET_FAR = [(-20.0, 25.0), (20.0, 25.0)]  # 40 m, behind the wall
WALL = shapely.box(-50, 10, 50, 20)  # a building whose wall is 10 m north of the camera


def test_camera_facing_a_wall_across_a_street() -> None:
    """A fixed camera (radius 30 m) at the origin faces north (a 60° wedge). A 40 m street
    crosses its view 5 m away, a building's wall stands 10 m away, and a second 40 m street
    runs behind the building, 25 m away. By hand: the wedge is 2 * 5 * tan 30° = 5.774 m wide
    on the near street and 2 * 25 * tan 30° = 28.868 m on the far one (25 / cos 30° = 28.9 m
    is within the radius). Without buildings 34.641 of 80 m are seen (0.4330); the wall hides
    the far street, leaving 5.774 m (0.0722)."""
    scene = _scene([STREET_NEAR, STREET_FAR], [WALL])
    cams = [_cam(0, 0, [[0.0, 0.0]])]
    seen = coverage_of(scene, cams)
    open_ = coverage_of(scene, cams, occlusion=False)
    assert seen.street_m == pytest.approx(80.0, rel=1e-4)
    assert seen.in_view_m == pytest.approx(10 * TAN30, rel=1e-4)
    assert open_.in_view_m == pytest.approx(10 * TAN30 + 50 * TAN30, rel=1e-4)
    assert seen.share == pytest.approx(10 * TAN30 / 80, rel=1e-4)
    assert open_.share == pytest.approx(60 * TAN30 / 80, rel=1e-4)
    assert seen.figures()["coverage"] == round(10 * TAN30 / 80, 4)
    assert (seen.directed, seen.undirected) == (1, 0)
    # the drawn field of view ends at the wall: 10 m deep, 2 * 10 * tan 30° wide there
    (poly,) = seen.views
    fwd, _ = local_projection(LON, LAT)
    m = shapely.transform(poly, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    assert m.area == pytest.approx(100 * TAN30, rel=1e-4)


def test_undirected_cameras_counted_apart_and_as_discs() -> None:
    """An undirected dome (20 m) on a third 40 m street adds nothing to the directed figure;
    as a disc it sees that whole street (the disc's rays at 90° and 270° lie on it)."""
    scene = _scene([STREET_NEAR, STREET_FAR, [(180.0, 0.0), (220.0, 0.0)]], [WALL])
    cams = [_cam(0, 0, [[0.0, 0.0]]), _cam(200, 0, [], camera_type="dome")]
    c = coverage_of(scene, cams)
    assert (c.directed, c.undirected) == (1, 1)
    assert c.in_view_m == pytest.approx(10 * TAN30, rel=1e-4)
    assert c.in_view_discs_m == pytest.approx(10 * TAN30 + 40, rel=1e-4)
    assert c.share_discs == pytest.approx((10 * TAN30 + 40) / 120, rel=1e-4)
    assert list(c.view_directed) == [True, False]


def test_guards_detectors_and_indoor_cameras_see_no_street() -> None:
    scene = _scene([STREET_NEAR], [])
    cams = [
        _cam(0, 0, [[0.0, 0.0]], visibility="indoor"),
        _cam(0, 0, [[0.0, 0.0]], kind="guard"),
        _cam(0, 0, [], kind="gunshot_detector"),
    ]
    c = coverage_of(scene, cams)
    assert (c.cameras, c.seeing, c.directed, c.undirected) == (3, 0, 0, 0)
    assert c.in_view_m == c.in_view_discs_m == 0.0
    assert c.figures()["per_street_km"] == pytest.approx(3 / 0.04, rel=1e-3)


def test_the_building_a_camera_hangs_on_does_not_block_it() -> None:
    """A camera on the south facade of a building, facing south, sees the street in front."""
    house = shapely.box(-10, 0, 10, 10)
    scene = _scene([[(-20.0, -5.0), (20.0, -5.0)]], [house])
    c = coverage_of(scene, [_cam(0, 0.3, [[180.0, 180.0]])])
    assert c.in_view_m == pytest.approx(2 * 5.3 * TAN30, rel=1e-3)


def test_sector_shapes() -> None:
    xy = np.array([[0.0, 0.0]])
    (wedge,) = fields_of_view(xy, [30.0], [[(0.0, 0.0)]]).polygons
    assert wedge.area == pytest.approx(math.pi * 900 / 6, rel=1e-3)
    (disc,) = fields_of_view(xy, [30.0], [[(0.0, 360.0)]]).polygons
    assert disc.area == pytest.approx(math.pi * 900, rel=1e-3)
    (rng,) = fields_of_view(xy, [20.0], [[(270.0, 90.0)]]).polygons  # through north
    assert rng.area == pytest.approx(math.pi * 400 / 2, rel=1e-3)
    assert rng.bounds[1] == pytest.approx(0.0, abs=1e-9)  # the northern half
    v = fields_of_view(np.array([[0.0, 0.0], [5.0, 5.0]]), [30, 20], [[], [(0, 0), (90, 90)]])
    assert list(v.camera) == [1, 1]


@pytest.fixture(scope="module")
def munich_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("coverage") / "munich.duckdb"
    assert invoke("ingest", "--db", db, MUNICH).exit_code == 0
    assert invoke("streets", "--db", db, MUNICH).exit_code == 0
    return db


def test_munich_coverage_with_buildings_is_below_coverage_without(munich_store: Path) -> None:
    with open_store(munich_store) as con:
        prepare(con)
        area = get_area(con, "munich_altstadt_2020-07-20 (extent)")
        cut = area_coverage(con, area)
        free = area_coverage(con, area, occlusion=False)
        cells = area_grid(con, area, 10)
    for c in (cut, free):
        assert c.share is not None and c.share_discs is not None
        assert 0 < c.share <= c.share_discs <= 1
    assert cut.share is not None and free.share is not None
    assert cut.share < free.share
    assert cut.share_discs < free.share_discs  # type: ignore[operator]
    # the fields of view with buildings lie within those without
    assert shapely.union_all(cut.views).area <= shapely.union_all(free.views).area
    rows = cut.cells([c["h3"] for c in cells], [c["cameras"] for c in cells])
    for r in rows:
        for key in ("coverage", "coverage_discs"):
            assert r[key] is None or 0 <= r[key] <= 1
    in_view = sum(r["coverage"] * r["street_km"] for r in rows if r["coverage"] is not None)
    assert in_view == pytest.approx(cut.in_view_m / 1000, rel=0.01)


def test_a_street_clipped_into_pieces() -> None:
    """A street an area's boundary cuts in two (a MultiLineString after clipping): the 2 m
    gap at the centre of the near street is not counted."""
    _, inv = local_projection(LON, LAT)
    scene = _scene([STREET_NEAR], [WALL])
    split = shapely.MultiLineString([[(-20.0, 5.0), (-1.0, 5.0)], [(1.0, 5.0), (20.0, 5.0)]])
    back = shapely.transform(split, lambda c: np.column_stack(inv.transform(c[:, 0], c[:, 1])))
    scene.lines = np.array([back], dtype=object)
    scene.length_m = geodesic_lengths(scene.lines)
    c = coverage_of(scene, [_cam(0, 0, [[0.0, 0.0]])])
    assert c.street_m == pytest.approx(38.0, rel=1e-4)
    assert c.in_view_m == pytest.approx(10 * TAN30 - 2, rel=1e-4)
