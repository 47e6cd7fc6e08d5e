"""A local stand-in for Nominatim and the Overpass API, over real HTTP on 127.0.0.1.

Its answers are built from the real shipped data and follow the formats of the real services:

- ``GET {base}/nominatim/search``: Nominatim's ``format=json`` (or ``jsonv2``) result list,
  fields in Nominatim's order (place_id, licence, osm_type, osm_id, lat, lon, class, type,
  place_rank, importance, addresstype, name, display_name, extratags, namedetails,
  boundingbox, geojson); ``extratags`` (with ``admin_level`` added for administrative
  boundaries, as Nominatim does), ``namedetails`` and ``geojson`` only when asked for; the
  ``name`` localised by Accept-Language; at most ``limit`` results.
- ``POST {base}/api/interpreter``: the Overpass JSON of the elements matching each
  ``node|way|relation[k=v](poly:"lat lon ...")`` (or ``(s,w,n,e)``) statement of the query,
  with the nodes of matching ways (osmnx's ``(._;>;)``), ``osm3s.timestamp_osm_base`` set.
- ``GET {base}/api/status``: the text of Overpass's status page (slots available).

Faults are queued per service (``overpass_faults``, ``nominatim_faults``), one per request:
an HTTP status (429 or 504 with Overpass's own error page, and ``Retry-After: 0`` so that
tests need not wait out the client's backoff), ``"truncated"`` (a 200 whose JSON is cut
short) or ``"remark"`` (an Overpass runtime error inside a 200 answer, as Overpass reports a
query that timed out).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from shapely.geometry import Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"
GENERATOR = "Overpass API 0.7.61.5 4133829e"
COPYRIGHT = (
    "The data included in this document is from www.openstreetmap.org. "
    "The data is made available under ODbL."
)
# The Switzerland dump has no timestamp of its own; its README dates it "snapshot <= 2023-06-14".
SWISS_TIMESTAMP = "2023-06-14T00:00:00Z"

_STATEMENT = re.compile(
    r"(node|way|relation)"
    r"\[(['\"])(?P<key>[^'\"]+)\2(?:=(['\"])(?P<value>[^'\"]*)\4)?\]"
    r"\((?:poly:(['\"])(?P<poly>[-0-9. ]+)\6|(?P<bbox>-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+))\)"
)

OVERPASS_429 = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<html><body><p><strong style="color:#FF0000">'
    "Error</strong>: runtime error: open64: 0 Success /osm3s_osm_base "
    "Dispatcher_Client::request_read_and_idx::rate_limited. Please check /api/status for the "
    "quota of your IP address. </p></body></html>\n"
)
OVERPASS_504 = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<html><body><p><strong style="color:#FF0000">'
    "Error</strong>: runtime error: open64: 0 Success /osm3s_osm_base "
    "Dispatcher_Client::request_read_and_idx::timeout. The server is probably too busy to "
    "handle your request. </p></body></html>\n"
)


@dataclass
class PlaceRecord:
    """One OSM object Nominatim can find, with what it knows of it."""

    queries: tuple[str, ...]
    osm_type: str
    osm_id: int
    category: str
    type: str
    geometry: BaseGeometry
    names: dict[str, str]  # the OSM name tags
    display_name: dict[str, str]  # by language ("" for the default)
    place_rank: int
    importance: float
    addresstype: str
    extratags: dict[str, str] = field(default_factory=dict)
    admin_level: int | None = None

    def result(self, place_id: int, params: dict[str, str], language: str) -> dict[str, Any]:
        """This place as one item of Nominatim's ``format=json``/``jsonv2`` answer."""
        c = self.geometry.centroid if self.geometry.geom_type != "Point" else self.geometry
        minx, miny, maxx, maxy = self.geometry.bounds
        lang = language.split(",")[0].split(";")[0].strip().lower()
        name = self.names.get(f"name:{lang}", self.names.get("name", ""))
        out: dict[str, Any] = {
            "place_id": place_id,
            "licence": LICENCE,
            "osm_type": self.osm_type,
            "osm_id": self.osm_id,
            "lat": f"{c.y:0.7f}",
            "lon": f"{c.x:0.7f}",
            "category" if params.get("format") == "jsonv2" else "class": self.category,
            "type": self.type,
            "place_rank": self.place_rank,
            "importance": self.importance,
            "addresstype": self.addresstype,
            "name": name,
            "display_name": self.display_name.get(lang, self.display_name[""]),
        }
        if params.get("extratags") == "1":
            tags = dict(self.extratags)
            if (self.category, self.type) == ("boundary", "administrative") and self.admin_level:
                tags["admin_level"] = str(self.admin_level)
            out["extratags"] = tags
        if params.get("namedetails") == "1":
            out["namedetails"] = dict(self.names)
        out["boundingbox"] = [f"{miny:0.7f}", f"{maxy:0.7f}", f"{minx:0.7f}", f"{maxx:0.7f}"]
        if params.get("polygon_geojson") == "1":
            out["geojson"] = mapping(self.geometry)
        return out


