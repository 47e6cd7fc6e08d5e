"""Tag fuzzing (issue 9, part 2): arbitrary tag dictionaries never crash the pipeline.

Two levels. The pure-Python path (reader tag cleaning, :func:`mapper.tags.normalise`,
:func:`mapper.ingest.staged_table`, the map payload and :func:`mapper.maps.safe_json`) takes
many thousands of dictionaries quickly. End to end, each example is one Overpass JSON file of
cameras placed inside Basel, ingested into a copy of a small store, then ``grid``,
``compare``, ``map`` and ``site`` run through the CLI: every command exits 0 and its output
holds exactly the cameras, tags and figures that went in. The ``slow`` variants (run by
``make test-all``, which ``.ci/run`` runs) push at least 10,000 dictionaries through each level.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Template
from shapely.geometry import box, shape

from mapper import maps
from mapper.ingest import staged_table
from mapper.maps import MAX_VALUE_CHARS, Panel, is_private, safe_json
from mapper.site import slug
from mapper.sources import Element, Extract, clean_tags
from mapper.tags import CAMERA_TYPES, KINDS, VISIBILITIES, normalise
from tests.conftest import BOUNDARIES, invoke

AREA = "Basel centre"
#: A 300 m x 330 m box in the old town, inside the shipped Basel boundary.
BOX = (7.5860, 47.5580, 7.5900, 47.5610)
KNOWN_KEYS = (
    "name", "operator", "surveillance", "surveillance:type", "camera:type",
    "surveillance:zone", "camera:mount", "camera:direction", "direction", "website", "image",
    "highway", "description",
)  # fmt: skip
#: The slow runs: examples x pooled dictionaries per example >= 10,000 tag dictionaries.
PURE_EXAMPLES, PURE_POOLED = 200, 50
E2E_EXAMPLES, E2E_POOLED = 40, 250
VOCABULARY = (
    "public", "outdoor", "indoor", "private", "camera", "ALPR", "anpr", "guard",
    "gunshot_detector", "fixed", "dome", "panning", "Dome;fixed", "doorbell", "DOORBELL ",
    "town", "traffic", "wall;pole", "https://example.org/", "javascript:alert(1)", "yes", "",
    " ", ";", "speed_camera",
)  # fmt: skip
# Control characters, bidi and zero-width marks, line/paragraph separators, BOM, non-characters,
# combining marks, an astral character, and the characters that matter to HTML, JSON and Jinja.
SPECIAL = (
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x80\x85\x9f\u00a0\u00ad\u200b\u200c\u200d"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\ufeff"
    "\ufffd\ufffe\uffff\u0301\U0001f4f7\U0010ffff=;,-:<>&'\"{}%#$`\\/"
)
SURROGATES = "\ud800\udbff\udc00\udfff"  # lone: legal in a JSON file, not in UTF-8

chars = st.one_of(st.characters(), st.sampled_from(SPECIAL), st.sampled_from(SURROGATES))
# (joined lists, not st.text(chars): text() would merge the alphabets into one range of code
# points, where the special characters are rare and lone surrogates never come)
short_text = st.lists(chars, max_size=24).map("".join)
huge_text = st.builds(
    lambda unit, n: (unit * (n // len(unit) + 1))[:n],
    st.lists(chars, min_size=1, max_size=6).map("".join),
    st.integers(1_000, 10_240),
)  # ~10 kB strings without spending Hypothesis' per-example budget on them
#: A short string, or one time in eight a huge one (they dominate the time otherwise).
short_or_huge = st.integers(0, 7).flatmap(lambda i: huge_text if i == 7 else short_text)


def _number() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-100_000, 100_000).map(str),
        st.decimals(-1e6, 1e6, allow_nan=False, allow_infinity=False, places=3).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["0", "360", "-0", "+90", "090", "90.", ".5", "1e3", "9" * 63,
                         "0." + "1" * 62, "١٢", "９０", "NaN", "inf"]),
    )  # fmt: skip


_WINDS = "N NNE NE ENE E ESE SE SSE S SSW SW WSW W WNW NW NNW".split()
compass = st.one_of(
    st.sampled_from(_WINDS).map(lambda w: w.lower() if len(w) % 2 else w),
    st.sampled_from(["north", "North-East", "south-west", "SouthWest", "northwest", "west",
                     "north west", "nord", "EB", "Flock Raven"]),
)  # fmt: skip
direction_part = st.one_of(
    _number(),
    compass,
    st.builds(lambda a, sp, b: f"{a}{sp}-{sp}{b}", st.one_of(_number(), compass),
              st.sampled_from(["", " ", "\t", "  "]), st.one_of(_number(), compass)),
    st.sampled_from(["0-360", "360-0", "304-14", "10--20", "-10-20", "N-S", "350-370",
                     "0-720", "1-1", "1.5-2.5", "a-b", "-", "--", "", " ", "x" * 65]),
    short_text,
)  # fmt: skip
direction = st.one_of(
    direction_part,
    st.builds(lambda parts, sep: sep.join(parts), st.lists(direction_part, max_size=8),
              st.sampled_from([";", ",", "; ", " , ", ";;", ",;"])),
    st.builds(lambda part, n, sep: sep.join([part] * n), direction_part,
              st.integers(60, 80), st.sampled_from([";", ","])),  # past the 64-part limit
)  # fmt: skip
text_value = st.one_of(short_or_huge, st.sampled_from(VOCABULARY), direction)
tag_key = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    short_or_huge,
    st.just(""),
    st.builds(lambda a, b: f"{a}={b}", short_text, short_text),
    st.builds(lambda a, b: f"{a}\n{b}", short_text, short_text),
    st.builds(lambda k: f" {k} ", st.sampled_from(KNOWN_KEYS)),
).filter(lambda k: k != "man_made")
#: What a JSON file may hold as a tag value besides a string (the readers keep str(value)
#: of scalars and drop null, arrays and objects).
json_value = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({"k": "v"}),
)
tag_dict = st.dictionaries(
    tag_key, st.one_of(text_value, text_value, direction, json_value), max_size=10
)


@st.composite
def tag_dicts(draw: st.DrawFn, pooled: int) -> list[dict[str, Any]]:
    """A few freely drawn tag dictionaries, then ``pooled`` more that mix a drawn pool of keys
    (every known key among them) and values: each of those is one drawn integer choosing its
    keys and values, so that hundreds fit the budget of one example and still shrink."""
    free = draw(st.lists(tag_dict, max_size=4))
    keys = list(dict.fromkeys([*KNOWN_KEYS, *draw(st.lists(tag_key, max_size=8))]))
    values = draw(st.lists(st.one_of(text_value, json_value), min_size=1, max_size=16))
    directions = draw(st.lists(direction, min_size=1, max_size=8))
    out = list(free)
    for code in draw(st.lists(st.integers(0, 2**40), min_size=pooled, max_size=pooled)):
        rng = random.Random(code)
        tags: dict[str, Any] = {}
        for j, k in enumerate(keys):
            if code >> (j % 40) & 1:
                pool = directions if k in ("camera:direction", "direction") else values
                tags[k] = pool[rng.randrange(len(pool))]
        out.append(tags)
    return out


def _fix(s: str) -> str:
    return re.sub("[\ud800-\udfff]", "\ufffd", s)


def expected_tags(raw: dict[str, Any]) -> dict[str, str]:
    """The tags a reader keeps: strings of scalars, lone surrogates replaced (no UTF-8 form)."""
    return {
        _fix(str(k)): _fix(str(v))
        for k, v in raw.items()
        if v is not None and not isinstance(v, list | dict)
    }


def clip(v: str) -> str:
    return v if len(v) <= MAX_VALUE_CHARS else v[: MAX_VALUE_CHARS - 1] + "…"


# ----------------------------------------------------------------------------- pure Python
def check_normalised(tags: dict[str, str]) -> None:
    n = normalise(tags)
    assert n.kind in KINDS and n.visibility in VISIBILITIES and n.camera_type in CAMERA_TYPES
    assert n.directions == sorted(set(n.directions))
    for a, b in n.directions:
        assert (a, b) == (0.0, 360.0) or (0 <= a < 360 and 0 <= b < 360), (a, b)
    for v in (n.zone, n.mount, n.operator):
        assert v is None or (v and v == v.strip())
    assert n.zone is None or n.zone == n.zone.lower()


def check_payload_text(text: str) -> None:
    """What a ``var D = ...;`` script may hold: no markup, no Jinja, JSON that reads back."""
    for bad in ("<", ">", "&", "'", "{{", "{%", "{#", "\u2028", "\u2029"):
        assert bad not in text, bad
    assert text.isascii()
    assert Template(text).render() == text  # folium's second Jinja pass changes nothing


def pure_path(raws: list[dict[str, Any]]) -> int:
    """Reader cleaning -> normalise -> staged table (DuckDB) -> map payload -> safe JSON."""
    elements = []
    for i, raw in enumerate(raws):
        tags = clean_tags(raw)
        assert tags == expected_tags(raw)
        check_normalised(tags)
        tags["man_made"] = "surveillance"
        elements.append(Element("node", i + 1, 47.5595, 7.5880, tags))
    rows = staged_table(Extract("fuzz.json", "0" * 64, "overpass-json", elements))
    assert len(rows) == len(raws)
    for row, e in zip(rows, elements, strict=True):
        assert dict(row["tags"]) == e.tags
        row["tags"] = dict(row["tags"])
    area = {"name": AREA, "geometry": shapely.to_wkb(shapely.MultiPolygon([box(*BOX)]))}
    figures = {"cameras": len(rows), "per_km2": 1.0, "per_1k": None, "grade": "partly tagged"}
    panel = Panel(area, 12, [], rows, figures, None, rows)
    payload = maps._payload(panel, [], [], shared=False, show_private=True)
    text = safe_json(payload)
    check_payload_text(text)
    back = json.loads(text)
    assert back == json.loads(json.dumps(payload))  # tuples read back as lists
    for c, e in zip(back["cameras"], elements, strict=True):
        assert {back["keys"][k]: v for k, v in c[6]} == {k: clip(v) for k, v in e.tags.items()}
    return len(raws)


def test_pure_path_examples() -> None:
    """A few hand-picked shapes, so a failure of the fuzzers below is easy to read."""
    assert pure_path([
        {},
        {"": "", "=": "=", "a\nb": "\x00", "camera:direction": "0-360;N;-140;10--20"},
        {"camera:direction": ";".join(["1"] * 70), "name": "\u202e" + "x" * 10_240},
        {"name": "\ud800", "\udfff": 1.5, "operator": True, "image": None, "website": []},
        {"name": "</script>{{ 7*7 }}{% raw %}'&", "operator": "\u2028\u2029"},
    ]) == 5  # fmt: skip


def _fuzz(check: Callable[[list[dict[str, Any]]], int], examples: int, pooled: int) -> int:
    """Run ``check`` on ``examples`` drawn lists of tag dictionaries; how many it checked."""
    total = 0

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(tag_dicts(pooled))
    def run(raws: list[dict[str, Any]]) -> None:
        nonlocal total
        total += check(raws)

    run()
    return total


def _run_pure(examples: int, pooled: int) -> int:
    return _fuzz(pure_path, examples, pooled)


def test_pure_path_fuzz_fast() -> None:
    assert _run_pure(60, 5) >= 60 * 5


@pytest.mark.slow
def test_pure_path_fuzz_10k() -> None:
    assert _run_pure(PURE_EXAMPLES, PURE_POOLED) >= 10_000


# ----------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one small area in the old town of Basel (inside the real boundary)."""
    folder = tmp_path_factory.mktemp("fuzz-store")
    basel = json.loads((BOUNDARIES / "basel.geojson").read_text(encoding="utf-8"))
    assert shape(basel["features"][0]["geometry"]).contains(box(*BOX))
    boundary = folder / "basel-centre.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": box(*BOX).__geo_interface__}
    boundary.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    db = folder / "base.duckdb"
    r = invoke("area", "add", AREA, "--boundary", str(boundary), "--db", str(db))
    assert r.exit_code == 0, r.stderr
    return db


