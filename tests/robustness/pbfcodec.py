"""Just enough protobuf to take a PBF apart and put it back together (for the corpus).

Self-contained on purpose: the tests write hostile files with it, so it must not share code
with any reader under test.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

#: Blob fields (fileformat.proto): the payload field for each compression.
BLOB_FIELD = {"raw": 1, "zlib": 3, "lzma": 4, "bzip2": 5, "lz4": 6, "zstd": 7}


def varint(buf: bytes, i: int) -> tuple[int, int]:
    """The varint at ``buf[i]``: its value and the position after it."""
    value = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("ends inside a varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("a malformed varint")


def enc(value: int) -> bytes:
    """``value`` as a varint; a negative int64 as ten bytes, as protobuf writes it."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zz(v: int) -> int:
    """Zigzag-encode a signed int64 (sint64 fields)."""
    return (v << 1) ^ (v >> 63)


def unzz(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


Field = tuple[int, int, "int | bytes"]  # (number, wire type, value or payload)


def fields(buf: bytes) -> Iterator[Field]:
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            length, pos = varint(buf, pos)
            value, pos = bytes(buf[pos : pos + length]), pos + length
        elif wire == 1:
            value, pos = bytes(buf[pos : pos + 8]), pos + 8
        elif wire == 5:
            value, pos = bytes(buf[pos : pos + 4]), pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return enc(number << 3 | 2) + enc(len(value)) + value
    return enc(number << 3) + enc(value)


def message(parts: list[Field]) -> bytes:
    out = bytearray()
    for number, wire, value in parts:
        if wire == 0:
            assert isinstance(value, int)
            out += field(number, value)
        elif wire == 2:
            assert isinstance(value, bytes)
            out += field(number, value)
        else:
            assert isinstance(value, bytes)
            out += enc(number << 3 | wire) + value
    return bytes(out)


def packed(values: list[int], signed: bool = True) -> bytes:
    return b"".join(enc(zz(v) if signed else v) for v in values)


def unpacked(buf: bytes, signed: bool = True) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        v, pos = varint(buf, pos)
        out.append(unzz(v) if signed else v)
    return out


@dataclass
class Blob:
    """One fileblock: its type, its uncompressed block, and the raw bytes it was read from."""

    offset: int
    kind: str
    raw: bytes

    @property
    def block(self) -> bytes:
        header_len = int.from_bytes(self.raw[:4], "big")
        for number, _, value in fields(self.raw[4 + header_len :]):
            if number == 1 and isinstance(value, bytes):
                return value
            if number == 3 and isinstance(value, bytes):
                return zlib.decompress(value)
        raise ValueError("blob without raw or zlib data")


def blobs(data: bytes) -> list[Blob]:
    out, pos = [], 0
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        header = data[pos + 4 : pos + 4 + n]
        kind, size = "", 0
        for number, _, value in fields(header):
            if number == 1 and isinstance(value, bytes):
                kind = value.decode()
            elif number == 3 and isinstance(value, int):
                size = value
        end = pos + 4 + n + size
        out.append(Blob(pos, kind, data[pos:end]))
        pos = end
    return out


def make_blob(
    kind: str, block: bytes, *, raw_size: int | None = None, compressed: bytes | None = None,
    datasize: int | None = None, method: str = "zlib", omit_raw_size: bool = False,
) -> bytes:  # fmt: skip
    """A fileblock; ``raw_size``, ``compressed`` and ``datasize`` may lie.

    ``method`` names the Blob field the payload goes in (:data:`BLOB_FIELD`); without
    ``compressed`` the block is zlib-compressed (``method="zlib"``) or stored (``"raw"``).
    ``omit_raw_size`` leaves the raw_size field out, as no conforming writer does.
    """
    if compressed is not None:
        data = compressed
    elif method == "raw":
        data = block
    elif method == "zlib":
        data = zlib.compress(block, 6)
    else:
        raise ValueError(f"give the {method} payload as compressed=")
    blob = b""
    if method != "raw" and not omit_raw_size:
        blob += field(2, len(block) if raw_size is None else raw_size)
    blob += field(BLOB_FIELD[method], data)
    header = field(1, kind.encode()) + field(3, len(blob) if datasize is None else datasize)
    return len(header).to_bytes(4, "big") + header + blob