def boundary_place(
    path: Path,
    *,
    queries: tuple[str, ...],
    osm_id: int,
    admin_level: int,
    addresstype: str,
    display_name: dict[str, str],
    importance: float,
    extratags: dict[str, str],
) -> PlaceRecord:
    """An administrative boundary relation from a shipped boundary file (name, population)."""
    feature = json.loads(path.read_text(encoding="utf-8"))["features"][0]
    props = feature["properties"]
    names = {"name": props["name"]}
    if props.get("name_en"):
        names["name:en"] = props["name_en"]
    tags = dict(extratags)
    if props.get("population") is not None:
        tags["population"] = str(props["population"])
        if props.get("population_year"):
            tags["population:date"] = f"{props['population_year']}-12-31"
    return PlaceRecord(
        queries=queries,
        osm_type="relation",
        osm_id=osm_id,
        category="boundary",
        type="administrative",
        geometry=shape(feature["geometry"]),
        names=names,
        display_name=display_name,
        place_rank=2 * admin_level,
        importance=importance,
        addresstype=addresstype,
        extratags=tags,
        admin_level=admin_level,
    )


class Database:
    """OSM elements (Overpass JSON dicts) and the spatial/tag matching Overpass does."""

    def __init__(self, elements: list[dict[str, Any]]) -> None:
        self.nodes = {e["id"]: e for e in elements if e["type"] == "node"}
        self.ways = {e["id"]: e for e in elements if e["type"] == "way"}

    @staticmethod
    def _tag_match(e: dict[str, Any], key: str, value: str | None) -> bool:
        tags = e.get("tags", {})
        return key in tags if value is None else tags.get(key) == value

    def query(self, text: str) -> list[dict[str, Any]]:
        """The elements an osmnx features query asks for (statements are unioned)."""
        statements = list(_STATEMENT.finditer(text))
        if "[out:json]" not in text or not statements:
            raise ValueError("not an osmnx features query")
        nodes: dict[int, dict[str, Any]] = {}
        ways: dict[int, dict[str, Any]] = {}
        for m in statements:
            area = _area(m)
            if m.group(1) == "node":
                for n in self.nodes.values():
                    if self._tag_match(n, m["key"], m["value"]) and area.covers(
                        Point(n["lon"], n["lat"])
                    ):
                        nodes[n["id"]] = n
            elif m.group(1) == "way":
                for w in self.ways.values():
                    if self._tag_match(w, m["key"], m["value"]) and any(
                        area.covers(Point(self.nodes[r]["lon"], self.nodes[r]["lat"]))
                        for r in w["nodes"]
                    ):
                        ways[w["id"]] = w
                        for r in w["nodes"]:  # (._;>;): the way's nodes come along
                            nodes[r] = self.nodes[r]
        return [nodes[i] for i in sorted(nodes)] + [ways[i] for i in sorted(ways)]


