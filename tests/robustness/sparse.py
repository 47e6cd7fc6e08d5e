"""A PBF in which few blocks hold a camera, so that the reader's block pre-filter
(mapper.sources._blocks) is used on it: the Munich header (dated, so the first pass is
filtered), the data blocks of the Liechtenstein 2015 extract (no camera; one block has the
words), then those of the Munich and London extracts (209 and 23 cameras, one of London's a
way). The copied blobs are the shipped files' own bytes.
"""

from __future__ import annotations

from functools import cache

from tests.conftest import LONDON, MUNICH, OSM
from tests.robustness.pbfcodec import Blob, blobs

LIECHTENSTEIN = OSM / "liechtenstein_2015-07-27.osm.pbf"
CAMERAS = 209 + 23
#: Data blocks before the first that holds a camera (all of Liechtenstein's).
RURAL_BLOCKS = 20


@cache
def parts() -> tuple[Blob, list[Blob], list[Blob]]:
    """(the header blob, the rural data blobs, the data blobs with cameras)."""
    munich = blobs(MUNICH.read_bytes())
    rural = blobs(LIECHTENSTEIN.read_bytes())[1:]
    return munich[0], rural, munich[1:] + blobs(LONDON.read_bytes())[1:]


@cache
def sparse_pbf() -> bytes:
    header, rural, cities = parts()
    assert len(rural) == RURAL_BLOCKS
    return header.raw + b"".join(b.raw for b in rural + cities)
