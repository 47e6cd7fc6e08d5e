"""The site's pages on change over time: a timeline chart per area (static SVG drawn here, no
script library) and the "changes since the previous build" page.

The previous build is the site being replaced: its ``changes.json`` records the moment its
data stood for. Without one (a first build, or a site from before), the page shows the
changes since the snapshot before the newest. The same store and the same previous site give
the same pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import shapely
from markupsafe import Markup, escape

from mapper import history, sql
from mapper.history import Change, Series, Step

CHANGES_JSON = "changes.json"
W, H = 560, 200  # the chart's size
PAD_L, PAD_R, PAD_T, PAD_B = 44, 16, 14, 36


# ----------------------------------------------------------------------------- series
def all_series(con: duckdb.DuckDBPyConnection, areas: list[dict[str, Any]]) -> dict[str, Series]:
    """Every area's series (``area-get`` rows) on a prepared connection, each moment's store
    computed once for all areas."""
    wanted = {a["name"]: {t: s for t, s in history.moments(con, a, "month")} for a in areas}
    out = {a["name"]: Series(a["name"], history.boundary_source(a)) for a in areas}
    before: dict[str, dict[str, dict[str, Any]]] = {}
    for t in sorted({t for ms in wanted.values() for t in ms}):
        history.as_of(con, t)
        for a in areas:
            standing = wanted[a["name"]].get(t)
            if standing is None:
                continue
            now = {f"{r['osm_type']}/{r['osm_id']}": r
                   for r in sql.rows(con, "history-area-state", area_id=a["id"])}  # fmt: skip
            s = out[a["name"]]
            added, removed, retagged = (
                history.diff_states(before[a["name"]], now) if s.steps else ([], [], [])
            )
            aimed = sum(1 for r in now.values() if r["aimed"])
            s.steps.append(Step(t.date().isoformat(), t, standing, len(now), added, removed,
                                retagged, round(aimed / len(now), 4) if now else 0.0))  # fmt: skip
            before[a["name"]] = now
    return out


def _nice_max(n: int) -> int:
    """The top of the count axis: the first of 4, 10, 20, 50, 100, 200, ... that holds n."""
    for scale in (1, 10, 100, 1000, 10000, 100000, 1000000):
        for step in (1, 2, 5):
            if step * scale >= max(n, 4):
                return step * scale
    return n


def timeline_svg(s: Series) -> Markup:
    """The mapped cameras at each date as a line on a time axis, the count at each point."""
    steps = s.steps
    top = _nice_max(max((st.cameras for st in steps), default=0))
    t0, t1 = steps[0].at.timestamp(), steps[-1].at.timestamp()
    span = (t1 - t0) or 1.0
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x(st: Step) -> float:
        return round(PAD_L + (st.at.timestamp() - t0) / span * iw if t1 > t0 else PAD_L + iw / 2, 1)

    def y(n: float) -> float:
        return round(PAD_T + ih - n / top * ih, 1)

    label = f"Mapped cameras in {s.area}, " + ", ".join(f"{st.date}: {st.cameras}" for st in steps)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}">'
    ]
    for n in (0, top // 2, top):
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(n)}" y2="{y(n)}" '
                     f'stroke="#ddd"/>')  # fmt: skip
        parts.append(f'<text x="{PAD_L - 6}" y="{y(n) + 4}" font-size="11" '
                     f'text-anchor="end">{n}</text>')  # fmt: skip
    years = sorted({st.at.year for st in steps})
    if t1 > t0:
        for year in range(years[0] + 1, years[-1] + 1):
            tx = round(PAD_L + (datetime(year, 1, 1).timestamp() - t0) / span * iw, 1)
            if len(years) > 12 and year % 5:
                continue
            parts.append(f'<line x1="{tx}" x2="{tx}" y1="{PAD_T + ih}" y2="{PAD_T + ih + 4}" '
                         f'stroke="#999"/><text x="{tx}" y="{H - 18}" font-size="11" '
                         f'text-anchor="middle" fill="#555">{year}</text>')  # fmt: skip
    points = " ".join(f"{x(st)},{y(st.cameras)}" for st in steps)
    parts.append(f'<polyline points="{points}" fill="none" stroke="#b10026" stroke-width="2"/>')
    few = len(steps) <= 12
    for st in steps:
        parts.append(f'<circle cx="{x(st)}" cy="{y(st.cameras)}" r="3.5" fill="#b10026">'
                     f"<title>{st.date}: {st.cameras} mapped cameras</title></circle>")  # fmt: skip
        if few:
            parts.append(f'<text x="{x(st)}" y="{y(st.cameras) - 7}" font-size="12" '
                         f'text-anchor="middle">{st.cameras}</text>')  # fmt: skip
    if few and len(years) == 1:  # no year ticks: the dates under the points
        for i, st in enumerate(steps):
            anchor = "start" if i == 0 else "end" if i == len(steps) - 1 else "middle"
            parts.append(f'<text x="{x(st)}" y="{H - 4}" font-size="11" text-anchor="{anchor}">'
                         f"{st.date}</text>")  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(s: Series | None) -> dict[str, Any] | None:
    """What the area page shows: the chart (with two dates or more), the rows, the note."""
    if s is None or not s.steps:
        return None
    return {
        "svg": timeline_svg(s) if len(s.steps) > 1 else None,
        "rows": [
            st.as_dict()
            | {"added": len(st.added), "removed": len(st.removed), "retagged": len(st.retagged)}
            for st in s.steps
        ],  # fmt: skip
        "note": s.note,
    }


# ----------------------------------------------------------------------------- changes
@dataclass
class ChangesPage:
    start: datetime | None
    end: datetime | None
    since: str  # 'previous build', 'previous snapshot' or 'nothing'
    public: list[dict[str, Any]]
    private: dict[str, int]
    counts: dict[str, int]

    def record(self) -> str:
        """``changes.json``: the moment this build's data stands for, for the next build."""
        doc = {
            "data_moment": self.end.isoformat() if self.end else None,
            "since": self.start.isoformat() if self.start else None,
            "counts": self.counts, "private": self.private,
            "changes": self.public,
        }  # fmt: skip
        return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def previous_moment(previous_site: Path | None) -> datetime | None:
    """The moment the site being replaced stood for, when it recorded one."""
    if previous_site is None:
        return None
    try:
        doc = json.loads((previous_site / CHANGES_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # none, unreadable, not UTF-8, not JSON
        return None
    moment = doc.get("data_moment") if isinstance(doc, dict) else None
    if not isinstance(moment, str):
        return None
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return None


def changes(
    con: duckdb.DuckDBPyConnection, areas: list[dict[str, Any]], previous_site: Path | None
) -> ChangesPage:
    """The changes in the published areas since the previous build (see the module's note):
    public cameras listed with their links, private ones only counted."""
    from mapper.areas import geometry_of

    dated = [r["snapshot"] for r in sql.rows(con, "history-moments")]
    end = max(dated) if dated else None
    start = previous_moment(previous_site)
    since = "previous build"
    if start is None and end is not None:
        start = history.previous_moment(con, [], end)
        since = "previous snapshot" if start is not None else "nothing"
    if start is not None and end is not None and start > end:
        start = end
    found: list[Change] = history.diff_between(con, [], start, end) if end else []
    shapes = [(a["name"], geometry_of(a)) for a in areas]
    for _, g in shapes:
        shapely.prepare(g)
    public: list[dict[str, Any]] = []
    private = {"added": 0, "removed": 0, "retagged": 0}
    counts = {"added": 0, "removed": 0, "retagged": 0, "new_place": 0}
    for c in found:
        point = shapely.Point(c.lon, c.lat)
        inside = [name for name, g in shapes if g.intersects(point)]
        if not inside:
            continue
        counts[c.change] += 1
        counts["new_place"] += c.new_place
        if c.private:
            private[c.change] += 1
            continue
        changed: list[str] = []
        if c.tags_before is not None:
            old = c.tags_before
            changed = sorted(k for k in old.keys() | c.tags.keys() if old.get(k) != c.tags.get(k))
        public.append({
            "change": c.change, "element": f"{c.osm_type}/{c.osm_id}", "url": c.url,
            "mapped": c.mapped, "areas": inside, "changed_tags": changed,
            "new_place": c.new_place,
            "what": c.tags.get("surveillance:type") or c.tags.get("surveillance") or "",
            "lat": round(c.lat, 7), "lon": round(c.lon, 7),
        })  # fmt: skip
    return ChangesPage(start, end, since, public, private, counts)


# ----------------------------------------------------------------------------- the pages
@dataclass
class SiteHistory:
    timelines: dict[str, dict[str, Any] | None]
    changes: ChangesPage


def read(
    con: duckdb.DuckDBPyConnection, names: list[str], previous_site: Path | None
) -> SiteHistory:
    """Everything the history pages show, for the published areas (by name), on a prepared
    connection (:func:`mapper.grid.prepare`)."""
    from mapper.areas import get as get_area

    areas = [get_area(con, n) for n in names]
    series = all_series(con, areas)
    page = changes(con, areas, previous_site)
    return SiteHistory({n: timeline(series.get(n)) for n in names}, page)


def write(env: Any, out: Path, common: dict[str, Any], h: SiteHistory) -> None:
    """changes.html, and changes.json for the next build."""
    c = h.changes
    html = env.get_template("changes.html.j2").render(
        **common, root="", page_title="Changes", since=c.since,
        start=c.start.date().isoformat() if c.start else None,
        end=c.end.date().isoformat() if c.end else None, counts=c.counts, private=c.private,
        changes=c.public,
    )  # fmt: skip
    (out / "changes.html").write_text(html, encoding="utf-8")
    (out / CHANGES_JSON).write_text(c.record(), encoding="utf-8")
