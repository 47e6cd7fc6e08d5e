"""camdensity's own camera scan of an OSM PBF: inflate every block, decode only what can hold a
camera (https://wiki.openstreetmap.org/wiki/PBF_Format).

A PBF block names every string it uses once, in its string table; elements refer to strings by
index. A block whose table lacks the ``man_made`` key or a value that trims to
``surveillance`` holds no camera: its dense nodes are only checked (counts, string indexes),
never decoded. In the other blocks the dense key/value lists are walked for the pair, and ids
and coordinates are decoded only when a camera is among them. A group of ways is looked at
only when an encoded camera value follows an encoded ``man_made`` key within ``NEAR`` bytes;
then every way's key and value lists are decoded together with numpy. The inner loops are C
(``mapper/_native/pbfscan.c``, through ctypes), with numpy versions of the same loops when
the library is not built. Blocks are inflated (zlib-ng) and scanned by one process per core
(:func:`map_blocks`).

Camera ways are placed from their nodes in a second pass over the node blocks that can hold
them (the first id of each block is kept in pass one).

Blocks compressed with lz4, zstd or bzip2 raise :class:`Unsupported` (DuckDB spatial's
``ST_ReadOSM`` does not read them either); raw, zlib and lzma blocks are read.
"""

from __future__ import annotations

import atexit
import bisect
import ctypes
import fcntl
import itertools
import lzma
import mmap
import os
import pickle
import signal
import tempfile
import types
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from mapper._native import LIB

_zlib: types.ModuleType = zlib
try:  # zlib-ng inflates the same streams about 1.5 times as fast as zlib
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - zlib-ng is a dependency; zlib is the floor
    pass

_libdeflate: Callable[[Any, int], bytearray] | None = None
_DeflateError: type[Exception] = zlib.error
try:  # libdeflate inflates a whole zlib stream of known size 1.4 times as fast as zlib-ng
    from deflate import DeflateError as _DeflateError
    from deflate import zlib_decompress as _libdeflate
except ImportError:  # pragma: no cover - deflate is a dependency; zlib-ng does it then
    pass

R = TypeVar("R")

#: A camera node as found: id, latitude, longitude and its tags.
Node = tuple[int, float, float, dict[str, str]]


class Unsupported(Exception):
    """The file uses a PBF feature this scan does not decode (a block compression)."""


class Corrupt(ValueError):
    """The bytes do not decode as the PBF format says they must."""


@dataclass
class Scan:
    nodes: list[Node] = field(default_factory=list)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    #: (file offset, size) of each node block's blob, with the first node id it holds.
    node_blocks: list[tuple[int, int, int]] = field(default_factory=list)


#: The format's own limits (wiki.openstreetmap.org/wiki/PBF_Format): a BlobHeader under
#: 64 KiB, a Blob under 32 MiB, compressed or not.
MAX_BLOB_HEADER = 64 * 1024
MAX_BLOB = 32 * 1024 * 1024

KEY = b"man_made"
VALUE = "surveillance"
SPEED_KEY = b"highway"
SPEED_VALUE = "speed_camera"


def varint(buf: bytes, i: int) -> tuple[int, int]:
    """The varint at ``buf[i]``: its value and the position after it."""
    value = 0
    shift = 0
    while True:
        if i >= len(buf):
            raise Corrupt("ends inside a number")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise Corrupt("a malformed number")


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, Any]]:
    """The fields of one message: (number, value) for varints, (number, (start, end)) for
    length-delimited payloads; fixed-width fields are skipped."""
    i = start
    while i < end:
        key, i = varint(buf, i)
        wire = key & 7
        if wire == 0:
            v, i = varint(buf, i)
            yield key >> 3, v
        elif wire == 2:
            n, i = varint(buf, i)
            if i + n > end:
                raise Corrupt("a field runs past its message")
            yield key >> 3, (i, i + n)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise Corrupt(f"an unexpected field type {wire}")
    if i != end:
        raise Corrupt("a field runs past its message")


_EMPTY = np.zeros(0, np.uint64)


def uvarints(buf: bytes, start: int, end: int) -> np.ndarray:
    """A packed run of unsigned varints, decoded as one uint64 array."""
    if LIB is not None:
        out = np.empty(end - start, np.uint64)
        n = LIB.cd_uvarints(buf, start, end, out.ctypes.data, len(out))
        if n < 0:
            raise Corrupt("a malformed packed number")
        return out[:n]
    a = np.frombuffer(buf, np.uint8, end - start, start)
    if not len(a):
        return _EMPTY
    more = a >= 0x80
    if not more.any():
        return a.astype(np.uint64)
    if more[-1]:
        raise Corrupt("a packed number runs past its field")
    ends = np.flatnonzero(~more)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lens = ends - starts + 1
    longest = int(lens.max())
    if longest > 10:
        raise Corrupt("a malformed number")
    out = (a[starts] & 0x7F).astype(np.uint64)
    for j in range(1, longest):
        m = np.flatnonzero(lens > j)
        out[m] |= (a[starts[m] + j] & 0x7F).astype(np.uint64) << np.uint64(7 * j)
    return out


