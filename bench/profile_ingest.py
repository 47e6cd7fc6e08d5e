"""Where ``camdensity ingest`` spends its time on one PBF, phase by phase (not run by make bench).

    .venv/bin/python bench/profile_ingest.py bench/data/munich_x10.osm.pbf

Each phase calls the same library functions that ``ingest`` calls, in the same order, and is
timed on its own (wall and process CPU, which includes DuckDB's threads); the peak RSS after
each phase is the process's high-water mark so far. For a sampled profile of the real command
with native frames (DuckDB, libosmium, zlib):

    bench/.venv-peers/bin/py-spy record --native -o ingest.svg -- \\
        .venv/bin/camdensity ingest --quiet --db /tmp/p.duckdb FILE
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _phase(label: str, f: Callable[[], Any], log: list[dict[str, Any]]) -> Any:
    c0, t0 = time.process_time(), time.perf_counter()
    out = f()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log.append({"phase": label, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "rss_mb": rss})
    print(f"{label:52s} {wall:7.2f} s wall {cpu:7.2f} s cpu  peak RSS {rss:6.0f} MB", flush=True)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    path = argv[0]
    log: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mapper.cli"],
        capture_output=True,
        text=True,
    )
    total_us = max(int(line.split("|")[1]) for line in done.stderr.splitlines()[1:])
    print(f"{'import mapper.cli (fresh process, -X importtime)':52s} {total_us / 1e6:7.2f} s")

    import duckdb

    from mapper.ingest import stage, write_extract
    from mapper.sources import pbf, pbf_scan, read_file, sha256_of
    from mapper.store import open_store, transaction

    digest = _phase(
        "sha256 of the file (ingest: a thread, beside imports)", lambda: sha256_of(Path(path)), log
    )
    _phase("check_blocks (framing, sizes)", lambda: pbf.check_blocks(path), log)
    _phase("PBF header", lambda: pbf._header(path), log)
    fd = os.open(path, os.O_RDONLY)
    try:
        blobs = [b for b in pbf_scan.blobs(fd, os.fstat(fd).st_size) if b.kind == b"OSMData"]
        blocks = _phase(
            f"inflate all {len(blobs):,} blocks, one thread",
            lambda: [pbf_scan.inflate(fd, b) for b in blobs],
            log,
        )
    finally:
        os.close(fd)
    _phase(
        "scan_block on every inflated block, one thread",
        lambda: [pbf_scan.scan_block(d, False) for d in blocks],
        log,
    )
    blocks.clear()  # free them before the next phase
    _phase(
        "pbf_scan.scan: both, in forked processes (CPU: parent only)",
        lambda: pbf_scan.scan(path, include_speed=False),
        log,
    )
    ex = _phase(
        "read_file (all of the reading, as ingest)", lambda: read_file(path, digest=digest), log
    )

    def staged() -> None:
        con = duckdb.connect(":memory:")
        try:
            stage(con, ex)
        finally:
            con.close()

    _phase(f"stage: normalise {len(ex.elements):,} cameras, into DuckDB", staged, log)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "p.duckdb")

        def write() -> None:
            with open_store(db, write=True) as store, transaction(store):
                write_extract(store, ex)

        _phase("open a new store, write_extract, commit", write, log)
    print(f"{'total in this process':52s} {time.perf_counter() - t0:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
