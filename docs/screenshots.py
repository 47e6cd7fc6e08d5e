"""Screenshots of the demo site for the README (Debian's Chromium through Playwright)."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main(site: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    city = next((site / "areas").glob("zurich-*.html"))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = b.new_page(viewport={"width": 1200, "height": 900})
        page.goto((site / "index.html").as_uri())
        page.screenshot(path=str(out / "index.png"))
        page.goto(city.as_uri())
        page.frame_locator("iframe.map").locator("path.leaflet-interactive").first.wait_for()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "city.png"), full_page=True)
        b.close()
    print(f"wrote {out / 'index.png'} and {out / 'city.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
