"""The ``camdensity`` command line: each command is a thin wrapper over a library function."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mapper import AREA_KINDS, ATTRIBUTION, __version__
from mapper.errors import CamdensityError

if TYPE_CHECKING:  # imported by the commands that use them
    from mapper.grid import Grid

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        metavar="PATH",
        default=None,
        help="Store file (default: $CAMDENSITY_DB, else camdensity.duckdb here).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(f)


def one_line(message: str, limit: int = 1000) -> str:
    """A message that quotes an input's text, as one line: control and other unprintable
    characters escaped (a newline in a file's value cannot start a line of its own), clipped."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def library_errors(f: F) -> F:
    """Turn the library's errors into ``Error: <message>`` and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except CamdensityError as exc:
            raise click.ClickException(one_line(str(exc))) from None

    return wrapper  # type: ignore[return-value]


def warn(message: str) -> None:
    click.echo(f"Warning: {one_line(message)}", err=True)


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.version_option(__version__, prog_name="camdensity")
def cli() -> None:
    """Maps and figures of surveillance-camera density from OpenStreetMap.

    Data: © OpenStreetMap contributors, ODbL 1.0. Figures count cameras that someone has
    mapped in OSM, not all cameras.
    """


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--include",
    "include",
    type=click.Choice(["speed_camera"]),
    multiple=True,
    help="Also take highway=speed_camera nodes (as kind speed_camera).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--snapshot",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"]),
    help="Data date (UTC) for inputs that carry none (a bare Overpass element list).",
)
@db_option
@library_errors
def ingest(
    files: tuple[str, ...], include: tuple[str, ...], quiet: bool, snapshot: datetime | None,
    db: str | None,
) -> None:  # fmt: skip
    """Read cameras from OSM files (.osm.pbf, .osm, .osm.gz, .osm.bz2, history .osh.pbf),
    Overpass JSON or GeoJSON into the store.

    The format is detected from the content. All files are read before the store is
    touched, and written in one transaction: a bad file changes nothing.
    """
    from mapper.ingest import ingest as run_ingest

    results = run_ingest(
        list(files), db, include_speed="speed_camera" in include, quiet=quiet, snapshot=snapshot
    )
    for r in results:
        for w in r.warnings:
            warn(w)
        if r.status == "unchanged":
            click.echo(f"{r.path}: already ingested (same sha256), nothing changed")
            continue
        snap = r.snapshot.isoformat(timespec="seconds") + "Z" if r.snapshot else "no date"
        note = ""
        if r.stored != r.cameras:
            note = f", {r.cameras - r.stored} held by a newer source"
        if r.cameras == 0:
            click.echo(f"{r.path}: no cameras in this {r.format} input (recorded, snapshot {snap})")
        else:
            click.echo(f"{r.path}: {r.cameras} cameras ({r.format}, snapshot {snap}{note})")


@cli.command("streets")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@db_option
@library_errors
def streets_cmd(files: tuple[str, ...], quiet: bool, db: str | None) -> None:
    """Read the streets and buildings of OSM files into the store, for the figures per street
    km and the coverage of streets by cameras' fields of view (docs/streets.md).

    Streets: the public network (motorway to residential, unclassified, living_street,
    service, links) and the walking network (pedestrian, footway, path, steps, cycleway,
    living_street). Buildings cut the fields of view. A file already read is skipped.
    """
    from mapper.streets import store_streets

    for r in store_streets(db, list(files), progress=not quiet):
        if r.status == "unchanged":
            click.echo(f"{r.path}: streets already stored (same sha256), nothing changed")
            continue
        click.echo(
            f"{r.path}: {r.streets} street ways ({r.street_km:.1f} km of streets, "
            f"{r.walk_km:.1f} km of walking ways), {r.buildings} buildings"
        )


def _fmt_share(x: float) -> str:
    return f"{100 * x:.1f}%"


@cli.command()
@json_option
@db_option
@library_errors
def stats(as_json: bool, db: str | None) -> None:
    """Totals per source and overall, with breakdowns and tagging completeness."""
    from mapper.stats import stats as run_stats

    s = run_stats(db)
    if as_json:
        echo_json(s)
        return
    click.echo(f"{s['cameras']} cameras ({s['nodes']} nodes, {s['ways']} ways)")
    click.echo(
        f"with direction {_fmt_share(s['share_with_direction'])}, operator "
        f"{_fmt_share(s['share_with_operator'])}, camera:type "
        f"{_fmt_share(s['share_with_camera_type'])}"
    )
    for key in ("by_kind", "by_visibility", "by_camera_type"):
        parts = ", ".join(f"{k} {v}" for k, v in s[key].items())
        click.echo(f"{key[3:]:<12} {parts}")
    zones = list(s["by_zone"].items())[:6]
    click.echo(f"{'zone':<12} " + ", ".join(f"{k} {v}" for k, v in zones))
    click.echo("")
    click.echo(f"{'source':<48} {'format':<14} {'snapshot':<21} {'cameras':>7} {'stored':>7}")
    for src in s["sources"]:
        path = src["path"] if len(src["path"]) <= 48 else "…" + src["path"][-47:]
        click.echo(
            f"{path:<48} {src['format']:<14} {src['snapshot'] or '-':<21} "
            f"{src['cameras']:>7} {src['stored']:>7}"
        )
    click.echo(f"\nData {ATTRIBUTION}")


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "geojson", "parquet"]), required=True,
    help="csv (with an attribution sidecar), geojson or parquet (GeoParquet).",
)  # fmt: skip
@click.option("-o", "--output", "output", required=True, metavar="FILE", help="Output file.")
@click.option("--public-only", is_flag=True, help="Leave out indoor and other non-public cameras.")
@db_option
@library_errors
def export(fmt: str, output: str, public_only: bool, db: str | None) -> None:
    """Export every stored camera as CSV, GeoJSON or GeoParquet."""
    from mapper.export import export as run_export

    n = run_export(fmt, output, db, public_only=public_only)
    click.echo(f"wrote {n} cameras to {output}", err=True)


@cli.group()
def area() -> None:
    """Study areas: boundaries with population, the denominators of every density."""


def _area_warnings(specs: list[Any]) -> None:
    for spec in specs:
        for w in spec.warnings:
            warn(w)


@area.command("add")
@click.argument("name")
@click.option("--boundary", required=True, metavar="FILE", help="GeoJSON Polygon/MultiPolygon.")
@click.option("--population", type=int, help="Residents (else the file's 'population').")
@click.option("--population-year", type=int, help="Year of the population figure.")
@click.option("--area-km2", type=float, help="Official land area in km² (else geodesic).")
@click.option("--kind", type=click.Choice(AREA_KINDS), default="municipality", show_default=True)
@click.option("--replace", is_flag=True, help="Overwrite an area of the same name.")
@db_option
@library_errors
def area_add(
    name: str, boundary: str, population: int | None, population_year: int | None,
    area_km2: float | None, kind: str, replace: bool, db: str | None,
) -> None:  # fmt: skip
    """Add one area from a GeoJSON boundary (a FeatureCollection of one feature).

    The file's properties population, population_year, population_source and
    area_for_density_km2 (an official land area, which then wins) are used when present.
    """
    from mapper import areas

    spec = areas.add(
        db, name, boundary, population=population, population_year=population_year,
        area_km2=area_km2, kind=kind, replace=replace,
    )  # fmt: skip
    _area_warnings([spec])
    km2 = spec.official_km2 or spec.geodesic_km2
    how = "official" if spec.official_km2 else "geodesic"
    click.echo(f"area '{spec.name}' added: {km2:.2f} km² ({how}), population {spec.population}")


@area.command("import")
@click.argument("file")
@click.option("--name-field", required=True, metavar="F", help="Property holding each name.")
@click.option("--population-field", default="population", metavar="P", show_default=True,
              help="Property holding each population.")  # fmt: skip
@click.option("--kind", type=click.Choice(AREA_KINDS), default="neighbourhood", show_default=True)
@click.option("--replace", is_flag=True, help="Overwrite areas of the same names.")
@db_option
@library_errors
def area_import(
    file: str, name_field: str, population_field: str, kind: str, replace: bool, db: str | None
) -> None:
    """Make every feature of a GeoJSON FeatureCollection an area (e.g. city quarters)."""
    from mapper import areas

    specs = areas.import_file(
        db, file, name_field=name_field, population_field=population_field, kind=kind,
        replace=replace,
    )  # fmt: skip
    _area_warnings(specs)
    click.echo(f"{len(specs)} areas imported from {file}")


@area.command("from-pbf")
@click.argument("file")
@click.option("--admin-level", type=int, help="Only relations of this admin_level.")
@click.option("--kind", type=click.Choice(AREA_KINDS), default="admin", show_default=True)
@click.option("--replace", is_flag=True, help="Replace areas of the same relations.")
@db_option
@library_errors
def area_from_pbf(
    file: str, admin_level: int | None, kind: str, replace: bool, db: str | None
) -> None:
    """Areas from an OSM file's own boundary=administrative relations, offline.

    Each area is keyed by its relation id (relation/ID names it in every command); a name
    shared by several areas is shown as 'NAME (relation ID)'. Relations whose member ways
    are not all in the extract cannot be closed: they are skipped and named in a warning.
    """
    from mapper import areas

    specs, skipped = areas.from_pbf(db, file, admin_level=admin_level, kind=kind, replace=replace)
    _area_warnings(specs)
    for note in skipped:
        warn(note)
    for spec in specs:
        click.echo(
            f"{spec.name}: relation/{spec.osm_id}, admin level {spec.admin_level}, "
            f"{spec.geodesic_km2:.3f} km², population {spec.population}"
        )
    click.echo(f"{len(specs)} areas added, {len(skipped)} incomplete relations skipped")


@area.command("list")
@json_option
@db_option
@library_errors
def area_list(as_json: bool, db: str | None) -> None:
    """List the study areas with their area, population and kind."""
    from mapper import areas, output

    rows = areas.list_areas(db)
    if as_json:
        click.echo(output.to_json({"areas": rows, "attribution": ATTRIBUTION}))
        return
    for r in rows:
        r["osm"] = f"{r['osm_type']}/{r['osm_id']}" if r["osm_id"] is not None else ""
    cols = ["name", "kind", "area_km2", "area_official", "population", "population_year", "osm"]
    click.echo(output.table(rows, cols))


@area.command("set")
@click.argument("name")
@click.option("--reported", type=int, help="A published camera count for this area.")
@click.option("--reported-source", metavar="URL", help="Where that count was published.")
@click.option("--population", type=int, help="Residents.")
@click.option("--population-year", type=int, help="Year of the population figure.")
@click.option("--population-source", help="Where the population figure comes from.")
@db_option
@library_errors
def area_set(
    name: str, reported: int | None, reported_source: str | None, population: int | None,
    population_year: int | None, population_source: str | None, db: str | None,
) -> None:  # fmt: skip
    """Set an area's published camera count (with its source) or its population.

    NAME is an area's name or relation/ID."""
    from mapper import areas

    shown = areas.set_area(
        db, name, reported=reported, reported_source=reported_source, population=population,
        population_year=population_year, population_source=population_source,
    )  # fmt: skip
    click.echo(f"area '{shown}' updated")


@area.command("rename")
@click.argument("name")
@click.argument("new_name")
@db_option
@library_errors
def area_rename(name: str, new_name: str, db: str | None) -> None:
    """Rename an area (e.g. an extract's extent) without touching its figures.

    NAME is an area's name or relation/ID."""
    from mapper import areas

    old = areas.rename(db, name, new_name)
    click.echo(f"area '{old}' renamed to '{new_name.strip()}'")


@area.command("remove")
@click.argument("name")
@db_option
@library_errors
def area_remove(name: str, db: str | None) -> None:
    """Remove an area (cameras stay). NAME is an area's name or relation/ID."""
    from mapper import areas

    removed = areas.remove(db, name)
    click.echo(f"area '{removed}' removed")


@cli.command("grid")
@click.argument("area_name", metavar="[AREA]", required=False)
@click.option("--res", type=int, help="H3 resolution 5-12 (default: from the area's size).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json", "geojson"]), default="table",
    show_default=True, help="Output format.",
)  # fmt: skip
@db_option
@library_errors
def grid_cmd(area_name: str | None, res: int | None, fmt: str, db: str | None) -> None:
    """H3 hexagon counts and densities, for the whole store or clipped to one area.

    With AREA every cell whose centre or any part lies in the area is listed, empty ones
    too; a cell counts only cameras inside the area and its density is per km² of the
    cell's part inside the boundary (geodesic).
    """
    from mapper import grid

    g = grid.grid(db, area_name, res)
    try:
        _write_grid(g, fmt)
    except BrokenPipeError:
        return  # the reader went away (``| head``): not an error (see ``_flushed``)


