"""Hostile OSM files: compression bombs, sizes that lie, XML entities, unsupported codecs.

The bombs inflate to gigabytes from a few megabytes without compressing gigabytes here: a
deflate stream is one compressed chunk repeated (each chunk ends in a full flush, so it
refers to nothing before it), with checksums computed over what it inflates to; bzip2 and
xz streams are concatenated (both formats allow it, and pbzip2 and pixz write files so).
A zstd frame is written by hand (raw and RLE blocks). Everything is written by test code
only (:mod:`tests.robustness.pbfcodec`), never by the reader under test.

    python -m tests.robustness.bombs   # what this machine's pyosmium does with each file
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.conftest import MUNICH
from tests.robustness.pbfcodec import blobs, field, make_blob

GiB = 1 << 30
MiB = 1 << 20
#: The PBF format's limit on what one block inflates to.
MAX_BLOCK = 32 * MiB
#: How much the bombs inflate to.
BOMB = 4 * GiB
_CHUNK = 16 * MiB


@dataclass
class Deflated:
    """A raw deflate stream and what it inflates to: size, CRC-32 and Adler-32."""

    raw: bytes
    size: int
    crc: int
    adler: int

    def zlib(self) -> bytes:
        return b"\x78\x9c" + self.raw + self.adler.to_bytes(4, "big")

    def gzip(self) -> bytes:
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # no name, no mtime, Unix
        return header + self.raw + struct.pack("<II", self.crc, self.size & 0xFFFFFFFF)


def _gf2_times(matrix: list[int], vector: int) -> int:
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from those of A and B (``len2``: B's length), as zlib's
    ``crc32_combine``: A's CRC carried through len2 zero bytes (the operator squared from one
    zero bit), then B's."""
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = [_gf2_times(odd, v) for v in odd]  # two
    odd = [_gf2_times(even, v) for v in even]  # four
    while len2:
        even = [_gf2_times(odd, v) for v in odd]  # the next power of two zero bits, as bytes
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = [_gf2_times(even, v) for v in even]
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
    return crc1 ^ crc2


def _adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """The Adler-32 of A + B from those of A and B, as zlib's ``adler32_combine``."""
    base = 65521
    a = ((adler1 & 0xFFFF) + (adler2 & 0xFFFF) - 1) % base
    b = ((adler1 >> 16) + (adler2 >> 16) + len2 % base * (adler1 & 0xFFFF) - len2 % base) % base
    return a | b << 16


def _repeated(one: int, length: int, times: int, combine: Callable[[int, int, int], int]) -> int:
    """The checksum of ``times`` (at least 1) copies of ``length`` bytes whose checksum is
    ``one``: powers of two of copies combined, not gigabytes summed."""
    out: int | None = None
    while True:
        if times & 1:
            out = one if out is None else combine(out, one, length)
        times >>= 1
        if not times:
            assert out is not None
            return out
        one, length = combine(one, one, length), 2 * length


def deflate(*parts: tuple[bytes, int]) -> Deflated:
    """Each ``(data, times)``: ``data`` compressed once and repeated ``times`` times."""
    raw, size, crc, adler = bytearray(), 0, 0, 1
    for data, times in parts:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        piece = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
        raw += piece * times
        size += len(data) * times
        n = len(data) * times
        crc = _crc32_combine(crc, _repeated(zlib.crc32(data), len(data), times, _crc32_combine), n)
        rep = _repeated(zlib.adler32(data), len(data), times, _adler32_combine)
        adler = _adler32_combine(adler, rep, n)
    raw += b"\x03\x00"  # an empty final block
    return Deflated(bytes(raw), size, crc, adler)


