"""A PBF block pre-filter: only the blocks that can hold a camera reach libosmium.

A PBF is a sequence of blobs (a 4-byte big-endian length, a ``BlobHeader``, a ``Blob``), each
data blob one block of about 8,000 elements with its own string table, which every writer puts
first. A camera's tag key and value (``man_made`` and ``surveillance``; ``highway`` and
``speed_camera``) are strings of that table, so a block whose table lacks one of the pairs
holds no camera. :func:`sources` inflates each block's string table only (a block that does
not start with one is inflated and looked at whole) and hands libosmium the file's header blob
with the blocks that keep, unchanged (libosmium inflates and decodes them), a few MiB at a
time (:class:`osmium.io.FileBuffer`). The substring test is a superset of the tag test made
later (a value with spaces around it, the words in other tags, keep a block): no camera is
lost. Entities are decoded by libosmium only.

Measured (``bench/extract.py``): the 8x8 Liechtenstein file (8 of 1,268 blocks keep) is
sifted in 0.2 s, and its camera pass no longer reads 166 MB of blocks. Where most blocks hold
a camera (the 100x Munich file: 516 of 585) sifting costs more than it saves, so the first
``SAMPLE`` data blocks decide: when more than ``MOSTLY`` of them keep, libosmium reads the
file itself. A thread pool for the inflating bought 10 % of the 0.2 s: not kept.

Bounds: every inflate stops at the block's ``raw_size`` and the format's 32 MiB, and the
framing is checked again by the guard's own walk (:func:`mapper.sources._guard.frames`; the
file may change after the guard read it), giving the one-line :class:`InputError` the reader
gives for a corrupt file. A skipped block is inflated only as far as its string table, so
damage after it is not seen (zlib's checksum is at the end); none of its elements is read.
Blobs of a compression not inflated here (lz4, zstd, ...) are kept, for libosmium to read or
refuse. One blob is read at a time and a batch holds ``BATCH`` bytes or one block, however
large the file.

Why batches in memory, not a pipe from a thread: pyosmium holds the GIL while it waits for
input, so no thread of this process can feed it (tried: a deadlock). Why a few MiB: libosmium
moves the rest of an in-memory buffer forward after each blob it takes, so one large buffer
costs time quadratic in its size (the 64 MB Munich file as one buffer: 8 s, from disk 1.3 s).
"""

from __future__ import annotations

import lzma
import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import osmium.io

from mapper.errors import InputError
from mapper.sources import _guard
from mapper.sources._guard import MAX_BLOB, _corrupt, _fields, _varint

#: Bytes of kept blocks handed to libosmium at a time (a block may take a batch past it).
BATCH = 4 << 20
#: The first data blocks, of which more than ``MOSTLY`` keeping means libosmium reads the file.
SAMPLE = 16
MOSTLY = 0.5

Wanted = list[tuple[bytes, bytes]]


def needles(include_speed: bool) -> Wanted:
    """(key, value) pairs a block must hold one of: the cameras ``osm._is_camera`` keeps."""
    pairs = [(b"man_made", b"surveillance")]
    return pairs + [(b"highway", b"speed_camera")] if include_speed else pairs


def _holds(data: bytes, wanted: Wanted) -> bool:
    return any(k in data and v in data for k, v in wanted)


def _table(start: bytes) -> tuple[int, int] | None:
    """Where the string table (field 1) lies in a block that starts with ``start``; None
    when it does not start with one, or ``start`` is too short to say."""
    if start[:1] != b"\x0a":
        return None
    try:
        n, i = _varint(start, 1)
    except ValueError:
        return None
    return i, i + n


def _zlib(data: bytes, bound: int) -> tuple[bytes, bool]:
    """(the string table of a zlib block, or the whole block when it does not start with one
    within ``bound``; whether the stream was read to its end)."""
    z = zlib.decompressobj()
    out = z.decompress(data, 16)
    span = _table(out)
    if span is not None and span[1] <= bound:
        if span[1] > len(out):
            out += z.decompress(z.unconsumed_tail, span[1] - len(out))
        if len(out) == span[1]:
            return out[span[0] :], True
    out += z.decompress(z.unconsumed_tail, bound + 1 - len(out))
    return out, z.eof