def _write_grid(g: Grid, fmt: str) -> None:
    """``grid``'s output on stdout: JSON and GeoJSON written as they are made, the store's
    grid as CSV by Arrow at once (a store's grid is long)."""
    from mapper import grid, output

    where = g.area["name"] if g.area else "all cameras"
    if fmt in ("json", "geojson"):
        doc = g.as_dict(lazy=True) if fmt == "json" else grid.to_geojson(g, lazy=True)
        output.write_json(sys.stdout, doc, "cells" if fmt == "json" else "features")
    elif fmt == "csv":
        comments = [f"H3 grid of {where} at resolution {g.res}", f"Data {ATTRIBUTION}"]
        if g.table is not None:
            output.write_table_csv(sys.stdout.buffer, g.table, comments)
        else:
            click.echo(output.to_csv(g.rows, g.columns, comments), nl=False)
    else:
        click.echo(f"H3 grid of {where} at resolution {g.res}: {len(g.rows)} cells")
        cols = ["h3", "cameras", "camera", "ALPR", "guard", "other", "unknown", "area_km2",
                "per_km2"]  # fmt: skip
        click.echo(output.table(g.rows, cols, digits=3))
        click.echo(f"Data {ATTRIBUTION}")


@cli.command("compare")
@click.argument("names", nargs=-1, metavar="AREA...")
@click.option("--all", "all_areas", is_flag=True, help="Compare every area in the store.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(AREA_KINDS),
              help="Only areas of this kind (repeatable).")  # fmt: skip
