"""camdensity: open, reproducible maps of surveillance-camera density from OpenStreetMap.

``from mapper import Store`` gives the Python API (``mapper.api``, ``docs/api.md``); it is
imported on first use, so that ``import mapper`` (the CLI's start) stays free of pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mapper.api import Store as Store

__version__ = "0.1.0"

ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0, https://www.openstreetmap.org/copyright)"

#: The kinds of study area (``areas.kind`` in the store).
AREA_KINDS = ("municipality", "neighbourhood", "admin", "extent", "custom")

__all__ = ["AREA_KINDS", "ATTRIBUTION", "Store", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from mapper.api import Store

        return Store
    raise AttributeError(f"module 'mapper' has no attribute {name!r}")