def _payloads(html: str) -> list[dict[str, Any]]:
    texts = re.findall(r"var D = (\{.*?\});\n", html)
    for t in texts:
        check_payload_text(t)
    return [json.loads(t) for t in texts]


def _check_map_payload(d: dict[str, Any], shown: dict[int, dict[str, str]]) -> None:
    assert d["title"] == AREA
    assert {c[4] for c in d["cameras"]} == set(shown)
    for c in d["cameras"]:
        got = {d["keys"][k]: v for k, v in c[6]}
        assert got == {k: clip(v) for k, v in shown[c[4]].items()}, c[4]


def _private(tags: dict[str, str]) -> bool:
    return is_private({"visibility": normalise(tags).visibility, "tags": tags})


def camera_file(raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overpass elements: a camera per tag dictionary, spread over the box (R2 sequence)."""
    w, s, e, n = BOX
    return [
        {"type": "node", "id": i + 1, "tags": {"man_made": "surveillance", **raw},
         "lat": s + (n - s) * (0.02 + 0.96 * (i * 0.7548776662 % 1)),
         "lon": w + (e - w) * (0.02 + 0.96 * (i * 0.5698402910 % 1))}
        for i, raw in enumerate(raws)
    ]  # fmt: skip


def end_to_end(db0: Path, raws: list[dict[str, Any]]) -> int:
    """ingest -> grid -> compare -> map -> site on a copy of the small store; all exit 0 and
    agree with what went in."""
    text = json.dumps({"version": 0.6, "elements": camera_file(raws)})  # ASCII, \uXXXX escapes
    # as a reader sees them (two lone surrogates side by side read back as one character)
    tags = {e["id"]: expected_tags(e["tags"]) for e in json.loads(text)["elements"]}
    cameras = {i for i, t in tags.items() if t.get("man_made", "").strip() == "surveillance"}
    public = {i: tags[i] for i in cameras if not _private(tags[i])}
    n = len(cameras)
    with tempfile.TemporaryDirectory(prefix="tagfuzz-") as tmp:
        d = Path(tmp)
        db = d / "s.duckdb"
        shutil.copy(db0, db)
        src = d / "cameras.json"
        src.write_text(text, encoding="ascii")
        r = invoke("ingest", str(src), "--db", str(db))
        assert r.exit_code == 0, r.stderr
        assert f": {n} cameras" in r.stdout, r.stdout

        r = invoke("grid", AREA, "--format", "json", "--db", str(db))
        assert r.exit_code == 0, r.stderr
        cells = json.loads(r.stdout)["cells"]
        assert sum(c["cameras"] for c in cells) == n
        assert all(math.isfinite(c["per_km2"]) and c["per_km2"] >= 0 for c in cells)

        r = invoke("compare", AREA, "--format", "json", "--db", str(db))
        assert r.exit_code == 0, r.stderr
        [row] = json.loads(r.stdout)["rows"]
        assert row["cameras"] == n and row["per_km2"] == pytest.approx(n / row["area_km2"], 0.01)

        out = d / "map.html"
        r = invoke("map", AREA, "-o", str(out), "--tiles", "none", "--db", str(db))
        assert r.exit_code == 0, r.stderr
        [payload] = _payloads(out.read_text(encoding="utf-8"))
        _check_map_payload(payload, public)

        site = d / "site"
        r = invoke("site", "--out", str(site), "--tiles", "none", "--db", str(db))
        assert r.exit_code == 0, r.stderr
        s = slug(AREA)
        assert f">{AREA}</a>" in (site / "index.html").read_text(encoding="utf-8")
        assert (site / "areas" / f"{s}.html").is_file()
        [payload] = _payloads((site / "maps" / f"{s}.html").read_text(encoding="utf-8"))
        _check_map_payload(payload, public)
        doc = json.loads((site / "data" / s / "cameras.geojson").read_text(encoding="utf-8"))
        assert {f["properties"]["osm_id"] for f in doc["features"]} == set(public)
        with (site / "data" / s / "cameras.csv").open(encoding="utf-8", newline="") as f:
            assert len(list(csv.reader(f))) == 1 + len(public)
    return len(tags)


def _run_end_to_end(db0: Path, examples: int, pooled: int) -> int:
    return _fuzz(partial(end_to_end, db0), examples, pooled)


def test_end_to_end_fuzz_fast(small_store: Path) -> None:
    assert _run_end_to_end(small_store, 3, 40) >= 3 * 40


@pytest.mark.slow
def test_end_to_end_fuzz_10k(small_store: Path) -> None:
    """At least 10,000 generated tag dictionaries through ingest, grid, compare, map, site."""
    assert _run_end_to_end(small_store, E2E_EXAMPLES, E2E_POOLED) >= 10_000
