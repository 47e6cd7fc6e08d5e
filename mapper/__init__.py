"""camdensity: open, reproducible maps of surveillance-camera density from OpenStreetMap."""

from __future__ import annotations

__version__ = "0.1.0"

ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0, https://www.openstreetmap.org/copyright)"

#: The kinds of study area (``areas.kind`` in the store).
AREA_KINDS = ("municipality", "neighbourhood", "admin", "extent", "custom")
