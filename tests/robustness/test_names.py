"""Issue 9, part 6: area names are strangers' text, never paths.

A real site is built from a store whose areas carry hostile names (path traversal, absolute
paths, slashes, Windows device names, 300 characters, names that differ only in case or in
accents); every file it writes must be inside the output folder, under a safe name, one per
area, and every link between its pages must point inside it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.conftest import BOUNDARIES, digest, invoke
from tests.robustness.procs import cli

NAMES = [
    "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", "a/b", "..", "CON", "con",
    "NUL", "COM1", "x" * 300, "x" * 299 + "y", "Zürich", "ZÜRICH", "???", "索引",
    "trailing dot.",
]  # fmt: skip
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                   *(f"lpt{i}" for i in range(10))}  # fmt: skip
SAFE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']*)["']""")


def _listing(root: Path, skip: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_relative_to(skip)}


@pytest.fixture(scope="module")
def named_store(monaco_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("names") / "names.duckdb"
    shutil.copy(monaco_seed, db)
    boundary = BOUNDARIES / "city-of-london.geojson"
    for name in NAMES:
        r = invoke("area", "add", name, "--boundary", str(boundary), "--db", str(db))
        assert r.exit_code == 0, (name, r.stderr)
    return db


def test_names_that_are_no_area_names_are_refused(named_store: Path) -> None:
    before = digest(named_store)
    boundary = str(BOUNDARIES / "city-of-london.geojson")
    for bad in ("x" * 301, "   ", "tab\there", "new\nline"):
        r = invoke("area", "add", bad, "--boundary", boundary, "--db", str(named_store))
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert digest(named_store) == before


@pytest.mark.slow  # the quick tier: test_site's slugs and test_xss's pages of hostile titles
def test_site_files_from_hostile_names_are_safe_distinct_and_inside(
    named_store: Path, tmp_path: Path
) -> None:
    from mapper.site import slug

    public = tmp_path / "deep" / "er" / "public"
    public.mkdir(parents=True)
    out = public / "site"
    passwd = digest(Path("/etc/passwd"))
    outside = _listing(tmp_path, out)
    build: subprocess.Popen[bytes] = cli(
        "site", "-q", "--db", named_store, "--out", out, "--tiles", "none"
    )
    assert build.wait(600) == 0
    # Nothing outside the output folder (the store is only read).
    assert _listing(tmp_path, out) == outside
    assert digest(Path("/etc/passwd")) == passwd
    real = out.resolve()
    files = [p for p in out.rglob("*")]
    assert not [p for p in files if p.is_symlink()]
    assert all(p.resolve().is_relative_to(real) for p in files)
    # One page, one map and one download folder per area, under distinct, safe names.
    areas = [r["name"] for r in _area_list(named_store)]
    assert set(NAMES) <= set(areas)
    slugs = {slug(a) for a in areas}
    assert len(slugs) == len(areas)
    assert len({s.casefold() for s in slugs}) == len(areas)
    pages = {p.stem for p in (out / "areas").iterdir()}
    maps = {p.stem for p in (out / "maps").iterdir()} - {"compare"}
    data = {p.name for p in (out / "data").iterdir() if p.is_dir()}  # beside index-rows.js
    assert pages == maps == data == slugs
    for s in slugs:
        assert SAFE.fullmatch(s) and len(s) <= 64, s
        assert s.split(".")[0] not in WINDOWS_DEVICES, s
    # Every relative link of every page points to a file inside the site.
    for page in out.rglob("*.html"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            url = urlparse(link)
            if url.scheme or url.netloc or not url.path:
                continue
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_relative_to(real), (page, link)
            assert target.exists(), (page.relative_to(out), link)


def _area_list(db: Path) -> list[dict[str, str]]:
    import json

    r = invoke("area", "list", "--json", "--db", str(db))
    assert r.exit_code == 0, r.stderr
    rows: list[dict[str, str]] = json.loads(r.stdout)["areas"]
    return rows