def fill(byte: bytes, total: int = BOMB) -> list[tuple[bytes, int]]:
    """``total`` bytes of ``byte`` as :func:`deflate` parts."""
    parts = [(byte * _CHUNK, total // _CHUNK)]
    if total % _CHUNK:
        parts.append((byte * (total % _CHUNK), 1))
    return parts


def bzip2_fill(byte: bytes, total: int = BOMB) -> bytes:
    """bzip2 streams, concatenated, that inflate to ``total`` bytes of ``byte``."""
    step = 64 * MiB
    assert total % step == 0
    return _bzip2_step(byte, step) * (total // step)


@cache
def _bzip2_step(byte: bytes, step: int) -> bytes:
    return bz2.compress(byte * step, 9)


@cache
def xz_fill(byte: bytes, total: int = BOMB) -> bytes:
    """xz streams, concatenated, that inflate to ``total`` bytes of ``byte``."""
    step = 256 * MiB
    assert total % step == 0
    c = lzma.LZMACompressor(lzma.FORMAT_XZ, preset=0)
    one = b"".join(c.compress(byte * _CHUNK) for _ in range(step // _CHUNK)) + c.flush()
    return one * (total // step)


def zstd_frame(data: bytes, *, rle: int = 0) -> bytes:
    """A zstd frame holding ``data`` in raw blocks, or ``rle`` zero bytes in RLE blocks."""
    size = rle or len(data)
    out = bytearray(struct.pack("<IB", 0xFD2FB528, 0xE0) + size.to_bytes(8, "little"))
    step = 128 * 1024
    left = size
    pos = 0
    while True:
        n = min(step, left)
        last = int(n == left)
        if rle:
            out += (last | 1 << 1 | n << 3).to_bytes(3, "little") + b"\0"
        else:
            out += (last | n << 3).to_bytes(3, "little") + data[pos : pos + n]
        pos, left = pos + n, left - n
        if last:
            return bytes(out)


def lz4_literals(data: bytes) -> bytes:
    """An LZ4 block (the format a PBF lz4_data field holds) of literals only."""
    n = len(data)
    if n < 15:
        return bytes([n << 4]) + data
    rest = n - 15
    return b"\xf0" + b"\xff" * (rest // 255) + bytes([rest % 255]) + data


# ------------------------------------------------------------------------------ files
#: The reader's words for a file it cannot read (mapper.sources.osm.reading, _guard).
CORRUPT = "truncated or corrupt OSM file"
BOMB_REFUSED = "refused as a compression bomb"
#: The reader's words for content that is not OSM data (its first inflated bytes are looked at).
NOT_OSM = "not an OSM file"


@dataclass
class Hostile:
    """One hostile file: its name (with the suffix a user would give it), its bytes, and what
    ``camdensity ingest`` must do with it: fail with an ``Error:`` line holding ``fragment``,
    or (``cameras`` set) read it, storing that many cameras."""

    name: str
    content: Callable[[], bytes]
    what: str
    fragment: str = ""
    cameras: int | None = None


@cache
def _munich() -> tuple[bytes, bytes, bytes, bytes]:
    """The Munich PBF split around its first data block: before, block, after, whole."""
    data = MUNICH.read_bytes()
    first = blobs(data)[1]
    return (data[: first.offset], first.block, data[first.offset + len(first.raw) :], data)


def _pbf_with_first(raw: bytes) -> bytes:
    before, _, after, _ = _munich()
    return before + raw + after


@cache
def munich_xml() -> bytes:
    """The Munich extract as OSM XML, written by pyosmium."""
    import tempfile

    import osmium

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "munich.osm"
        with osmium.SimpleWriter(str(out)) as w:
            for obj in osmium.FileProcessor(str(MUNICH)):
                w.add(obj)
        return out.read_bytes()


@cache
def munich_xml_gz() -> bytes:
    return gzip.compress(munich_xml())


@cache
def munich_xml_bz2() -> bytes:
    return bz2.compress(munich_xml())


@cache
def _zeros() -> Deflated:
    return deflate(*fill(b"\0"))


def _zstd_zeros() -> bytes:
    return zstd_frame(b"", rle=BOMB)


@cache
def _xz_zeros() -> bytes:
    return xz_fill(b"\0")


def pbf_compressed_with(method: str) -> bytes:
    """The Munich PBF with every data block recompressed by ``method`` ('lz4' or 'zstd'),
    written by hand (literal-only LZ4 blocks, raw zstd blocks)."""
    data = _munich()[3]
    bs = blobs(data)
    out = bytearray(bs[0].raw)
    for b in bs[1:]:
        payload = lz4_literals(b.block) if method == "lz4" else zstd_frame(b.block)
        out += make_blob(b.kind, b.block, compressed=payload, method=method)
    return bytes(out)


def pbf_written_with_lz4() -> bytes:
    """The Munich PBF rewritten by libosmium itself with lz4 blocks."""
    import tempfile

    import osmium
    import osmium.io

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "munich-lz4.osm.pbf"
        with osmium.SimpleWriter(osmium.io.File(str(out), "pbf,pbf_compression=lz4")) as w:
            for obj in osmium.FileProcessor(str(MUNICH)):
                w.add(obj)
        return out.read_bytes()


def padded_blocks(count: int = 200) -> bytes:
    """The Munich PBF with ``count`` data blocks inserted that each inflate to 32 MiB of a
    string table (one long string of spaces): 6 MB that libosmium inflates to 6 GiB."""
    block = field(1, field(1, b"") + field(1, b" " * (MAX_BLOCK - 80)))
    raw = make_blob("OSMData", block, compressed=deflate((block, 1)).zlib())
    before, _, _, data = _munich()
    return before + raw * count + data[len(before) :]


_XML_HEAD = b"<?xml version='1.0' encoding='UTF-8'?>\n"
_NODE = (
    b'<node id="1" version="1" timestamp="2020-07-20T00:00:00Z" lat="48.137" lon="11.575">'
    b'<tag k="man_made" v="surveillance"/><tag k="note" v="%s"/></node>'
)


def _doc(doctype: bytes, value: bytes) -> bytes:
    return (_XML_HEAD + doctype + b'\n<osm version="0.6" generator="hostile">\n'
            + _NODE % value + b"\n</osm>\n")  # fmt: skip


def billion_laughs() -> bytes:
    ents = [b'<!ENTITY lol0 "lol">']
    ents += [b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)]
    return _doc(b"<!DOCTYPE osm [\n" + b"\n".join(ents) + b"\n]>", b"&lol9;")


def external_entity() -> bytes:
    return _doc(b'<!DOCTYPE osm [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;")


def parameter_entity() -> bytes:
    return _doc(b'<!DOCTYPE osm [<!ENTITY % pe SYSTEM "file:///etc/passwd"> %pe;]>', b"x")


def external_dtd() -> bytes:
    """An external DTD that might declare the entity used: expat does not load it, and
    libosmium reads the node with the reference left out."""
    return _doc(b'<!DOCTYPE osm SYSTEM "file:///etc/passwd">', b"&xxe;")


_OSM_OPEN = _XML_HEAD + b'<osm version="0.6" generator="hostile">\n'
MUNICH_CAMERAS = 209


def hostile_files() -> list[Hostile]:
    """Every hostile file, each built when asked for (the bombs take a second or two)."""
    before, block, _, data = _munich()

    def pbf_blob(**kw: object) -> Callable[[], bytes]:
        """The Munich PBF with its first data block rewritten (a callable value in ``kw`` is
        called when the file is built)."""

        def build() -> bytes:
            args = {k: v() if callable(v) else v for k, v in kw.items()}
            return _pbf_with_first(make_blob("OSMData", block, **args))  # type: ignore[arg-type]

        return build

    xml = munich_xml
    raw_size = "without its size (raw_size)"
    return [
        # PBF: compressed blobs without raw_size, lzma, sizes that lie or pass the limits.
        Hostile("pbf-zlib-bomb-no-raw-size.osm.pbf",
                pbf_blob(compressed=lambda: _zeros().zlib(), omit_raw_size=True),
                "a zlib blob without raw_size that inflates to 4 GiB", raw_size),
        Hostile("pbf-zlib-no-raw-size.osm.pbf", pbf_blob(omit_raw_size=True),
                "a real block, zlib, without raw_size", raw_size),
        Hostile("pbf-lzma-bomb-no-raw-size.osm.pbf",
                pbf_blob(compressed=_xz_zeros, method="lzma", omit_raw_size=True),
                "an lzma (xz) blob without raw_size, inflating to 4 GiB", "compressed with lzma"),
        Hostile("pbf-lzma-bomb-raw-size-32mib.osm.pbf",
                pbf_blob(compressed=_xz_zeros, method="lzma", raw_size=32 * MiB),
                "an lzma (xz) blob that says 32 MiB and inflates to 4 GiB", "compressed with lzma"),
        Hostile("pbf-lzma-real-block.osm.pbf",
                pbf_blob(compressed=lzma.compress(block), method="lzma"),
                "a real block, lzma (xz), raw_size right", "compressed with lzma"),
        Hostile("pbf-zlib-bomb-raw-size-small.osm.pbf",
                pbf_blob(compressed=lambda: _zeros().zlib(), raw_size=len(block)),
                "raw_size says the real block's size, the stream inflates to 4 GiB", CORRUPT),
        Hostile("pbf-zlib-bomb-raw-size-32mib.osm.pbf",
                pbf_blob(compressed=lambda: _zeros().zlib(), raw_size=32 * MiB),
                "raw_size says 32 MiB (the limit), the stream inflates to 4 GiB", CORRUPT),
        Hostile("pbf-raw-size-half.osm.pbf", pbf_blob(raw_size=len(block) // 2),
                "a real block whose raw_size is half its size", CORRUPT),
        Hostile("pbf-raw-size-double.osm.pbf", pbf_blob(raw_size=len(block) * 2),
                "a real block whose raw_size is twice its size", CORRUPT),
        Hostile("pbf-raw-size-2gb.osm.pbf", pbf_blob(raw_size=2**31 - 1),
                "a real block whose raw_size says 2 GB", CORRUPT),
        Hostile("pbf-datasize-2gb.osm.pbf", pbf_blob(datasize=2**31 - 1),
                "a blob header that says its blob is 2 GB", CORRUPT),
        Hostile("pbf-header-length-2gb.osm.pbf",
                lambda: before + b"\x7f\xff\xff\xff" + data[len(before) + 4 :],
                "a blob-header length of 2 GB", CORRUPT),
        Hostile("pbf-raw-blob-33mib.osm.pbf",
                pbf_blob(compressed=bytes(33 * MiB), method="raw"),
                "an uncompressed blob of 33 MiB (over the format's 32 MiB)", CORRUPT),
        Hostile("pbf-padded-blocks.osm.pbf", padded_blocks,
                "200 blocks of 32 KiB, each inflating to 32 MiB of valid padding", BOMB_REFUSED),
        Hostile("pbf-truncated.osm.pbf", lambda: data[: len(data) // 2],
                "the Munich PBF cut in half", CORRUPT),
        # PBF: compressions this libosmium reads (lz4) and does not (zstd).
        Hostile("pbf-lz4.osm.pbf", lambda: pbf_compressed_with("lz4"),
                "every data block lz4 (literals), valid", cameras=MUNICH_CAMERAS),
        Hostile("pbf-lz4-libosmium.osm.pbf", pbf_written_with_lz4,
                "the Munich PBF as libosmium writes it with lz4", cameras=MUNICH_CAMERAS),
        Hostile("pbf-lz4-raw-size-small.osm.pbf",
                pbf_blob(compressed=lz4_literals(block), method="lz4", raw_size=len(block) // 2),
                "an lz4 block whose raw_size is half its size", CORRUPT),
        Hostile("pbf-zstd.osm.pbf", lambda: pbf_compressed_with("zstd"),
                "every data block zstd (raw blocks), valid zstd", "compressed with zstd"),
        Hostile("pbf-zstd-bomb.osm.pbf",
                pbf_blob(compressed=_zstd_zeros, method="zstd", raw_size=len(block)),
                "a zstd blob (RLE blocks) that inflates to 4 GiB", "compressed with zstd"),
        # OSM XML: entities.
        Hostile("xml-billion-laughs.osm", billion_laughs, "nested entity expansion",
                "declares entities"),
        Hostile("xml-external-entity.osm", external_entity, "an external general entity",
                "declares entities"),
        Hostile("xml-parameter-entity.osm", parameter_entity, "an external parameter entity",
                "declares entities"),
        Hostile("xml-external-dtd.osm", external_dtd, "an external DTD, an entity from it",
                cameras=1),
        Hostile("xml-truncated.osm", lambda: _cut(xml(), 0.5), "the Munich XML cut in half",
                CORRUPT),
        # Compressed XML: bombs and truncation.
        Hostile("gz-zeros.osm.gz", lambda: _zeros().gzip(), "gzip of 4 GiB of zeros",
                NOT_OSM),
        Hostile("gz-xml-then-whitespace.osm.gz",
                lambda: deflate((xml(), 1), *fill(b" ")).gzip(),
                "the Munich XML, then 4 GiB of spaces", BOMB_REFUSED),
        Hostile("gz-whitespace-inside.osm.gz",
                lambda: deflate((_OSM_OPEN, 1), *fill(b" "), (b"</osm>\n", 1)).gzip(),
                "<osm>, 4 GiB of spaces, </osm>: well-formed", BOMB_REFUSED),
        Hostile("gz-second-stream-bomb.osm.gz",
                lambda: munich_xml_gz() + _zeros().gzip(),
                "the Munich XML gzipped, then a second gzip stream of 4 GiB", BOMB_REFUSED),
        Hostile("gz-truncated.osm.gz", lambda: _cut(munich_xml_gz(), 0.5),
                "the Munich XML gzipped, cut in half", CORRUPT),
        Hostile("gz-no-trailer.osm.gz", lambda: munich_xml_gz()[:-8],
                "the Munich XML gzipped, without its 8-byte trailer", CORRUPT),
        Hostile("bz2-zeros.osm.bz2", lambda: bzip2_fill(b"\0"), "bzip2 of 4 GiB of zeros",
                NOT_OSM),
        Hostile("bz2-xml-then-whitespace.osm.bz2",
                lambda: munich_xml_bz2() + bzip2_fill(b" "),
                "the Munich XML, then 4 GiB of spaces (concatenated streams)", BOMB_REFUSED),
        Hostile("bz2-truncated.osm.bz2", lambda: _cut(munich_xml_bz2(), 0.5),
                "the Munich XML bzipped, cut in half", CORRUPT),
    ]  # fmt: skip


def _cut(data: bytes, at: float) -> bytes:
    return data[: int(len(data) * at)]


# ---------------------------------------------------------------------------- probe
_PROBE = r"""
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
import osmium, osmium.filter, osmium.io
path, fmt = sys.argv[1], sys.argv[2]
t = time.monotonic()
n = 0
try:
    with osmium.io.Reader(osmium.io.File(path, fmt), osmium.osm.NOTHING) as r:
        r.header()
    fp = osmium.FileProcessor(osmium.io.File(path, fmt), osmium.osm.NODE | osmium.osm.WAY)
    for o in fp.with_filter(osmium.filter.KeyFilter("man_made")):
        n += 1
    print(f"ok: {n} elements")
except BaseException as e:
    print(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:160])
"""


#: Runs a command and writes its exit code, wall time and peak RSS (``wait4``) as JSON to
#: argv[1]. A small process of its own: a child's ``ru_maxrss`` starts from the RSS of the
#: process that forked it (Linux carries it over ``exec``), so the tests' own large
#: interpreter must not be that process. argv[3], when not 0, is the child's CPU limit in
#: seconds (RLIMIT_CPU: killed by SIGXCPU past it, however loaded the machine).
_LAUNCHER = r"""
import json, os, resource, signal, subprocess, sys, time
report, timeout, cpu, argv = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
limit = (lambda: resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))) if cpu else None
start = time.monotonic()
p = subprocess.Popen(argv, preexec_fn=limit)
killed = False
while True:
    done, status, usage = os.wait4(p.pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() - start > timeout:
        os.kill(p.pid, signal.SIGKILL)
        killed = True
        _, status, usage = os.wait4(p.pid, 0)
        break
    time.sleep(0.005)
p.returncode = 0
with open(report, "w") as f:
    json.dump({"code": None if killed or not os.WIFEXITED(status) else os.WEXITSTATUS(status),
               "seconds": time.monotonic() - start, "cpu": usage.ru_utime + usage.ru_stime,
               "rss_mb": usage.ru_maxrss / 1024}, f)
"""


@dataclass
class Measured:
    code: int | None  # None: killed after the time limit, or by a signal
    seconds: float  # wall time
    cpu: float  # user + system time, of every thread
    rss_mb: float  # peak resident set size
    stdout: str
    stderr: str


def run_measured(
    argv: list[str], timeout: float, cwd: Path | None = None, cpu_limit: int = 0
) -> Measured:
    """Run ``argv`` in a fresh process (through a small launcher): exit code, wall time, peak
    RSS, output. Killed after ``timeout`` seconds, or (``cpu_limit``) after that many seconds
    of CPU time."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        p = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(report), str(timeout), str(cpu_limit), *argv],
            capture_output=True, cwd=cwd, timeout=timeout + 60, check=False,
        )  # fmt: skip
        r = json.loads(report.read_text())
    return Measured(r["code"], r["seconds"], r["cpu"], r["rss_mb"],
                    p.stdout.decode("utf-8", "replace"),
                    p.stderr.decode("utf-8", "replace"))  # fmt: skip


def probe(folder: Path, timeout: float = 120) -> None:
    """Each hostile file through bare pyosmium, in a fresh process: time, peak RSS, outcome."""
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    for h in hostile_files():
        if len(sys.argv) > 2 and not any(a in h.name for a in sys.argv[2:]):
            continue
        path = folder / h.name
        if not path.exists():
            path.write_bytes(h.content())
        fmt = "pbf" if h.name.endswith(".pbf") else "osm" + h.name.split(".osm")[1]
        m = run_measured([sys.executable, "-c", _PROBE, str(path), fmt], timeout)
        out = (m.stdout + m.stderr).strip()
        if m.code is None:
            out = f"killed after {m.seconds:.0f} s " + out
        print(f"{h.name:38} {path.stat().st_size / MiB:7.2f} MiB {m.seconds:6.2f} s "
              f"({m.cpu:5.2f} s CPU) "
              f"{m.rss_mb:6.0f} MB  {out[:160]}", flush=True)  # fmt: skip


if __name__ == "__main__":
    import sys

    probe(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hostile"))