@click.option("--admin-level", type=int, metavar="N", help="Only areas of this admin_level.")
@click.option("--within", metavar="AREA", help="Only areas inside this one (a name or "
              "relation/ID), e.g. every municipality of a state.")  # fmt: skip
@click.option("--top", type=click.IntRange(min=1), metavar="N",
              help="Show only the first N rows of the ranking.")  # fmt: skip
@click.option("--sort", type=click.Choice(["per_km2", "per_1k", "cameras", "per_street_km",
              "coverage", "coverage_discs"]), default="per_km2",
              show_default=True, help="Rank on this figure (ties share a rank).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "md"]),
              default="table", show_default=True, help="Output format.")  # fmt: skip
@click.option("--res", type=int, help="H3 resolution 5-12 for concentration, the same for "
              "every area (default: each area's own, by its size; column res).")  # fmt: skip
@click.option("--at", "at", metavar="DATE", help="The store as of the end of this day, UTC "
              "(YYYY-MM-DD): the newest snapshot at or before it stands for it.")  # fmt: skip
@db_option
@library_errors
def compare_cmd(
    names: tuple[str, ...], all_areas: bool, kinds: tuple[str, ...], admin_level: int | None,
    within: str | None, top: int | None, sort: str, fmt: str, res: int | None, at: str | None,
    db: str | None,
) -> None:  # fmt: skip
    """Cameras per km² and per 1,000 residents, area by area, with completeness beside them.

    Counts are of cameras mapped in OpenStreetMap, not of all cameras. Every output carries
    the data date and the attribution. Any number of areas is one spatial join, e.g. every
    municipality of a state: --all --kind admin --admin-level 8 --within STATE.
    """
    from mapper import compare, output
    from mapper.history import parse_date

    when = parse_date(at, "--at") if at else None
    c = compare.compare(
        db, names, all_areas=all_areas, kinds=kinds, admin_level=admin_level, within=within,
        sort=sort, res=res, top=top, at=when,
    )  # fmt: skip
    if fmt == "json":
        click.echo(output.to_json(c.as_dict()))
    elif fmt == "csv":
        flat = [compare.flat(r) for r in c.rows]
        click.echo(output.to_csv(flat, compare.FLAT_COLUMNS, compare.header_lines(c)), nl=False)
    elif fmt == "md":
        flat = [compare.flat(r) for r in c.rows]
        click.echo("\n".join(f"<!-- {line} -->" for line in compare.header_lines(c)))
        click.echo(output.to_markdown(flat, compare.FLAT_COLUMNS, digits=4))
        click.echo("")
        click.echo(" ".join(compare.header_lines(c)[1:]))
    else:
        click.echo(compare.terminal_table(c))


