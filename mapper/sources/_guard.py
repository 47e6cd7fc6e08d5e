"""Bounded checks of an OSM file before libosmium reads it.

What libosmium already refuses by itself, measured on this project's pyosmium (4.3.2,
libosmium 2.23.1; ``python -m tests.robustness.bombs``), each in well under a second and
under 60 MB: in a PBF, a compressed blob without ``raw_size``, a ``raw_size`` that lies, a blob
or blob header over the format's limits, lzma and zstd blobs, a truncated file; in OSM XML,
every entity declaration (nested expansion, external entities), a truncated or corrupt
gzip or bzip2 stream.

What it does not refuse is work out of all proportion to the file: a gzip or bzip2 file
whose XML inflates to gigabytes of spaces (4 GiB from 4 MB took 48 s), and a PBF whose blocks
each inflate to 32 MiB of padding (200 of them, 7 MB, took 28 to 36 s before libosmium
found the padding too long). So one rule, the same for every format:

    the content may not exceed ``MAX_RATIO`` (100) times the bytes it comes from, plus
    ``SLACK`` (64 MiB).

Real OSM data is far below it: OSM XML inflates 7 to 11 times from gzip and 10 to 15 times
from bzip2 (every shipped sample written by osmium-tool), a PBF's blocks 2 to 4 times (the
shipped extracts 1.9 to 2.2, the Faroe history file 3.8). For a
PBF the content is what the blocks declare (``raw_size``; libosmium never inflates a block past
it), summed without inflating anything. Compressed XML is inflated here once, 1 MiB of output
at a time, and refused as soon as the output so far passes the bound for the input so far,
so a bomb stops after at most ``SLACK`` plus 100 times what precedes it. This pass costs under
0.1 of one libosmium pass over a gzip file, and 0.35 to 0.8 of one over a bzip2 file (bzip2
inflates slowly; Liechtenstein as .osm.bz2, idle and loaded machine).

The PBF walk reads each blob header and the few bytes that say how its blob is compressed
(a seek per blob, nothing inflated), so that a compression libosmium cannot read is named
with what to do instead of as a corrupt file. The XML prolog (the first 64 KiB) is looked at
for entity declarations for the same reason.
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import BinaryIO, Protocol

from mapper.errors import InputError

MAX_RATIO = 100
SLACK = 64 << 20
#: The PBF format's limits: a blob header of 64 KiB, a blob (and what it inflates to) 32 MiB.
MAX_BLOB_HEADER = 64 << 10
MAX_BLOB = 32 << 20
#: Inflate this much output at most per call, from this much input.
STEP = 1 << 20
FEED = 64 << 10
PROLOG = 64 << 10

#: Blob fields (fileformat.proto) by number; 2 is raw_size.
_METHODS = {1: "none", 3: "zlib", 4: "lzma", 5: "bzip2", 6: "lz4", 7: "zstd"}


def check(path: str, fmt: str) -> None:
    """Raise :class:`InputError` for a file libosmium must not be handed.

    ``fmt`` is ``mapper.sources.osm.sniff``'s: 'pbf', 'osm', 'osm.gz' or 'osm.bz2'.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if fmt == "pbf":
                _pbf(path, f, size)
            elif fmt == "osm":
                _prolog(path, f.read(PROLOG))
            elif fmt in ("osm.gz", "osm.bz2"):
                _compressed_xml(path, f, fmt[4:])
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _bound(source: int) -> int:
    return MAX_RATIO * source + SLACK


def _corrupt(path: str, what: str) -> InputError:
    return InputError(f"{path}: truncated or corrupt OSM file ({what}); download it again")


def _bomb(path: str, content: str, source: int) -> InputError:
    return InputError(
        f"{path}: {content} from {_size(source)}, over {MAX_RATIO} times its size: refused as "
        f"a compression bomb (real OSM data inflates under 15 times); get the file again from "
        "a source you trust"
    )


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"


# ------------------------------------------------------------------------------------ PBF
def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(buf) and shift < 64:
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return value, i
        shift += 7
    raise ValueError("a malformed number")