def _area(m: re.Match[str]) -> BaseGeometry:
    if m["poly"] is not None:
        nums = [float(x) for x in m["poly"].split()]
        return Polygon(list(zip(nums[1::2], nums[0::2], strict=True)))
    s, w, n, e = (float(x) for x in m["bbox"].split(","))
    return box(w, s, e, n)


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class FakeOSM:
    """The server: Nominatim under ``/nominatim/``, Overpass under ``/api/``."""

    def __init__(
        self, places: list[PlaceRecord], elements: list[dict[str, Any]], timestamp: str
    ) -> None:
        self.places = places
        self.db = Database(elements)
        self.timestamp = timestamp
        self.overpass_faults: list[int | str] = []
        self.nominatim_faults: list[int | str] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._httpd.errors = self.errors
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def nominatim_url(self) -> str:
        return self.base + "/nominatim/"

    @property
    def overpass_url(self) -> str:
        return self.base + "/api"

    def start(self) -> FakeOSM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def reset(self) -> None:
        with self._lock:
            self.overpass_faults.clear()
            self.nominatim_faults.clear()
            self.seen.clear()
            self.errors.clear()

    def count(self, path_end: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.path.endswith(path_end))

    def _next_fault(self, queue: list[int | str]) -> int | str | None:
        with self._lock:
            return queue.pop(0) if queue else None

    # -------------------------------------------------------------- answers

    def search(self, params: dict[str, str], language: str) -> tuple[int, str, bytes]:
        if params.get("format") not in ("json", "jsonv2"):
            body = {"error": {"code": 400, "message": "Parameter 'format' must be json"}}
            return 400, "application/json", json.dumps(body).encode()
        q = params.get("q", "").strip().casefold()
        found = [p for p in self.places if q in (x.casefold() for x in p.queries)]
        found.sort(key=lambda p: p.importance, reverse=True)
        limit = int(params.get("limit", "10"))
        results = [
            p.result(100000 + i, params, language) for i, p in enumerate(found[:limit], start=1)
        ]
        return 200, "application/json; charset=utf-8", _dumps(results)

    def interpreter(self, query: str) -> tuple[int, str, bytes]:
        try:
            elements = self.db.query(query)
        except ValueError:
            body = "<html><body><p><strong>Error</strong>: line 1: parse error</p></body></html>"
            return 400, "text/html; charset=utf-8", body.encode()
        answer = {
            "version": 0.6,
            "generator": GENERATOR,
            "osm3s": {"timestamp_osm_base": self.timestamp, "copyright": COPYRIGHT},
            "elements": elements,
        }
        return 200, "application/json", _dumps(answer)

    def status(self) -> bytes:
        return (
            "Connected as: 2130706433\n"
            f"Current time: {self.timestamp}\n"
            "Announced endpoint: none\n"
            "Rate limit: 2\n"
            "2 slots available now.\n"
            "Currently running queries (pid, space limit, time limit, start time):\n"
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # requests are recorded in server.seen instead

            def _params(self) -> dict[str, str]:
                query = urlparse(self.path).query
                if self.command == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    query = self.rfile.read(length).decode("utf-8")
                return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}

            def _send(
                self, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _fault(self, fault: int | str, html: dict[int, str]) -> None:
                if fault in (429, 503, 504):
                    assert isinstance(fault, int)
                    body = html.get(fault, "<html><body>busy</body></html>").encode()
                    self._send(fault, "text/html; charset=utf-8", body, {"Retry-After": "0"})
                elif fault == "truncated":
                    self._send(200, "application/json", b'{"version":0.6,"generator":"Overp')
                elif fault == "remark":
                    body = {
                        "version": 0.6,
                        "generator": GENERATOR,
                        "osm3s": {"timestamp_osm_base": server.timestamp, "copyright": COPYRIGHT},
                        "elements": [],
                        "remark": 'runtime error: Query timed out in "query" at line 1 after '
                        "2 seconds.",
                    }
                    self._send(200, "application/json", _dumps(body))
                else:
                    raise AssertionError(f"unknown fault {fault!r}")

            def _dispatch(self) -> None:
                path = urlparse(self.path).path
                params = self._params()
                with server._lock:
                    server.seen.append(Seen(self.command, path, params, dict(self.headers)))
                if path == "/nominatim/search":
                    fault = server._next_fault(server.nominatim_faults)
                    if fault is not None:
                        return self._fault(fault, {})
                    language = self.headers.get("Accept-Language", "")
                    return self._send(*server.search(params, language))
                if path == "/api/interpreter":
                    fault = server._next_fault(server.overpass_faults)
                    if fault is not None:
                        return self._fault(fault, {429: OVERPASS_429, 504: OVERPASS_504})
                    return self._send(*server.interpreter(params.get("data", "")))
                if path == "/api/status":
                    return self._send(200, "text/plain; charset=utf-8", server.status())
                self._send(404, "text/plain", b"not found")

            do_GET = _dispatch
            do_POST = _dispatch

        return Handler


class _Server(ThreadingHTTPServer):
    """Errors in handler threads are recorded, not printed: a test's CliRunner captures
    stderr, and a client closing a kept-alive connection is no error of the service."""

    daemon_threads = True
    errors: list[BaseException]

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, ConnectionError):
            self.errors.append(exc)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
