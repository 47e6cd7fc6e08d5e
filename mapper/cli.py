"""The ``camdensity`` command line: each command is a thin wrapper over a library function."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mapper import ATTRIBUTION, __version__
from mapper.errors import CamdensityError

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


def library_errors(f: F) -> F:
    """Turn the library's errors into ``Error: <message>`` and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except CamdensityError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


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
@db_option
@library_errors
def ingest(files: tuple[str, ...], include: tuple[str, ...], quiet: bool, db: str | None) -> None:
    """Read cameras from .osm.pbf extracts, Overpass JSON or GeoJSON into the store.

    The format is detected from the content. All files are read before the store is
    touched, and written in one transaction: a bad file changes nothing.
    """
    from mapper.ingest import ingest as run_ingest

    results = run_ingest(list(files), db, include_speed="speed_camera" in include, quiet=quiet)
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


def main() -> None:
    """Entry point: library errors are one line; anything else too, unless CAMDENSITY_DEBUG."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Error: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("CAMDENSITY_DEBUG"):
            traceback.print_exc()
        first = (str(exc).splitlines() or [""])[0][:200]
        click.echo(
            f"Error: unexpected failure ({type(exc).__name__}: {first}); "
            "rerun with CAMDENSITY_DEBUG=1 and report it",
            err=True,
        )
        sys.exit(2)