def _fields(buf: bytes) -> dict[int, int | bytes]:
    """The varint and length-delimited fields of a small message (the last of each number)."""
    out: dict[int, int | bytes] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        if key & 7 == 0:
            out[key >> 3], i = _varint(buf, i)
        elif key & 7 == 2:
            n, i = _varint(buf, i)
            out[key >> 3], i = buf[i : i + n], i + n
        else:
            raise ValueError(f"wire type {key & 7}")
    return out


def _blob(f: BinaryIO, end: int) -> tuple[str, int]:
    """(compression, raw_size or -1) of the blob from ``f``'s position to ``end``: reads the
    keys and sizes of its fields, seeks over their payloads."""
    method, raw_size = "", -1
    while f.tell() < end:
        head = f.read(min(16, end - f.tell()))
        key, i = _varint(head, 0)
        if key & 7 == 0:
            value, i = _varint(head, i)
            if key >> 3 == 2:
                raw_size = value
            f.seek(i - len(head), os.SEEK_CUR)
        elif key & 7 == 2:
            n, i = _varint(head, i)
            if key >> 3 in _METHODS:
                method = _METHODS[key >> 3]
            f.seek(i - len(head) + n, os.SEEK_CUR)
        else:
            raise ValueError(f"wire type {key & 7} in a blob")
    if f.tell() != end:
        raise ValueError("a blob field runs past its blob")
    return method or "unknown", raw_size


def frames(path: str, f: BinaryIO, size: int) -> Iterator[tuple[int, bytes, bytes, int]]:
    """(offset, type, the bytes before its blob, the blob's size) of each blob of the PBF
    open as ``f`` (``size`` bytes), its framing checked: a blob header and a blob within the
    format's limits and within the file. ``f`` is left at the blob's start."""
    pos = 0
    while pos < size:
        f.seek(pos)
        head = f.read(4)
        n = int.from_bytes(head, "big")
        if n > MAX_BLOB_HEADER:
            raise _corrupt(path, f"a blob header of {n} bytes at byte {pos}")
        header = f.read(n)
        if len(head) < 4 or len(header) < n:
            raise _corrupt(path, f"ends inside a blob header at byte {pos}")
        try:
            fields = _fields(header)
        except ValueError:
            raise _corrupt(path, f"a malformed blob header at byte {pos}") from None
        kind, datasize = fields.get(1, b""), fields.get(3, 0)
        if not isinstance(datasize, int) or not 0 < datasize <= MAX_BLOB:
            raise _corrupt(path, f"a blob of {datasize!r} bytes at byte {pos}")
        end = pos + 4 + n + datasize
        if end > size:
            raise _corrupt(path, f"ends inside a blob at byte {pos}")
        yield pos, kind if isinstance(kind, bytes) else b"", head + header, datasize
        pos = end


def _pbf(path: str, f: BinaryIO, size: int) -> None:
    """Walk the blob framing (:func:`frames`): a compression libosmium reads, and the content
    the blobs declare within the bound."""
    declared = 0
    for pos, _, before, datasize in frames(path, f, size):
        end = pos + len(before) + datasize
        try:
            method, raw_size = _blob(f, end)
        except ValueError:
            raise _corrupt(path, f"a malformed blob at byte {pos}") from None
        if method == "unknown":
            raise _corrupt(path, f"a blob without data at byte {pos}")
        if method not in ("none", "zlib") and not _reads(method):
            raise InputError(
                f"{path}: PBF blocks compressed with {method}, which the OSM reader (libosmium) "
                f"cannot read; get the file with zlib blocks (the usual PBF), or rewrite it: "
                f"osmium cat {path} -o OUT.osm.pbf -f pbf,pbf_compression=zlib (needs an "
                f"osmium-tool that reads {method})"
            )
        if method != "none" and raw_size < 0:
            raise _corrupt(path, f"a compressed blob without its size (raw_size) at byte {pos}")
        if method != "none" and not 0 < raw_size <= MAX_BLOB:
            raise _corrupt(path, f"a blob that says it inflates to {raw_size} bytes at byte {pos}")
        declared += datasize if method == "none" else raw_size
    if declared > _bound(size):
        raise _bomb(path, f"PBF blocks that declare {_size(declared)} of data", size)


