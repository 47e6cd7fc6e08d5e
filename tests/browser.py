"""A real Chromium (Debian's /usr/bin/chromium) driven by Playwright, for page tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = os.environ.get("CAMDENSITY_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require_chromium() -> None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")


@contextmanager
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class PageLog:
    """Console errors, page errors, dialogs and every request a page makes."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        #: Requests the browser gave up on because the page they belonged to was left (a
        #: lazily loaded icon still in flight at the next ``goto``): not failures of the page,
        #: but their URLs are kept so a test can check that each names a file that exists.
        self.aborted: list[str] = []
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.failed.append(r.url) if r.status >= 400 else None)

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    def _failed(self, request: Any) -> None:
        if request.failure == "net::ERR_ABORTED":
            self.aborted.append(request.url)
        else:
            self.failed.append(request.url)


#: ``[total, drawn]`` -> whether the camera markers of the page's maps are all loaded (their
#: cluster groups hold ``total`` markers: they are added in chunks, a timer apart) and, with
#: ``drawn``, whether every marker inside its map's view is on the map (a group redraws after
#: a zoom, animated; unclustered from zoom 18).
CAMERAS_JS = """([total, drawn]) => {
  const maps = Object.keys(window).filter((k) => k.startsWith("map_") && window[k] &&
                                                 window[k].setView).map((k) => window[k]);
  let held = 0, shown = true;
  for (const m of maps) {
    m.eachLayer((g) => {
      if (!(g instanceof L.MarkerClusterGroup)) { return; }
      const markers = g.getLayers(), view = m.getBounds();
      held += markers.length;
      shown = shown && markers.every((c) => !view.contains(c.getLatLng()) || m.hasLayer(c));
    });
  }
  return held === total && (!drawn || shown);
}"""

SET_VIEW_JS = """([lat, lon]) => {
  for (const k of Object.keys(window)) {
    if (k.startsWith("map_") && window[k] && window[k].setView) {
      window[k].setView([lat, lon], 18, {animate: false});
    }
  }
}"""


def zoom_to_cameras(frame: Any, lat: float, lon: float, total: int) -> None:
    """Every map of ``frame`` (a Playwright page or frame) at zoom 18 on (lat, lon) once its
    ``total`` camera markers are loaded; returns when each marker in view is drawn."""
    frame.wait_for_function(CAMERAS_JS, arg=[total, False], timeout=30000)
    frame.evaluate(SET_VIEW_JS, [lat, lon])
    frame.wait_for_function(CAMERAS_JS, arg=[total, True], timeout=30000)
