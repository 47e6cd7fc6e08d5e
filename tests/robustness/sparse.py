"""A PBF in which few blocks hold a camera, so that the reader's block pre-filter
(mapper.sources._blocks) is used on it: the Munich header (dated, so the first pass is
filtered), the data blocks of the Liechtenstein 2015 extract (no camera; one block has the
words), then those of the Munich and London extracts (209 and 23 cameras, one of London's a
way). The copied blobs are the shipped files' own bytes.

:data:`HOSTILE`: the same file with one hostile blob after the rural blocks, where the
pre-filter has decided to sift every block (tests/robustness/test_prefilter.py, and the fuzz
corpus).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.conftest import LONDON, MUNICH, OSM
from tests.robustness import bombs
from tests.robustness.bombs import CORRUPT, GiB, MiB
from tests.robustness.pbfcodec import Blob, blobs, make_blob

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


@dataclass
class Hostile:
    name: str
    content: Callable[[], bytes]
    guarded: str  # in the Error line when mapper.sources._guard runs first
    unguarded: str  # in the Error line of the pre-filter itself (the guard switched off)


def first_city_block() -> bytes:
    """The first Munich block (it holds cameras)."""
    return parts()[2][0].block


def _sparse_with(blob: bytes, *, cut: int | None = None) -> bytes:
    """The sparse file with ``blob`` after the rural blocks, cut at byte ``cut``."""
    header, rural, cities = parts()
    data = header.raw + b"".join(b.raw for b in rural) + blob + b"".join(b.raw for b in cities)
    return data if cut is None else data[:cut]


def _bomb(payload: Callable[[], bytes], **kw: Any) -> Callable[[], bytes]:
    """The sparse file with a blob of ``payload`` (built when the file is)."""
    return lambda: _sparse_with(make_blob("OSMData", b"", compressed=payload(), **kw))


def _zeros() -> bytes:
    """zlib: 4 GiB of zeros."""
    return bombs.deflate(*bombs.fill(b"\0", 4 * GiB)).zlib()


def _table_then_zeros() -> bytes:
    """zlib: a block whose string table says it is 1 GiB long, then 4 GiB of zeros."""
    start = b"\x0a" + bytes([0x80, 0x80, 0x80, 0x80, 0x04])  # field 1, length 2**30
    return bombs.deflate((start, 1), *bombs.fill(b"\0", 4 * GiB)).zlib()


def _xz_zeros() -> bytes:
    """lzma (xz): 256 MiB of zeros."""
    return bombs.xz_fill(b"\0", 256 * MiB)


def _rural_cut() -> bytes:
    """A rural block's zlib stream cut inside its string table (raw_size right)."""
    rural = parts()[1][0].block
    return _sparse_with(make_blob("OSMData", rural, compressed=zlib.compress(rural)[:50]))


def _cut_inside_a_city_blob() -> bytes:
    header, rural, cities = parts()
    before = len(header.raw) + sum(len(b.raw) for b in rural) + len(cities[0].raw)
    return _sparse_with(b"", cut=before + len(cities[1].raw) // 2)


def _city(**kw: Any) -> Callable[[], bytes]:
    return lambda: _sparse_with(make_blob("OSMData", first_city_block(), **kw))


def _header_then_city(prefix: bytes, whole: bool = False) -> Callable[[], bytes]:
    """``prefix``, then the first city block: without its length (which ``prefix`` gives),
    or ``whole``."""
    return lambda: _sparse_with(
        prefix + make_blob("OSMData", first_city_block())[0 if whole else 4 :]
    )


_PAST_32MIB = f"inflates past {32 * MiB} bytes"
_RAW_SIZE = "without its size (raw_size)"
_LZMA = "compressed with lzma"
HOSTILE = [
    Hostile("zlib-no-raw-size-past-32mib", _bomb(_zeros, omit_raw_size=True), _RAW_SIZE,
            _PAST_32MIB),
    Hostile("zlib-table-of-1gib", _bomb(_table_then_zeros, omit_raw_size=True), _RAW_SIZE,
            _PAST_32MIB),
    Hostile("zlib-raw-size-lies", _bomb(_zeros, raw_size=100_000), CORRUPT,
            "inflates past 100000 bytes"),
    Hostile("lzma-no-raw-size-past-32mib", _bomb(_xz_zeros, method="lzma", omit_raw_size=True),
            _LZMA, _PAST_32MIB),
    Hostile("lzma-raw-size-lies", _bomb(_xz_zeros, method="lzma", raw_size=100_000), _LZMA,
            "inflates past 100000 bytes"),
    Hostile("zlib-stream-cut-in-its-table", _rural_cut, CORRUPT,
            "a compressed block that ends early"),
    Hostile("truncated-blob", _cut_inside_a_city_blob, CORRUPT, "ends inside a blob"),
    Hostile("datasize-2gb", _city(datasize=2**31 - 1), CORRUPT, "a blob of 2147483647 bytes"),
    Hostile("datasize-too-small", _city(datasize=3), CORRUPT, "a malformed blob"),
    Hostile("blob-header-2gb", _header_then_city(b"\x7f\xff\xff\xff"), CORRUPT,
            "a blob header of 2147483647 bytes"),
    Hostile("blob-header-garbage", _header_then_city(b"\0\0\0\x05" + b"\xff" * 5, whole=True),
            CORRUPT, "a malformed blob header"),
    Hostile("raw-size-over-32mib", _city(raw_size=33 * MiB), CORRUPT,
            f"says it inflates to {33 * MiB} bytes"),
]  # fmt: skip