@cli.command("map")
@click.argument("names", nargs=-1, required=True, metavar="AREA...")
@click.option("-o", "--output", "output", required=True, metavar="FILE.html", help="Output file.")
@click.option("--res", type=int, help="H3 resolution 5-12 (default: from the largest area).")
@click.option(
    "--scheme", type=click.Choice(["quantiles", "jenks", "equal", "log"]), default="quantiles",
    show_default=True, help="How density bins are cut.",
)  # fmt: skip
@click.option("--bins", type=click.IntRange(3, 9), default=5, show_default=True,
              help="Number of density classes.")  # fmt: skip
@click.option("--show-private", is_flag=True, help="Also draw indoor/private/doorbell cameras.")
@click.option(
    "--tiles", type=click.Choice(["osm", "none"]), default="osm", show_default=True,
    help="Background tiles; 'none' makes the page request nothing outside it.",
)  # fmt: skip
@click.option(
    "--assets", type=click.Choice(["inline", "cdn"]), default="inline", show_default=True,
    help="Inline Leaflet & co. (works offline) or link CDNs.",
)  # fmt: skip
@db_option
@library_errors
def map_cmd(
    names: tuple[str, ...], output: str, res: int | None, scheme: str, bins: int,
    show_private: bool, tiles: str, assets: str, db: str | None,
) -> None:  # fmt: skip
    """Interactive map: H3 density, cameras and view cones; several areas on one scale.

    One area gives one map; two give a synchronised side-by-side map; more give a grid of
    small maps. Every panel uses the same bin edges and colours.
    """
    from mapper import maps

    r = maps.render(
        db, list(names), output, res=res, scheme=scheme, bins=bins, show_private=show_private,
        tiles=tiles, assets=assets,
    )  # fmt: skip
    shown = sum(len(p.shown) for p in r.panels)
    click.echo(
        f"wrote {output} ({r.bytes / 1024:.0f} kB): {len(r.panels)} panel(s), "
        f"{sum(len(p.cells) for p in r.panels)} hexagons, {shown} cameras drawn",
        err=True,
    )


