"""The project's exception types. Only the CLI turns them into ``click.ClickException``."""

from __future__ import annotations


class CamdensityError(Exception):
    """Base class: the message says what is wrong and what to do."""


class InputError(CamdensityError):
    """An input file is missing, empty, of an unknown format, or corrupt."""


class StoreError(CamdensityError):
    """The store file cannot be used (not DuckDB, newer schema, missing)."""


class StoreOutdated(StoreError):
    """The store has an older schema, or none yet; opening it to write upgrades it."""


class StoreLocked(StoreError):
    """Another process holds the store's write lock."""


class SpatialUnavailable(CamdensityError):
    """DuckDB's spatial extension cannot be installed or loaded."""


class NotFound(CamdensityError):
    """A named thing (area, source) is not in the store."""


class AmbiguousArea(NotFound):
    """A name several stored areas answer to; the message lists them with their OSM ids."""


class NetworkError(CamdensityError):
    """A web service (Nominatim, Overpass) cannot be reached, or did not answer in time."""


class ServiceError(CamdensityError):
    """A web service answered with an error, stayed busy, or sent a malformed response."""
