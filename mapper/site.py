"""The static site: city pages and a comparison page from one config, no server, no CDN.

Pages use relative links only, so the folder works from ``file://`` and under any sub-path.
The site is built into a temporary folder beside the target (the pages by
:mod:`mapper.site_build`) and swapped in at the end: a build that fails or is killed leaves
the previous site complete.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mapper import AREA_KINDS, _faults, sql
from mapper.errors import InputError
from mapper.site_build import DEFAULT_MAPS, render_site
from mapper.site_build import safe_href as safe_href  # re-exported: the names' rules
from mapper.site_build import slug as slug


# ----------------------------------------------------------------------------- config
@dataclass
class InputSpec:
    path: str
    snapshot: datetime | None = None
    extent_name: str | None = None
    streets: bool = False  # also store its streets and buildings (camdensity streets)


@dataclass
class AreaFileSpec:
    name: str
    boundary: str
    kind: str = "municipality"
    population: int | None = None
    population_year: int | None = None
    area_km2: float | None = None
    reported: int | None = None
    reported_source: str | None = None


@dataclass
class ImportSpec:
    path: str
    name_field: str
    kind: str = "neighbourhood"
    population_field: str = "population"


@dataclass
class AreaSetSpec:
    """Every stored area of a kind (and admin level), optionally inside another area:
    ``[[area_sets]] kind = "admin", admin_level = 8, within = "relation/62611"``."""

    kind: str
    admin_level: int | None = None
    within: str | None = None


@dataclass
class SiteConfig:
    title: str = "Mapped surveillance cameras"
    inputs: list[InputSpec] = field(default_factory=list)
    areas: list[AreaFileSpec] = field(default_factory=list)
    imports: list[ImportSpec] = field(default_factory=list)
    compare: list[str] = field(default_factory=list)
    area_sets: list[AreaSetSpec] = field(default_factory=list)
    #: How many areas get a full page with a map (those with the most cameras, and the ones
    #: on the comparison map); every other area gets a page of figures without one.
    maps: int = DEFAULT_MAPS


def _typed(table: dict[str, Any], key: str, kind: type, where: str, required: bool = False) -> Any:
    if key not in table:
        if required:
            raise InputError(f"{where}: '{key}' is missing")
        return None
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InputError(f"{where}: '{key}' must be a {kind.__name__}")
    return value


def load_config(path: str) -> SiteConfig:
    """Read a site config (TOML); paths in it are relative to the config file's folder."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such config file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML config ({str(exc)[:80]})") from None
    except RecursionError:
        raise InputError(f"{path}: not a valid TOML config (nested too deeply)") from None
    base = p.parent

    def rel(value: str) -> str:
        return str(Path(value) if Path(value).is_absolute() else base / value)

    known = {"title", "inputs", "areas", "imports", "compare", "area_sets", "maps"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    cfg = SiteConfig(title=_typed(data, "title", str, path) or SiteConfig.title)
    if not cfg.title.strip() or len(cfg.title) > 200:
        raise InputError(f"{path}: 'title' must be 1 to 200 characters")
    for i, t in enumerate(_tables(data, "inputs", path)):
        where = f"{path} inputs[{i}]"
        raw = t.get("snapshot")
        snap: datetime | None = None
        if raw is not None:
            try:
                snap = datetime.fromisoformat(str(raw).replace("Z", ""))
            except ValueError:
                raise InputError(f"{where}: 'snapshot' must be a date like 2023-06-14") from None
        cfg.inputs.append(InputSpec(rel(_typed(t, "path", str, where, True)), snap,
                                    _typed(t, "extent_name", str, where),
                                    bool(_typed(t, "streets", bool, where))))  # fmt: skip
    for i, t in enumerate(_tables(data, "areas", path)):
        where = f"{path} areas[{i}]"
        cfg.areas.append(AreaFileSpec(
            name=_typed(t, "name", str, where, True),
            boundary=rel(_typed(t, "boundary", str, where, True)),
            kind=_typed(t, "kind", str, where) or "municipality",
            population=_typed(t, "population", int, where),
            population_year=_typed(t, "population_year", int, where),
            area_km2=_typed(t, "area_km2", float, where),
            reported=_typed(t, "reported", int, where),
            reported_source=_typed(t, "reported_source", str, where),
        ))  # fmt: skip
        _check_area(cfg.areas[-1], where)
    for i, t in enumerate(_tables(data, "imports", path)):
        where = f"{path} imports[{i}]"
        cfg.imports.append(ImportSpec(
            rel(_typed(t, "path", str, where, True)), _typed(t, "name_field", str, where, True),
            _typed(t, "kind", str, where) or "neighbourhood",
            _typed(t, "population_field", str, where) or "population",
        ))  # fmt: skip
    compare = data.get("compare", [])
    if not isinstance(compare, list) or not all(isinstance(c, str) for c in compare):
        raise InputError(f"{path}: 'compare' must be a list of area names")
    cfg.compare = compare
    for i, t in enumerate(_tables(data, "area_sets", path)):
        where = f"{path} area_sets[{i}]"
        cfg.area_sets.append(AreaSetSpec(
            _typed(t, "kind", str, where, True), _typed(t, "admin_level", int, where),
            _typed(t, "within", str, where),
        ))  # fmt: skip
        if cfg.area_sets[-1].kind not in AREA_KINDS:
            raise InputError(f"{where}: 'kind' must be one of {', '.join(AREA_KINDS)}")
    maps = _typed(data, "maps", int, path)
    if maps is not None:
        if maps < 0:
            raise InputError(f"{path}: 'maps' must be zero or more")
        cfg.maps = maps
    return cfg


_TABLE_KEYS = {
    "inputs": {"path", "snapshot", "extent_name", "streets"},
    "areas": {"name", "boundary", "kind", "population", "population_year", "area_km2",
              "reported", "reported_source"},
    "imports": {"path", "name_field", "kind", "population_field"},
    "area_sets": {"kind", "admin_level", "within"},
}  # fmt: skip


def _check_area(a: AreaFileSpec, where: str) -> None:
    """The numbers of an [[areas]] table, checked where the message can name the table."""
    if a.population is not None and a.population < 0:
        raise InputError(f"{where}: 'population' must be zero or more")
    if a.population_year is not None and not 0 <= a.population_year <= 9999:
        raise InputError(f"{where}: 'population_year' must be a year")
    if a.area_km2 is not None and not (math.isfinite(a.area_km2) and a.area_km2 > 0):
        raise InputError(f"{where}: 'area_km2' must be a positive number of km²")
    if a.reported is not None and (a.reported < 0 or not a.reported_source):
        raise InputError(f"{where}: 'reported' must be zero or more, with its 'reported_source'")


def _tables(data: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError(f"{path}: '{key}' must be a list of tables ([[{key}]])")
    for i, table in enumerate(value):
        unknown = sorted(set(table) - _TABLE_KEYS[key])
        if unknown:
            raise InputError(f"{path} {key}[{i}]: unknown setting(s) {', '.join(unknown)}")
    return value


def apply_config(db: str | None, cfg: SiteConfig, *, quiet: bool = True) -> list[str]:
    """Ingest what is not yet in the store and add the areas it lacks; returns messages.

    Every boundary and import file is read and checked, and every input read, before the
    store is written: a config with a bad value or file changes nothing.
    """
    from mapper import areas
    from mapper.ingest import ingest
    from mapper.store import open_store

    new_areas = [
        (a, areas.area_spec(a.name, a.boundary, population=a.population,
                            population_year=a.population_year, area_km2=a.area_km2,
                            kind=a.kind))
        for a in cfg.areas
    ]  # fmt: skip
    imported = [
        areas.import_specs(imp.path, name_field=imp.name_field,
                           population_field=imp.population_field, kind=imp.kind)
        for imp in cfg.imports
    ]  # fmt: skip
    notes: list[str] = []
    snapshots = {i.path: i.snapshot for i in cfg.inputs if i.snapshot is not None}
    for r in ingest([i.path for i in cfg.inputs], db, quiet=quiet, snapshots=snapshots):
        if r.status == "ingested":
            notes.append(f"ingested {r.path}: {r.cameras} cameras")
    from mapper.streets import store_streets

    for s in store_streets(db, [i.path for i in cfg.inputs if i.streets], progress=not quiet):
        if s.status == "stored":
            notes.append(f"stored the streets of {s.path}: {s.street_km:.1f} km")
    with open_store(db) as con:
        names = {r["name"] for r in sql.rows(con, "area-names")}
        extents = {r["source"]: r["name"] for r in sql.rows(con, "area-list")
                   if r["kind"] == "extent"}  # fmt: skip
    for spec in cfg.inputs:
        current = extents.get(spec.path)
        if spec.extent_name and current and current != spec.extent_name:
            if spec.extent_name not in names:
                areas.rename(db, current, spec.extent_name)
                names.add(spec.extent_name)
    new: list[areas.AreaSpec] = []
    reported: list[AreaFileSpec] = []
    for a, area in new_areas:
        if area.name not in names:
            new.append(area)
            names.add(area.name)
            notes.append(f"added area {area.name}")
            if a.reported is not None:
                reported.append(a)
    for imp, specs in zip(cfg.imports, imported, strict=True):
        fresh = [s for s in specs if s.name not in names]
        new += fresh
        names.update(s.name for s in fresh)
        if fresh:
            notes.append(f"imported {len(fresh)} areas from {imp.path}")
    if new:
        areas.store_specs(db, new)
    for a in reported:
        areas.set_area(db, areas.check_name(a.name), reported=a.reported,
                       reported_source=a.reported_source)  # fmt: skip
    return notes


# ----------------------------------------------------------------------------- build
def _published(db: str | None, cfg: SiteConfig | None) -> list[dict[str, Any]]:
    """The areas the site shows: every area in the store, or the config's."""
    from mapper.store import open_store

    with open_store(db) as con:
        every = sql.rows(con, "area-list")
    if cfg is None:
        return every
    wanted: set[str] = {a.name for a in cfg.areas}
    wanted |= {i.extent_name for i in cfg.inputs if i.extent_name}
    from mapper.areas import feature_names

    for imp in cfg.imports:
        wanted |= set(feature_names(imp.path, imp.name_field))
    wanted |= _area_set_names(db, cfg.area_sets)
    by_source = {a["source"]: a for a in every if a["kind"] == "extent"}
    for i in cfg.inputs:
        if i.path in by_source:
            wanted.add(by_source[i.path]["name"])
    return [a for a in every if a["name"] in wanted]


def _area_set_names(db: str | None, sets: list[AreaSetSpec]) -> set[str]:
    """The names of the areas of the config's ``[[area_sets]]`` (the selection of ``compare
    --all --kind --admin-level --within``)."""
    if not sets:
        return set()
    from mapper.compare import select_areas
    from mapper.grid import prepare
    from mapper.store import open_store

    names: set[str] = set()
    with open_store(db) as con:
        prepare(con)
        for a in sets:
            chosen = select_areas(con, all_areas=True, kinds=[a.kind],
                                  admin_level=a.admin_level, within=a.within)  # fmt: skip
            names |= {r["name"] for r in chosen}
    return names


@dataclass
class SiteResult:
    out: Path
    pages: list[str]
    files: int
    bytes: int


def build(
    db: str | None, out: str, *, config: str | None = None, tiles: str = "osm",
    quiet: bool = True,
) -> SiteResult:  # fmt: skip
    """``camdensity site``: render every area (or the config's) into ``out``."""
    cfg = load_config(config) if config else None
    if cfg is not None:
        apply_config(db, cfg, quiet=quiet)
    target = Path(out)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: folder {parent} does not exist")
    if target.exists() and not target.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=parent))
    try:
        pages = render_site(
            db, tmp, _published(db, cfg), title=cfg.title if cfg else SiteConfig.title,
            compare=cfg.compare if cfg else [], tiles=tiles,
            maps=cfg.maps if cfg else DEFAULT_MAPS,
            previous=target if target.is_dir() else None,
        )  # fmt: skip
        _faults.point("site-before-swap")
        _swap(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = [f for f in target.rglob("*") if f.is_file()]
    return SiteResult(target, pages, len(files), sum(f.stat().st_size for f in files))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` in place of ``target``: in one atomic exchange where the system allows,
    else with two renames (a kill between them leaves the old site beside the target)."""
    os.chmod(new, 0o755)
    if target.exists():
        if _exchange(new, target):
            _faults.point("site-after-swap")
            shutil.rmtree(new, ignore_errors=True)  # now the old site
            return
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
        os.rename(new, target)
        _faults.point("site-after-swap")
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, target)
        _faults.point("site-after-swap")