@cli.command("site")
@click.option(
    "--config", "config", metavar="FILE.toml",
    help="Inputs, areas and title; what is not yet in the store is ingested first.",
)  # fmt: skip
@click.option("--out", "out", required=True, metavar="DIR", help="Folder to build the site in.")
@click.option(
    "--tiles", type=click.Choice(["osm", "none"]), default="osm", show_default=True,
    help="Background tiles; 'none' makes pages request nothing outside the site.",
)  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@db_option
@library_errors
def site_cmd(config: str | None, out: str, tiles: str, quiet: bool, db: str | None) -> None:
    """Build the static site: an index with the comparison table, a page per area with its
    map, charts and downloads, a side-by-side comparison and an about page.

    Without --config it covers every area in the store. The pages use relative links and
    serve every script and style themselves: they work from file:// or any static host.
    """
    from mapper import site

    r = site.build(db, out, config=config, tiles=tiles, quiet=quiet)
    click.echo(f"wrote {len(r.pages)} pages, {r.files} files, {r.bytes / 1e6:.1f} MB to {out}")


@cli.command("fetch")
@click.argument("places", nargs=-1, required=True, metavar="PLACE...")
@click.option(
    "--admin-level",
    type=click.IntRange(1, 15),
    metavar="N",
    help="Take the place's boundary of this OSM admin_level (e.g. 8: a city).",
)
@click.option(
    "--overpass-url",
    metavar="URL",
    help="Overpass API base URL (default: https://overpass-api.de/api).",
)
@click.option(
    "--nominatim-url",
    metavar="URL",
    help="Nominatim base URL (default: https://nominatim.openstreetmap.org/).",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=180,
    show_default=True,
    metavar="S",
    help="Seconds to wait for each answer (and Overpass's query limit).",
)
@click.option("--no-cache", is_flag=True, help="Ask the services afresh; leave the cache alone.")
@db_option
@library_errors
def fetch_cmd(
    places: tuple[str, ...], admin_level: int | None, overpass_url: str | None,
    nominatim_url: str | None, timeout: int, no_cache: bool, db: str | None,
) -> None:  # fmt: skip
    """Fetch cameras and boundaries by place name, online (Nominatim and Overpass via osmnx).

    Each PLACE becomes an area (its OSM boundary, admin level and population tag) and a
    source of its man_made=surveillance nodes and ways, dated by Overpass. Answers are
    cached in the user cache folder. Offline, 'camdensity ingest FILE' reads an extract.
    """
    from mapper.ingest import fetch

    results = fetch(
        db, list(places), admin_level=admin_level, overpass_url=overpass_url,
        nominatim_url=nominatim_url, timeout=timeout, use_cache=not no_cache,
    )  # fmt: skip
    for r in results:
        for w in r.source.warnings:
            warn(w)
        a, s = r.area, r.source
        level = f"admin level {a.admin_level}, " if a.admin_level is not None else ""
        snap = s.snapshot.isoformat(timespec="seconds") + "Z" if s.snapshot else "no date"
        note = ", unchanged since the last fetch" if s.status == "unchanged" else ""
        if s.status != "unchanged" and s.stored != s.cameras:
            note = f", {s.cameras - s.stored} held by a newer source"
        click.echo(
            f"{a.name}: {r.osm_type}/{r.osm_id}, {level}{a.geodesic_km2:.2f} km², "
            f"population {a.population}; {s.cameras} cameras (snapshot {snap}{note})"
        )