def _lzma(data: bytes, bound: int) -> tuple[bytes, bool]:
    x = lzma.LZMADecompressor()
    out = x.decompress(data, bound + 1)
    return out, x.eof


def _keeps(path: str, at: int, blob: bytes, wanted: Wanted) -> bool:
    """Whether the data blob at byte ``at`` may hold a camera (or is for libosmium to judge:
    a compression not inflated here)."""
    try:
        fields = _fields(blob)
    except ValueError:
        raise _corrupt(path, f"a malformed blob at byte {at}") from None
    raw_size = fields.get(2, 0)
    method = next((m for m in (1, 3, 4) if isinstance(fields.get(m), bytes)), 0)
    payload = fields.get(method)
    if not isinstance(payload, bytes) or not isinstance(raw_size, int):
        return True
    if method == 1:
        span = _table(payload[:16])
        return _holds(payload if span is None else payload[span[0] : span[1]], wanted)
    if not 0 <= raw_size <= MAX_BLOB:
        raise _corrupt(path, f"a blob that says it inflates to {raw_size} bytes at byte {at}")
    bound = raw_size or MAX_BLOB
    try:
        out, whole = (_zlib if method == 3 else _lzma)(payload, bound)
    except (zlib.error, lzma.LZMAError) as exc:
        raise _corrupt(path, f"a block that cannot be inflated at byte {at}: {exc}") from None
    if len(out) > bound:
        raise _corrupt(path, f"a block that inflates past {bound} bytes at byte {at}")
    if not whole:
        raise _corrupt(path, f"a compressed block that ends early at byte {at}")
    return _holds(out, wanted)


def _fileblocks(path: str, f: BinaryIO) -> Iterator[tuple[int, str, bytes, int]]:
    """(offset, type, the fileblock's bytes, where its blob starts in them) of each blob, the
    framing checked by :func:`mapper.sources._guard.frames`."""
    try:
        size = os.fstat(f.fileno()).st_size
        for at, kind, before, datasize in _guard.frames(path, f, size):
            blob = f.read(datasize)
            if len(blob) < datasize:
                raise _corrupt(path, f"ends inside a blob at byte {at}")
            yield at, kind.decode("ascii", "replace"), before + blob, len(before)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def sources(
    path: str, include_speed: bool, file: osmium.io.File
) -> Iterator[osmium.io.File | osmium.io.FileBuffer]:
    """What libosmium is to read of the PBF at ``path`` for its cameras: PBFs in memory, each
    the header blob and the next blocks that keep (``BATCH`` bytes or so; none when no block
    keeps); or ``file`` itself when more than ``MOSTLY`` of the first data blocks keep
    (``SAMPLE`` of them, or fewer when those that keep reach ``BATCH`` bytes first)."""
    wanted = needles(include_speed)
    header = b""
    batch: list[bytes] = []
    size = blocks = kept = 0
    decided = False
    try:
        f = open(path, "rb")  # closed by the with below
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with f:
        for at, kind, fileblock, start in _fileblocks(path, f):
            if kind == "OSMHeader" and not header:
                header = fileblock
                continue
            # a blob of another type is for libosmium to judge: kept
            keep = kind != "OSMData" or _keeps(path, at, fileblock[start:], wanted)
            blocks += kind == "OSMData"
            kept += keep and kind == "OSMData"
            if keep:
                batch.append(fileblock)
                size += len(fileblock)
            if not decided and (blocks >= SAMPLE or size >= BATCH):
                if kept > MOSTLY * blocks:
                    break
                decided = True
            if decided and size >= BATCH:
                yield osmium.io.FileBuffer(b"".join([header, *batch]), "pbf")
                batch, size = [], 0
        else:  # the end of the file (a small file: the sample is all its blocks)
            if decided or kept <= MOSTLY * blocks:
                if batch:
                    yield osmium.io.FileBuffer(b"".join([header, *batch]), "pbf")
                return
    yield file