def _tiny_pbf(method: str) -> bytes | None:
    """A PBF with one empty data block compressed with ``method`` (None: not writable here)."""

    def field(number: int, data: bytes) -> bytes:
        return bytes([number << 3 | 2, len(data)]) + data

    def fileblock(kind: bytes, blob: bytes) -> bytes:
        header = field(1, kind) + bytes([3 << 3, len(blob)])
        return len(header).to_bytes(4, "big") + header + blob

    block = field(1, field(1, b""))  # a string table holding the empty string
    packers: dict[str, Callable[[bytes], bytes]] = {
        "lz4": lambda b: bytes([len(b) << 4]) + b,  # one run of literals (len < 15)
        "zstd": lambda b: (
            bytes.fromhex("28b52ffd20")
            + bytes([len(b)])
            + (1 | len(b) << 3).to_bytes(3, "little")
            + b
        ),  # fmt: skip
        "lzma": lzma.compress,
        "bzip2": bz2.compress,
    }
    if method not in packers:
        return None
    number = next(k for k, v in _METHODS.items() if v == method)
    data = bytes([2 << 3, len(block)]) + field(number, packers[method](block))
    header = fileblock(b"OSMHeader", field(1, field(4, b"OsmSchema-V0.6")))
    return header + fileblock(b"OSMData", data)


@cache
def _reads(method: str) -> bool:
    """Whether this libosmium reads PBF blobs compressed with ``method`` (tried on a tiny
    file in memory, once per process)."""
    import osmium
    import osmium.io

    tiny = _tiny_pbf(method)
    if tiny is None:
        return False
    try:
        for _ in osmium.FileProcessor(osmium.io.FileBuffer(tiny, "pbf")):
            pass
    except RuntimeError:
        return False
    return True


# ------------------------------------------------------------------------------------ XML
def _prolog(path: str, start: bytes) -> None:
    """Entity declarations before the root element: libosmium refuses them, but as a
    corrupt file; say what they are."""
    root = start.find(b"<osm")
    if b"<!ENTITY" in (start if root < 0 else start[:root]):
        raise InputError(
            f"{path}: OSM XML that declares entities (<!ENTITY ...>), which the OSM reader "
            "refuses (they can expand without bound or read other files); remove the DOCTYPE"
        )


class _Inflater(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _compressed_xml(path: str, f: BinaryIO, kind: str) -> None:
    """Inflate every stream of the file (gzip and bzip2 files may hold several, one after
    another; libosmium reads them all) within the bound, and look at the prolog."""
    name, magic = ("gzip", b"\x1f\x8b") if kind == "gz" else ("bzip2", b"BZh")

    def fresh() -> _Inflater:
        if kind == "gz":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return bz2.BZ2Decompressor()

    def wants_input(d: _Inflater) -> bool:
        # zlib hands back the input it did not take (unconsumed_tail); bzip2 keeps it and
        # says whether it can give more output without more input (needs_input).
        return bool(getattr(d, "needs_input", True))

    d = fresh()
    fed = out = 0
    start = data = b""
    ended = False  # the file has been read to its end
    while True:
        if not data and not ended and wants_input(d):
            data = f.read(FEED)
            fed += len(data)
            ended = not data
        try:
            chunk = d.decompress(data, STEP)
        except (zlib.error, OSError, EOFError, ValueError) as exc:
            raise _corrupt(path, f"the {name} stream is damaged: {exc}") from None
        data = getattr(d, "unconsumed_tail", b"")
        out += len(chunk)
        if len(start) < PROLOG:
            start += chunk[: PROLOG - len(start)]
            if len(start) == PROLOG:
                _prolog(path, start)
        if out > _bound(fed):
            raise _bomb(path, f"{name} data that inflates to over {_size(out)}", fed)
        if d.eof:
            rest = d.unused_data + data
            if len(rest) < len(magic) and not ended:
                more = f.read(FEED)
                fed += len(more)
                ended = not more
                rest += more
            if not rest.startswith(magic):  # trailing bytes: libosmium skips or refuses them
                break
            d, data = fresh(), rest
        elif ended and not chunk and not data:
            raise _corrupt(path, f"the {name} stream ends early")
    _prolog(path, start)