@cli.command("history")
@click.argument("names", nargs=-1, required=True, metavar="AREA...")
@click.option("--every", type=click.Choice(["month", "year"]), default="month",
              show_default=True,
              help="A history file's rows: one per period (snapshots: one each).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format (csv and json list the ids).")  # fmt: skip
@db_option
@library_errors
def history_cmd(names: tuple[str, ...], every: str, fmt: str, db: str | None) -> None:
    """Per date, the mapped cameras in each area, those added, removed and retagged since the
    date before, and the share with a direction.

    One row per snapshot date; from an OSM history file (.osh.pbf), one per period. Every
    date is counted inside the area's current boundary.
    """
    from mapper import history, output

    series = history.history(db, names, every=every)
    if fmt == "json":
        click.echo(output.to_json({"series": [s.as_dict() for s in series],
                                   "attribution": ATTRIBUTION}))  # fmt: skip
    elif fmt == "csv":
        notes = [s.note for s in series[:1]] + [f"Data {ATTRIBUTION}"]
        rows = history.series_rows(series)
        click.echo(output.to_csv(rows, history.SERIES_COLUMNS, notes), nl=False)
    else:
        click.echo(history.series_table(series))


@cli.command("diff")
@click.argument("names", nargs=-1, metavar="[AREA...]")
@click.option("--from", "start", metavar="DATE", help="From the store as of this day "
              "(default: the snapshot before the one that stands for --to).")  # fmt: skip
@click.option("--to", "end", metavar="DATE", help="To the store as of this day (default: the "
              "newest snapshot).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "geojson"]), default="table",
              show_default=True, help="Output format.")  # fmt: skip
@db_option
@library_errors
def diff_cmd(
    names: tuple[str, ...], start: str | None, end: str | None, fmt: str, db: str | None
) -> None:
    """The cameras added, removed or retagged between two dates, in the areas or the store.

    A DATE (YYYY-MM-DD) means the end of that day, UTC; the newest snapshot at or before it
    stands for it.
    """
    from mapper import history, output

    d = history.diff(db, names, start=start, end=end)
    if fmt == "geojson":
        click.echo(output.to_json(history.diff_geojson(d)))
    else:
        click.echo(history.diff_table(d))


def main() -> None:
    """Entry point: library errors are one line; anything else too, unless CAMDENSITY_DEBUG."""
    sys.exit(_flushed(_run()))


def _run() -> int:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Error: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("CAMDENSITY_DEBUG"):
            traceback.print_exc()
        first = (str(exc).splitlines() or [""])[0][:200]
        click.echo(
            f"Error: unexpected failure ({type(exc).__name__}: {first}); "
            "rerun with CAMDENSITY_DEBUG=1 and report it",
            err=True,
        )
        return 2
    return 0


def _flushed(code: int) -> int:
    """A reader that went away (``| head``) is not an error of ours: exit as a normal exit
    would, without Python's complaint about the closed pipe at shutdown."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return code