def svarints(buf: bytes, start: int, end: int) -> np.ndarray:
    """Packed zigzag-coded varints (sint64), decoded."""
    u = uvarints(buf, start, end)
    return (u >> np.uint64(1)).view(np.int64) ^ -(u & np.uint64(1)).view(np.int64)


def deltas(buf: bytes, span: tuple[int, int]) -> np.ndarray:
    """A delta-coded packed sint64 field (ids, coordinates), as absolute values."""
    if LIB is not None:
        out = np.empty(span[1] - span[0], np.int64)
        n = LIB.cd_deltas(buf, span[0], span[1], out.ctypes.data, len(out))
        if n < 0:
            raise Corrupt("a malformed packed number")
        return out[:n]
    return np.cumsum(svarints(buf, *span))


def spans(buf: bytes, start: int, end: int, key: int) -> tuple[list[int], list[int]]:
    """The payload starts and lengths of the length-delimited fields from ``start`` to
    ``end``, each of which must have the key byte ``key``."""
    if LIB is not None:
        out = np.empty(2 * (end - start) // 2 + 2, np.int64)
        n = LIB.cd_spans(buf, start, end, key, out.ctypes.data, len(out) // 2)
        if n < 0:
            raise Corrupt("a malformed list of messages")
        return out[: 2 * n : 2].tolist(), out[1 : 2 * n : 2].tolist()
    at: list[int] = []
    lens: list[int] = []
    i = start
    while i < end:
        if buf[i] != key:
            raise Corrupt("a malformed list of messages")
        n = buf[i + 1] if i + 1 < end else 0x80
        if n < 0x80:
            j = i + 2
        else:
            n, j = varint(buf, i + 1)
        if j + n > end:
            raise Corrupt("a message runs past its list")
        at.append(j)
        lens.append(n)
        i = j + n
    return at, lens


class Block:
    """One inflated PrimitiveBlock: its string table (walked on demand) and its groups."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.granularity = 100
        self.lat_offset = 0
        self.lon_offset = 0
        self.table = (0, 0)
        self.groups: list[tuple[int, int]] = []
        for number, value in _fields(data, 0, len(data)):
            if number == 1:
                self.table = value
            elif number == 2:
                self.groups.append(value)
            elif number == 17:
                self.granularity = value
            elif number == 19:
                self.lat_offset = _signed(value)
            elif number == 20:
                self.lon_offset = _signed(value)
        #: Where each string of the table starts and how long it is, once walked.
        self._at: list[int] | None = None
        self._len: list[int] = []
        self._text: dict[int, str] = {}

    def has(self, text: bytes) -> bool:
        return self.data.find(text, *self.table) >= 0

    def _walk(self) -> None:
        """Find where every string of the table starts (once, on first use)."""
        if self._at is None:
            self._at, self._len = spans(self.data, *self.table, 0x0A)

    def string(self, index: int) -> str:
        got = self._text.get(index)
        if got is None:
            self._walk()
            assert self._at is not None
            if not 0 <= index < len(self._at):
                raise Corrupt("a string id beyond the string table")
            j = self._at[index]
            got = self._text[index] = text(self.data[j : j + self._len[index]])
        return got

    def ids_of(self, key: bytes, value: str) -> tuple[list[int], list[int]]:
        """Indexes of the string ``key`` and of the strings that trim to ``value``."""
        keys = [i for i in self._where(key) if self.string(i) == key.decode()]
        values = [i for i in self._where(value.encode()) if self.string(i).strip() == value]
        return keys, values

    def _where(self, needle: bytes) -> list[int]:
        """Strings holding ``needle`` (a candidate list: the caller compares whole strings)."""
        found: list[int] = []
        i, end = self.table
        while (p := self.data.find(needle, i, end)) >= 0:
            self._walk()
            assert self._at is not None
            k = bisect.bisect_right(self._at, p) - 1
            if k >= 0 and (not found or found[-1] != k):
                found.append(k)
            i = p + 1
        return found

    def tags(self, sids: list[int]) -> dict[str, str]:
        out: dict[str, str] = {}
        for k in range(0, len(sids) - 1, 2):
            out[self.string(sids[k])] = self.string(sids[k + 1])
        return out

    def lat(self, raw: np.ndarray) -> np.ndarray:
        return (self.lat_offset + self.granularity * raw) / 1e9

    def lon(self, raw: np.ndarray) -> np.ndarray:
        return (self.lon_offset + self.granularity * raw) / 1e9


def _signed(v: int) -> int:
    """An int64 field read as a varint."""
    return v - (1 << 64) if v >= 1 << 63 else v


def text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


@dataclass
class Wanted:
    """What counts as a camera, as string ids of one block."""

    keys: list[int]
    values: list[int]
    speed_keys: list[int]
    speed_values: list[int]


def _wanted(block: Block, include_speed: bool) -> Wanted | None:
    """The string ids to look for in ``block``, or None when it cannot hold a camera."""
    cams = block.has(KEY) and block.has(VALUE.encode())
    speed = include_speed and block.has(SPEED_KEY) and block.has(SPEED_VALUE.encode())
    if not cams and not speed:
        return None
    keys, values = block.ids_of(KEY, VALUE) if cams else ([], [])
    skeys, svalues = block.ids_of(SPEED_KEY, SPEED_VALUE) if speed else ([], [])
    if not (keys and values) and not (skeys and svalues):
        return None
    return Wanted(keys, values, skeys, svalues)


@dataclass
class BlockResult:
    nodes: list[Node] = field(default_factory=list)
    speed: list[bool] = field(default_factory=list)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    first_node_id: int | None = None


def scan_block(data: bytes, include_speed: bool) -> BlockResult:
    """The cameras of one inflated block."""
    out = BlockResult()
    block = Block(data)
    wanted = _wanted(block, include_speed)
    for start, end in block.groups:
        first = _first_field(data, start, end)
        if first == 2:
            for number, span in _fields(data, start, end):
                if number == 2:
                    _dense(block, span, wanted, out)
        elif first == 1:
            for number, span in _fields(data, start, end):
                if number == 1:
                    _plain_node(block, span, wanted, out)
        elif first == 3 and wanted is not None and wanted.keys and wanted.values:
            _ways(block, (start, end), wanted, out)
    return out


def _first_field(data: bytes, start: int, end: int) -> int:
    """The field number a group starts with (a group holds one kind of element)."""
    if start >= end:
        return 0
    key, _ = varint(data, start)
    return key >> 3


def _dense(block: Block, span: tuple[int, int], wanted: Wanted | None, out: BlockResult) -> None:
    data = block.data
    parts: dict[int, tuple[int, int]] = {}
    for number, value in _fields(data, *span):
        if number in (1, 8, 9, 10) and isinstance(value, tuple):
            parts[number] = value
    ids_span = parts.get(1, (0, 0))
    _check_dense(block, parts)
    if out.first_node_id is None and ids_span[1] > ids_span[0]:
        out.first_node_id = _zigzag(varint(data, ids_span[0])[0])
    if wanted is None or 10 not in parts:
        return
    kv_span = parts[10]
    cams = _tagged(data, kv_span, wanted.keys, wanted.values)
    speed = _tagged(data, kv_span, wanted.speed_keys, wanted.speed_values)
    if not cams and not speed:
        return
    ids = deltas(data, ids_span)
    lats = deltas(data, parts.get(8, (0, 0)))
    lons = deltas(data, parts.get(9, (0, 0)))
    tagged = {**speed, **cams}
    found = sorted(tagged)
    where = np.array(found, np.int64)
    lat = block.lat(lats[where]).tolist()
    lon = block.lon(lons[where]).tolist()
    ident = ids[where].tolist()
    memo: dict[bytes, dict[str, str]] = {}
    for k, n in enumerate(found):
        node_span = tagged[n]
        raw = data[node_span[0] : node_span[1]]
        tags = memo.get(raw)
        if tags is None:
            tags = memo[raw] = block.tags(_unpack(data, *node_span))
        out.nodes.append((ident[k], lat[k], lon[k], tags))
        out.speed.append(n not in cams)


def _check_dense(block: Block, parts: dict[int, tuple[int, int]]) -> None:
    """Every group of dense nodes is checked, whether or not it holds a camera: ids and
    coordinates of equal counts, one closed key/value list per node (or none at all), every
    string index inside the block's string table. Cheap in C (a pass over the bytes, no
    decoding into arrays); a damaged block is refused even where no camera is."""
    data = block.data
    counts = {_count(data, *parts.get(n, (0, 0))) for n in (1, 8, 9)}
    if len(counts) != 1:
        raise Corrupt("dense nodes of unequal lengths")
    nodes = counts.pop()
    kv = parts.get(10, (0, 0))
    if kv[1] > kv[0]:
        block._walk()
        assert block._at is not None
        lists = _kv_lists(data, kv, len(block._at))
        if lists != nodes:
            raise Corrupt("dense nodes and their key/value lists do not match")


def _count(data: bytes, start: int, end: int) -> int:
    """How many varints a packed run holds."""
    if LIB is not None:
        n = int(LIB.cd_count(data, start, end))
    else:
        a = np.frombuffer(data, np.uint8, end - start, start)
        n = int(np.count_nonzero(a < 0x80)) if not len(a) or a[-1] < 0x80 else -1
    if n < 0:
        raise Corrupt("a packed number runs past its field")
    return n


def _kv_lists(data: bytes, kv: tuple[int, int], strings: int) -> int:
    """How many key/value lists (nodes) a dense key/value run holds, checking every string
    index against the table's ``strings``."""
    if LIB is not None:
        n = int(LIB.cd_kv_check(data, kv[0], kv[1], strings))
        if n < 0:
            raise Corrupt("a key/value list without its end, or a string id beyond the table")
        return n
    values = uvarints(data, *kv)
    if len(values) and (int(values.max()) >= strings or values[-1] != 0):
        raise Corrupt("a key/value list without its end, or a string id beyond the table")
    return int(np.count_nonzero(values == 0))


def _tagged(
    data: bytes, kv: tuple[int, int], keys: list[int], values: list[int]
) -> dict[int, tuple[int, int]]:
    """Dense nodes (by index) holding a key in ``keys`` with a value in ``values``, each with
    the span of its key/value list (from its first byte to its closing 0)."""
    if not keys or not values:
        return {}
    if LIB is not None:
        k = np.array(keys, np.int64)
        v = np.array(values, np.int64)
        cap = (kv[1] - kv[0]) // 2 + 1
        out = np.empty(3 * cap, np.int64)
        nodes = np.zeros(1, np.int64)
        n = LIB.cd_dense_tagged(data, kv[0], kv[1], k.ctypes.data, len(k), v.ctypes.data,
                                len(v), out.ctypes.data, cap, nodes.ctypes.data)  # fmt: skip
        if n < 0:
            raise Corrupt("a malformed key/value list")
        found = out[: 3 * n].tolist()
        return {found[i]: (found[i + 1], found[i + 2]) for i in range(0, 3 * n, 3)}
    return _tagged_by_search(data, kv, keys, values)


def _tagged_by_search(
    data: bytes, kv: tuple[int, int], keys: list[int], values: list[int]
) -> dict[int, tuple[int, int]]:
    """:func:`_tagged` without the C loops: found by searching the encoded pair, not by
    decoding.

    The list of every node ends with a 0, the only zero byte a canonical varint run holds, so
    counting zero bytes before a match gives its node; a match must also start a number and sit
    at a key's place (an even position) in its node's list.
    """
    start, end = kv
    at: list[int] = []
    for k in keys:
        for v in values:
            pattern = encode(k) + encode(v)
            i = start
            while (p := data.find(pattern, i, end)) >= 0:
                at.append(p)
                i = p + 1
    found: dict[int, tuple[int, int]] = {}
    node, counted = 0, start
    for p in sorted(at):
        if p > start and data[p - 1] >= 0x80:
            continue  # inside a number
        first = data.rfind(0, start, p) + 1 or start
        if sum(1 for b in data[first:p] if b < 0x80) % 2:
            continue  # a value followed by a key
        last = data.find(0, p, end)
        if last < 0:
            raise Corrupt("a key/value list without its end")
        node += data.count(0, counted, first)
        counted = first
        found[node] = (first, last)
    return found


def _unpack(data: bytes, start: int, end: int) -> list[int]:
    """A short packed run of unsigned varints, as a list."""
    if LIB is not None:
        return uvarints(data, start, end).tolist()  # type: ignore[no-any-return]
    out: list[int] = []
    i = start
    while i < end:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        else:
            v, i = varint(data, i)
            out.append(v)
    return out


def _keys_values(data: bytes, parts: dict[int, tuple[int, int]]) -> list[int]:
    keys = uvarints(data, *parts.get(2, (0, 0))).tolist()
    values = uvarints(data, *parts.get(3, (0, 0))).tolist()
    if len(keys) != len(values):
        raise Corrupt("keys and values of unequal lengths")
    sids: list[int] = []
    for k, v in zip(keys, values, strict=True):
        sids += (k, v)
    return sids


def _match(sids: list[int], keys: list[int], values: list[int]) -> bool:
    return any(sids[i] in keys and sids[i + 1] in values for i in range(0, len(sids), 2))


def _plain_node(
    block: Block, span: tuple[int, int], wanted: Wanted | None, out: BlockResult
) -> None:
    data = block.data
    ident = lat = lon = 0
    parts: dict[int, tuple[int, int]] = {}
    for number, value in _fields(data, *span):
        if number == 1:
            ident = _zigzag(value)
        elif number == 8:
            lat = _zigzag(value)
        elif number == 9:
            lon = _zigzag(value)
        elif isinstance(value, tuple):
            parts[number] = value
    if out.first_node_id is None:
        out.first_node_id = ident
    if wanted is None:
        return
    sids = _keys_values(data, parts)
    cam = _match(sids, wanted.keys, wanted.values)
    speed = not cam and _match(sids, wanted.speed_keys, wanted.speed_values)
    if cam or speed:
        la = float(block.lat(np.array([lat]))[0])
        lo = float(block.lon(np.array([lon]))[0])
        out.nodes.append((ident, la, lo, block.tags(sids)))
        out.speed.append(speed)


def _ways(block: Block, group: tuple[int, int], wanted: Wanted, out: BlockResult) -> None:
    """The camera ways of a group of ways.

    Ways are found without decoding them one by one: the message boundaries are walked, then
    every way's key and value lists are decoded together as numpy arrays.
    """
    data = block.data
    if not _near(data, group, wanted):
        return
    at, lens = spans(data, *group, 0x1A)
    if not at:
        return
    a = np.frombuffer(data, np.uint8)
    starts = np.array(at, np.int64)
    ends = starts + np.array(lens, np.int64)
    found = _field_spans(a, starts, ends, (2, 3))
    if found is None:  # an unusual layout: look at every way
        hits = range(len(at))
    else:
        (k0, k1), (v0, v1) = found
        keys, key_way = _packed_runs(a, k0, k1)
        values, value_way = _packed_runs(a, v0, v1)
        if len(keys) != len(values) or not np.array_equal(key_way, value_way):
            raise Corrupt("keys and values of unequal lengths")
        camera = np.isin(keys, wanted.keys) & np.isin(values, wanted.values)
        hits = np.unique(key_way[camera]).tolist()
    for k in hits:
        _way(block, (at[k], at[k] + lens[k]), wanted, out)


#: How far (bytes) before a way's camera value its man_made key may be, at most: the rest of
#: its key list and the head of its value list lie between them (about 250 tags).
NEAR = 1024


def _near(data: bytes, group: tuple[int, int], wanted: Wanted) -> bool:
    """Whether an encoded camera value follows an encoded man_made key within NEAR bytes
    somewhere in ``group``: a cheap test that rules out most groups of ways."""
    start, end = group
    keys = [encode(k) for k in wanted.keys]
    for v in wanted.values:
        pattern = encode(v)
        i = start
        while (p := data.find(pattern, i, end)) >= 0:
            i = p + 1
            if any(data.find(k, max(start, p - NEAR), p) >= 0 for k in keys):
                return True
    return False


def encode(value: int) -> bytes:
    """``value`` as a varint; a negative int64 as ten bytes, as protobuf writes it."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag(v: int) -> int:
    """Zigzag-encode a signed int64 (sint64 fields)."""
    return (v << 1) ^ (v >> 63)


def unzigzag(v: int) -> int:
    """Zigzag-decode."""
    return (v >> 1) ^ -(v & 1)


def _varints_at(a: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varints starting at each of ``pos``: (values, positions after them)."""
    value = np.zeros(len(pos), np.uint64)
    at = pos.copy()
    live = np.ones(len(pos), bool)
    for j in range(10):
        idx = np.flatnonzero(live)
        if not len(idx):
            return value, at
        if at[idx].max() >= len(a):
            raise Corrupt("ends inside a number")
        b = a[at[idx]]
        value[idx] |= (b & 0x7F).astype(np.uint64) << np.uint64(7 * j)
        at[idx] += 1
        live[idx] = b >= 0x80
    raise Corrupt("a malformed number")


def _field_spans(
    a: np.ndarray, starts: np.ndarray, ends: np.ndarray, numbers: tuple[int, ...]
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """For every message [starts, ends), the payload span of each field in ``numbers``
    (empty when absent); None when a message has a field this walk does not expect."""
    found = {n: (starts.copy(), starts.copy()) for n in numbers}
    pos = starts.copy()
    for _ in range(16):
        live = np.flatnonzero(pos < ends)
        if not len(live):
            return [found[n] for n in numbers]
        key = a[pos[live]]
        if (key >= 0x80).any():
            return None
        wire, number = key & 7, key >> 3
        value, after = _varints_at(a, pos[live] + 1)
        step = np.where(wire == 2, value.astype(np.int64), 0)
        if ((wire != 0) & (wire != 2)).any() or (after + step > ends[live]).any():
            return None
        for n in numbers:
            m = (number == n) & (wire == 2)
            found[n][0][live[m]] = after[m]
            found[n][1][live[m]] = after[m] + step[m]
        pos[live] = after + step
    return None


def _packed_runs(a: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The packed varint runs a[s:e] of many messages: all values, and each one's message."""
    lens = e - s
    total = int(lens.sum())
    if not total:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(s)), lens)
    offset = np.cumsum(lens) - lens
    idx = np.arange(total) - np.repeat(offset, lens) + np.repeat(s, lens)
    b = np.ascontiguousarray(a[idx])
    values = uvarints(b.tobytes(), 0, total).astype(np.int64)
    last = np.flatnonzero(b < 0x80)
    if len(last) != len(values):
        raise Corrupt("a packed number runs past its field")
    return values, owner[last]


def _way(block: Block, span: tuple[int, int], wanted: Wanted, out: BlockResult) -> None:
    data = block.data
    ident = 0
    parts: dict[int, tuple[int, int]] = {}
    for number, value in _fields(data, *span):
        if number == 1:
            ident = _signed(value)
        elif isinstance(value, tuple):
            parts[number] = value
    sids = _keys_values(data, parts)
    if _match(sids, wanted.keys, wanted.values):
        refs = deltas(data, parts.get(8, (0, 0))).tolist()
        out.ways.append((ident, refs, block.tags(sids)))


# ---------------------------------------------------------------------------------------------
# The file: blocks, read with pread and dealt out to processes.


@dataclass
class Blob:
    offset: int  # of the Blob message in the file
    size: int
    kind: bytes


def blobs(fd: int, size: int) -> Iterator[Blob]:
    """Every block of the file, in order (their framing is checked by ``pbf.check_blocks``).

    Reads go through ``os.pread``: nothing of the file is mapped, so memory stays flat however
    large the input, and forked processes read side by side."""
    pos = 0
    while pos < size:
        length = int.from_bytes(os.pread(fd, 4, pos), "big")
        pos += 4
        if not 0 < length <= MAX_BLOB_HEADER:  # a flipped length must not be allocated
            raise Corrupt(f"a block header of {length} bytes")
        head = os.pread(fd, length, pos)
        if len(head) != length:
            raise Corrupt("ends inside a block header")
        kind, datasize = b"", 0
        for number, value in _fields(head, 0, length):
            if number == 1 and isinstance(value, tuple):
                kind = head[value[0] : value[1]]
            elif number == 3 and isinstance(value, int):
                datasize = value
        pos += length
        if not 0 < datasize <= MAX_BLOB:
            raise Corrupt(f"a block of {datasize} bytes")
        yield Blob(pos, datasize, kind)
        pos += datasize


def inflate(fd: int, blob: Blob) -> bytes:
    data = os.pread(fd, blob.size, blob.offset)
    if len(data) != blob.size:
        raise Corrupt("ends inside a block")
    raw = zdata = None
    raw_size = 0
    method = 0
    view = memoryview(data)
    for number, value in _fields(data, 0, len(data)):
        if number == 1:
            raw = data[value[0] : value[1]]
        elif number == 2:
            raw_size = value
        elif number in (3, 4, 5, 6, 7):
            method, zdata = number, view[value[0] : value[1]]
    if raw is not None:
        return raw
    if not 0 <= raw_size <= MAX_BLOB:  # the buffer is allocated at this size
        raise Corrupt(f"a block that claims to inflate to {raw_size} bytes")
    if zdata is None:
        raise Corrupt("a block without data")
    if method not in (3, 4):
        name = {5: "bzip2", 6: "lz4", 7: "zstd"}.get(method, f"type {method}")
        raise Unsupported(f"{name} block compression")
    try:
        if method == 3 and raw_size and _libdeflate is not None:
            # the Adler-32 is checked; a stream shorter than raw_size is caught below. The
            # loops want bytes (ctypes, hashable slices): the copy costs less than it gains
            out: bytes = bytes(_libdeflate(zdata, raw_size))
        elif method == 3:
            out = _zlib.decompress(zdata, bufsize=max(raw_size, 1))
        else:
            out = lzma.decompress(zdata)
    except (zlib.error, _zlib.error, lzma.LZMAError, _DeflateError) as exc:
        raise Corrupt(f"a block does not inflate: {exc}") from None
    if raw_size and len(out) != raw_size:
        raise Corrupt("a block inflates to another size than it says")
    return out


#: Below this size a file is scanned in one process: forking would cost more than it saves.
FORK_MIN_BYTES = 16 * 1024 * 1024


def workers(size: int) -> int:
    """How many processes scan a file of ``size`` bytes: one per core the process may use
    (at most 8), where ``os.fork`` exists; one for small files."""
    if not hasattr(os, "fork") or size < FORK_MIN_BYTES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def scan(
    path: str, *, include_speed: bool, progress: Callable[[int], None] | None = None
) -> tuple[Scan, list[bool]]:
    """Pass one: camera nodes and camera ways (with their node refs) of the file.

    Collects the pass :func:`start` began for this file, if any; otherwise runs it now
    (:func:`map_blocks`).
    """
    job = _started.pop(path, None)
    if job is not None and not job.same(path, ("pass one", include_speed)):
        job.cancel()
        job = None
    if job is None:
        job = Blocks(path, _pass_one(include_speed))
    results = job.finish(progress)
    found = Scan()
    speed: list[bool] = []
    for blob, r in results:
        if r.first_node_id is not None:
            found.node_blocks.append((blob.offset, blob.size, r.first_node_id))
        found.nodes += r.nodes
        speed += r.speed
        found.ways += r.ways
    return found, speed


class _Alike:
    """Cameras tagged alike share one tags dict (read-only from there on): each scanning
    process makes them so across its blocks, which also makes its results pickle smaller
    (pickle keeps the sharing). ``ingest.stage`` then normalises each dict once."""

    def __init__(self) -> None:
        self._by_tags: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def nodes(self, nodes: list[Node]) -> list[Node]:
        by_object: dict[int, dict[str, str]] = {}  # the dicts are alive: ids are stable
        out: list[Node] = []
        for i, la, lo, tags in nodes:
            one = by_object.get(id(tags))
            if one is None:
                one = by_object[id(tags)] = self._by_tags.setdefault(tuple(tags.items()), tags)
            out.append((i, la, lo, one))
        return out


def _pass_one(include_speed: bool) -> Callable[[bytes], BlockResult]:
    alike = _Alike()  # one per process (a forked child gets its own copy)

    def work(data: bytes) -> BlockResult:
        r = scan_block(data, include_speed)
        r.nodes = alike.nodes(r.nodes)
        return r

    return work


#: Passes begun by :func:`start`, by path, until :func:`scan` collects them.
_started: dict[str, Blocks[BlockResult]] = {}


def start(path: str, *, include_speed: bool) -> bool:
    """Begin pass one over ``path`` now, in forked processes, and return at once: the scan
    then runs while the caller imports DuckDB and opens the store, and :func:`scan` of the
    same path collects it. Only files that would be scanned by more than one process are
    started (True when this one was); a pass not collected is stopped at exit."""
    if path in _started:
        return True
    try:
        job = Blocks(path, _pass_one(include_speed), early=True, what=("pass one", include_speed))
    except (OSError, ValueError, IndexError):  # unreadable or damaged: read_file says why
        return False
    if not job.children:
        job.cancel()
        return False
    if not _started:
        atexit.register(_stop_started)
    _started[path] = job
    return True


def _stop_started() -> None:
    while _started:
        _started.popitem()[1].cancel()


def map_blocks(
    path: str,
    work: Callable[[bytes], R],
    *,
    select: Callable[[Blob], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[Blob, R]]:
    """``work(inflated block)`` for every data block of the file (or those ``select`` keeps),
    shared by ``workers()`` processes; (block, result) in file order."""
    return Blocks(path, work, select=select).finish(progress)


class Blocks(Generic[R]):
    """``work`` over the data blocks of a file, by this process and forked children.

    The children start at once. Each process takes the next block not yet taken (a counter in
    memory the processes share), inflates it and runs ``work`` on it, until none is left:
    a process that is slowed down takes fewer blocks, and this process joins in whenever it
    calls :meth:`finish`. Children send their results through a pipe. Processes, not threads:
    the scanning between the C loops holds Python's GIL.

    ``early``: made before the caller has other work to do (:func:`start`); as many children
    as ``workers()``, this process joining later. Otherwise one child fewer. ``what`` names the
    work, for :meth:`same`.
    """

    def __init__(
        self,
        path: str,
        work: Callable[[bytes], R],
        *,
        select: Callable[[Blob], bool] | None = None,
        early: bool = False,
        what: Any = None,
    ) -> None:
        self.work, self.what = work, what
        self.fd = os.open(path, os.O_RDONLY)
        self.children: list[tuple[int, int]] = []
        self.counter: _Counter | None = None
        try:
            st = os.fstat(self.fd)
            self.identity = _identity(st)
            self.blocks = [
                b for b in blobs(self.fd, st.st_size)
                if b.kind == b"OSMData" and (not select or select(b))
            ]  # fmt: skip
            self.handed = list(itertools.accumulate(b.size for b in self.blocks))
            self.skipped = st.st_size - (self.handed[-1] if self.handed else 0)
            self.counter = _Counter()
            n = workers(self.handed[-1] if self.handed else 0)
            for _ in range(n if early and n > 1 else n - 1):
                self._fork()
        except BaseException:
            self.cancel()
            raise

    def same(self, path: str, what: Any) -> bool:
        """Started on this very file (not replaced since) for the same work."""
        try:
            now = _identity(os.stat(path))
        except OSError:
            return False
        return now == self.identity and self.what == what

    def _fork(self) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            os.close(read_end)
            self._child(write_end)
        os.close(write_end)
        self.children.append((pid, read_end))

    def _take(self, progress: Callable[[int], None] | None) -> dict[int, R]:
        """Take blocks until none is left; with ``progress``, report the bytes handed out."""
        out: dict[int, R] = {}
        reported = 0
        counter = self.counter
        assert counter is not None, "taken from a pass already finished"
        while (i := counter.take()) < len(self.blocks):
            out[i] = self.work(inflate(self.fd, self.blocks[i]))
            if progress is not None:  # the bytes of the blocks handed out so far
                handed = self.handed[min(counter.peek(), len(self.blocks)) - 1]
                progress(handed - reported)
                reported = handed
        return out

    def finish(self, progress: Callable[[int], None] | None = None) -> list[tuple[Blob, R]]:
        """Join in, gather the children's results; (block, result) in file order."""
        try:
            if progress is not None:
                progress(self.skipped)  # what is not read counts as done
            results = self._take(progress)
            for _, read_end in self.children:
                with os.fdopen(os.dup(read_end), "rb") as pipe:
                    answer = pickle.load(pipe)
                if answer[0] != "ok":
                    kind = Unsupported if answer[1] == "Unsupported" else Corrupt
                    raise kind(answer[2])
                results.update(answer[1])
        finally:
            self.cancel()
        if len(results) != len(self.blocks):  # pragma: no cover - a child died unreported
            raise Corrupt("a scanning process ended without its blocks")
        return [(b, results[k]) for k, b in enumerate(self.blocks)]

    def cancel(self) -> None:
        """Stop the children (finished already, or no longer wanted) and close the file."""
        for pid, read_end in self.children:
            os.close(read_end)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        self.children = []
        if self.counter is not None:
            self.counter.close()
            self.counter = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _child(self, write_end: int) -> None:  # pragma: no cover - runs in a forked child
        """Take blocks, send the results (or the error) to the parent, and leave at once: no
        exit handlers, no buffers of the parent's flushed twice."""
        code = 0
        try:
            try:
                answer: tuple[Any, ...] = ("ok", self._take(None))
            except Exception as exc:  # sent to the parent, which raises it
                answer = ("error", type(exc).__name__, str(exc)[:200])
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(answer, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            code = 1
        finally:
            os._exit(code)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells one file from another, or from itself rewritten."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class _Counter:
    """A number in memory shared with forked children: the index of the next block to take.
    Taken with an atomic add in C; without the library, under a POSIX record lock (held per
    process, so a forked child waits for its parent)."""

    def __init__(self) -> None:
        self._memory = mmap.mmap(-1, 8)
        self._cell = ctypes.c_int64.from_buffer(self._memory)
        self._address = ctypes.addressof(self._cell)
        self._lock = None if LIB is not None else tempfile.TemporaryFile()

    def take(self) -> int:
        if LIB is not None:
            return int(LIB.cd_take(self._address))
        assert self._lock is not None
        fcntl.lockf(self._lock, fcntl.LOCK_EX)
        try:
            value = self._cell.value
            self._cell.value = value + 1
            return int(value)
        finally:
            fcntl.lockf(self._lock, fcntl.LOCK_UN)

    def peek(self) -> int:
        return int(self._cell.value)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
        del self._cell  # the memory cannot be unmapped while a ctypes view holds it
        self._memory.close()


def node_coordinates(
    path: str,
    wanted: set[int],
    node_blocks: list[tuple[int, int, int]],
    sorted_ids: bool,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[int, tuple[float, float]]:
    """Pass two: the coordinates of the nodes ``wanted`` (camera ways' refs).

    In a file sorted by id only the node blocks whose id range can hold a wanted id are read.
    """
    want = np.array(sorted(wanted), np.int64)
    keep: set[int] | None = None
    if sorted_ids and node_blocks:
        firsts = [b[2] for b in node_blocks]
        keep = set()
        for ident in want.tolist():
            k = bisect.bisect_right(firsts, ident) - 1
            if k >= 0:
                keep.add(node_blocks[k][0])
    coords: dict[int, tuple[float, float]] = {}

    def work(data: bytes) -> list[tuple[int, float, float]]:
        block = Block(data)
        got: list[tuple[int, float, float]] = []
        for start, end in block.groups:
            for number, span in _fields(data, start, end):
                if number == 2:
                    parts = {n: v for n, v in _fields(data, *span) if n in (1, 8, 9)}
                    ids = deltas(data, parts.get(1, (0, 0)))
                    hit = np.flatnonzero(np.isin(ids, want))
                    if len(hit):
                        lat = block.lat(deltas(data, parts.get(8, (0, 0)))[hit])
                        lon = block.lon(deltas(data, parts.get(9, (0, 0)))[hit])
                        got += zip(ids[hit].tolist(), lat.tolist(), lon.tolist(), strict=True)
                elif number == 1:
                    fields = dict(_fields(data, *span))
                    ident = _zigzag(fields.get(1, 0))
                    if ident in wanted:
                        la, lo = _zigzag(fields.get(8, 0)), _zigzag(fields.get(9, 0))
                        got.append((ident, float(block.lat(np.array([la]))[0]),
                                    float(block.lon(np.array([lo]))[0])))  # fmt: skip
        return got

    def select(blob: Blob) -> bool:
        return keep is None or blob.offset in keep

    for _, got in map_blocks(path, work, select=select, progress=progress):
        for ident, la, lo in got:
            coords.setdefault(ident, (la, lo))
    return coords


def _zigzag(v: Any) -> int:
    """Zigzag-decode a field read by ``_fields``, which must be a varint."""
    if not isinstance(v, int):
        raise Corrupt("a malformed node")
    return unzigzag(v)
