"""HTTP plumbing for live fetches: a requests response hook, bounded retries, validation.

osmnx passes ``settings.requests_kwargs`` to every request it sends, so a response hook sees
each fresh answer of Nominatim and Overpass before osmnx parses it. The hook

- retries HTTP 429 (too many requests), 503 and 504 (server busy) at most ``RETRIES``
  times, after the server's ``Retry-After`` or the ``BACKOFF`` schedule (osmnx itself would
  retry them forever, 55 s apart), then raises :class:`ServiceError`;
- refuses other HTTP errors, answers that are not JSON or not shaped as the service's
  format, and Overpass ``remark`` errors (a query cut short, its elements incomplete);
- records each Overpass answer's ``osm3s.timestamp_osm_base``, which osmnx drops.

The errors it raises pass through osmnx unchanged.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any
from urllib.parse import urlparse

import requests

from mapper.errors import NetworkError, ServiceError

#: Retries after an HTTP 429 (too many requests), 503 or 504 (server busy).
RETRIES = 3
#: Seconds before each retry when the server gives no Retry-After; a longer Retry-After
#: than MAX_RETRY_AFTER is not waited for.
BACKOFF = (5.0, 15.0, 30.0)
MAX_RETRY_AFTER = 120.0
_BUSY = (429, 503, 504)
OFFLINE_HINT = (
    "fetch needs the network; offline, 'camdensity ingest FILE' reads a downloaded extract"
)


def _service(url: str) -> str:
    path = urlparse(url).path
    if path.endswith("/interpreter") or path.endswith("/status"):
        return "the Overpass API"
    return "Nominatim"


def host(url: str) -> str:
    return urlparse(url).netloc or url


def retry_delay(attempt: int, retry_after: str | None) -> float | None:
    """Seconds to wait before retry ``attempt`` (0-based); None: do not retry.

    A server's ``Retry-After`` (in seconds) is followed when it is at most MAX_RETRY_AFTER;
    otherwise the backoff schedule applies.
    """
    if attempt >= RETRIES:
        return None
    if retry_after is not None and retry_after.strip().isdigit():
        wait = float(retry_after.strip())
        return wait if wait <= MAX_RETRY_AFTER else None
    return BACKOFF[min(attempt, len(BACKOFF) - 1)]


def short(text: str, n: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


class Guard:
    """A requests response hook, active while osmnx runs: bounded retries and validation.

    Raises the project's errors, which pass through osmnx unchanged. Records the
    ``timestamp_osm_base`` of every fresh Overpass answer.
    """

    def __init__(self) -> None:
        self.overpass_stamps: list[str | None] = []

    def __call__(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        attempt = 0
        waited = 0.0
        while response.status_code in _BUSY:
            delay = retry_delay(attempt, response.headers.get("Retry-After"))
            if delay is None:
                break
            response.close()
            time.sleep(delay)
            waited += delay
            again = response.request.copy()
            again.hooks = requests.hooks.default_hooks()  # this loop does the retrying
            with requests.Session() as session:
                try:
                    response = session.send(again, **kwargs)
                except requests.RequestException as exc:
                    raise network_error(str(again.url), exc, kwargs.get("timeout")) from None
            attempt += 1
        url = str(response.request.url)
        if response.status_code in _BUSY:
            raise ServiceError(
                f"{_service(url)} at {host(url)} is busy (HTTP {response.status_code}); gave "
                f"up after {attempt + 1} attempts over {waited:.0f} s; try again in a few minutes"
            )
        if response.status_code >= 400:
            raise ServiceError(
                f"{_service(url)} at {host(url)} answered HTTP {response.status_code} "
                f"({short(response.text, 100)!r})"
            )
        if response.status_code == 200:
            path = urlparse(url).path
            if path.endswith("/interpreter"):
                self.overpass_stamps.append(check_overpass(url, response))
            elif path.endswith("/search") or path.endswith("/lookup"):
                check_nominatim(url, response)
        return response


def _json(url: str, response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        raise ServiceError(
            f"{_service(url)} at {host(url)} sent a malformed response (not JSON: "
            f"{short(response.text, 60)!r}); try again later"
        ) from None


def _malformed(url: str, what: str) -> ServiceError:
    return ServiceError(
        f"{_service(url)} at {host(url)} sent a malformed response ({what}); try again later"
    )


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_overpass(url: str, response: requests.Response) -> str | None:
    data = _json(url, response)
    if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
        raise _malformed(url, "no 'elements' list")
    remark = data.get("remark")  # "runtime error: ...": the query was cut short
    if isinstance(remark, str) and "error" in remark.lower():
        raise ServiceError(
            f"the Overpass API at {host(url)} did not complete the query "
            f"({short(remark, 100)}); try a longer --timeout or a smaller place"
        )
    for e in data["elements"]:
        if not isinstance(e, dict) or e.get("type") not in ("node", "way", "relation"):
            raise _malformed(url, "an element without a node/way/relation type")
        if not isinstance(e.get("id"), int) or isinstance(e.get("id"), bool):
            raise _malformed(url, "an element without an integer id")
        if not isinstance(e.get("tags", {}), dict):
            raise _malformed(url, f"{e['type']}/{e['id']} has tags that are not an object")
        if e["type"] == "node" and not (_number(e.get("lat")) and _number(e.get("lon"))):
            raise _malformed(url, f"node/{e['id']} without a numeric lat/lon")
        if e["type"] == "way" and not (
            isinstance(e.get("nodes"), list)
            and e["nodes"]
            and all(isinstance(n, int) for n in e["nodes"])
        ):
            raise _malformed(url, f"way/{e['id']} without its node list")
        if e["type"] == "relation" and not isinstance(e.get("members"), list):
            raise _malformed(url, f"relation/{e['id']} without its member list")
    osm3s = data.get("osm3s")
    stamp = osm3s.get("timestamp_osm_base") if isinstance(osm3s, dict) else None
    return stamp if isinstance(stamp, str) else None


def check_nominatim(url: str, response: requests.Response) -> None:
    data = _json(url, response)
    if isinstance(data, dict) and "error" in data:
        raise ServiceError(
            f"Nominatim at {host(url)} answered an error ({short(str(data['error']), 100)})"
        )
    if not isinstance(data, list):
        raise _malformed(url, "not a list of places")
    for r in data:
        if not (
            isinstance(r, dict)
            and _number(r.get("importance"))
            and isinstance(r.get("boundingbox"), list)
            and len(r["boundingbox"]) == 4
            and isinstance(r.get("geojson"), dict)
            and isinstance(r["geojson"].get("type"), str)
        ):
            raise _malformed(url, "a place without importance, bounding box or geometry")
        if not _polygon_shaped(r["geojson"]):
            raise _malformed(url, f"a {r['geojson']['type']} without valid coordinates")


def _ring(ring: Any) -> bool:
    """A GeoJSON linear ring: four or more positions of two or three finite numbers."""
    return (
        isinstance(ring, list)
        and len(ring) >= 4
        and all(
            isinstance(p, list) and len(p) in (2, 3) and all(_number(v) for v in p) for p in ring
        )
    )


def _polygon_shaped(geojson: dict[str, Any]) -> bool:
    """A Polygon's or MultiPolygon's coordinates nest as GeoJSON says, so that shapely reads
    them without raising (other geometry types are never used as a boundary)."""
    coords = geojson.get("coordinates")
    if geojson["type"] == "Polygon":
        return isinstance(coords, list) and all(_ring(r) for r in coords)
    if geojson["type"] == "MultiPolygon":
        return isinstance(coords, list) and all(
            isinstance(p, list) and all(_ring(r) for r in p) for p in coords
        )
    return True


def network_error(url: str, exc: BaseException, timeout: Any) -> NetworkError:
    if isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectionError):
        return NetworkError(
            f"{_service(url)} at {host(url)} did not answer within {timeout} s; try again "
            f"with a longer --timeout ({OFFLINE_HINT})"
        )
    return NetworkError(f"cannot reach {_service(url)} at {host(url)}; {OFFLINE_HINT}")
