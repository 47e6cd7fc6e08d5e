"""Issue 9, part 1: every reader against malformed files made from the shipped samples
(issue 14: OSM files, PBF and XML, are all read by libosmium behind mapper.sources._guard;
the hostile files of tests/robustness/bombs.py are in the PBF and XML corpora; the
``pbf-sparse`` corpus is read through the block pre-filter, mapper.sources._blocks).

Each corpus file runs in its own process (a child forked by :mod:`tests.robustness.forkrun`,
so the imports are paid once), on its own copy of a store. A damaged file must give exactly
one ``Error:`` line, exit 1, print no traceback, stay under 1 GB of peak memory and its CPU
time limit, and leave the store byte for byte as it was. A file whose damage still leaves valid
data must be read: the right number of cameras stored, the right number of elements rejected
and counted in a warning.

The damaged files run in the fast suite; the valid ones (each a full ingest) are ``slow``.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import ROOT, digest
from tests.robustness import corpus
from tests.robustness.corpus import Case
from tests.robustness.forkrun import batch

MAX_RSS_MB = 1024
CPU_SECONDS = 60  # of CPU time per file: a run past it is killed (SIGXCPU)
HANG_SECONDS = 600  # of wall time per file, only against a hang: it depends on the load

#: The command for each format; FILE is the corpus file.
COMMANDS: dict[str, list[str]] = {
    "pbf": ["ingest", "-q", "FILE"],
    "pbf-sparse": ["ingest", "-q", "FILE"],
    "xml": ["ingest", "-q", "FILE"],
    "overpass": ["ingest", "-q", "FILE"],
    "geojson": ["ingest", "-q", "FILE"],
    "boundary": ["area", "add", "Fuzzed", "--boundary", "FILE"],
    "pbf-areas": ["area", "from-pbf", "FILE"],
    "config": ["site", "-q", "--tiles", "none", "--config", "FILE", "--out", "OUT"],
}


class Corpora(dict[str, list[Case]]):
    """Each format's corpus, built on first use (the XML one, with its gzip and bzip2
    copies of the Munich extract, takes most of the time)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, fmt: str) -> list[Case]:
        folder = self.root / fmt
        if fmt == "config":
            bad_pbf = next(c.path for c in self["pbf"] if c.name == "truncated-50000")
            bad_boundary = next(c.path for c in self["boundary"] if c.name == "truncated-700")
            cases = corpus.config_corpus(folder, bad_pbf, bad_boundary)
        else:
            build = {
                "pbf": corpus.pbf_corpus, "pbf-sparse": corpus.sparse_corpus,
                "xml": corpus.xml_corpus, "overpass": corpus.overpass_corpus,
                "geojson": corpus.geojson_corpus, "boundary": corpus.boundary_corpus,
            }[fmt]  # fmt: skip
            cases = build(folder)
        self[fmt] = cases
        return cases

    def every(self) -> dict[str, list[Case]]:
        return {fmt: self[fmt] for fmt in FORMATS}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> Corpora:
    return Corpora(tmp_path_factory.mktemp("corpus"))


def _stored(db: Path, case: Case) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT s.cameras, s.rejected, "
            "(SELECT count(*) FROM cameras c WHERE c.source_id = s.id) "
            "FROM sources s WHERE s.path = ?",
            [str(case.path)],
        ).fetchone()
    finally:
        con.close()
    assert row is not None, f"{case.name}: no source recorded"
    return {"cameras": row[0], "rejected": row[1], "rows": row[2]}


def _problems(case: Case, r: dict[str, Any], db: Path, before: str | None) -> list[str]:
    """Everything wrong with one run, as readable lines (empty: the run is right)."""
    bad: list[str] = []
    lines = [line for line in r["stderr"].splitlines() if line.strip()]
    if r["signal"] == signal.SIGXCPU:
        bad.append(f"more than {CPU_SECONDS} s of CPU time")
    elif r["signal"] is not None:
        bad.append(f"killed by signal {r['signal']}")
    if r["timed_out"]:
        bad.append(f"still running after {HANG_SECONDS} s")
    if r["max_rss_mb"] >= MAX_RSS_MB:
        bad.append(f"peak memory {r['max_rss_mb']} MB")
    if "Traceback" in r["stderr"]:
        bad.append("printed a traceback")
    if db.with_name(db.name + ".wal").exists():
        bad.append("left a write-ahead log beside the store")
    if case.expect == "error":
        if r["code"] != 1:
            bad.append(f"exit code {r['code']}, expected 1")
        if len(lines) != 1 or not lines[0].startswith("Error: "):
            bad.append(f"stderr is not one Error: line: {lines[:3]}")
        elif case.fragment not in lines[0]:
            bad.append(f"'{case.fragment}' not in {lines[0]!r}")
        if digest(db) != before:
            bad.append("the store changed")
        return bad
    if r["code"] != 0:
        bad.append(f"exit code {r['code']}, expected 0: {lines[:3]}")
        return bad
    if any(line.startswith("Error:") for line in lines):
        bad.append(f"an Error: line on success: {lines[:3]}")
    warnings = [line for line in lines if line.startswith("Warning: ")]
    if len(warnings) != len(lines):
        bad.append(f"stderr holds more than warnings: {lines[:3]}")
    if case.warning and not any(case.warning in w for w in warnings):
        bad.append(f"no warning with '{case.warning}': {warnings}")
    if case.cameras is None:  # an area
        if "Fuzzed" not in _areas(db):
            bad.append("the area was not stored")
        return bad
    got = _stored(db, case)
    if (got["cameras"], got["rows"]) != (case.cameras, case.cameras):
        bad.append(f"{got['cameras']} cameras read, {got['rows']} stored; expected {case.cameras}")
    if got["rejected"] != case.rejected:
        bad.append(f"{got['rejected']} elements rejected, expected {case.rejected}")
    counted = f"{case.rejected} element(s) rejected"
    if case.rejected and not any(counted in w for w in warnings):
        bad.append(f"no warning counting '{counted}': {warnings}")
    if not case.rejected and any("rejected" in w for w in warnings):
        bad.append(f"a rejection warning for a clean file: {warnings}")
    return bad


def _areas(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT name FROM areas").fetchall()}
    finally:
        con.close()


def _run_corpus(
    fmt: str, cases: list[Case], seed: Path, tmp: Path, select: Callable[[Case], bool]
) -> None:
    chosen = [c for c in cases if select(c)]
    assert chosen, fmt
    jobs, dbs, before = [], [], []
    for i, c in enumerate(chosen):
        db = tmp / f"{i}-{c.name}.duckdb"
        shutil.copy(seed, db)
        dbs.append(db)
        before.append(digest(db))
        args = [str(c.ensure()) if a == "FILE" else a for a in COMMANDS[fmt]]
        args = [str(tmp / f"site-{i}") if a == "OUT" else a for a in args]
        jobs.append({"args": [*args, "--db", str(db)], "timeout": HANG_SECONDS,
                     "cpu": CPU_SECONDS})  # fmt: skip
    results = batch(jobs, ROOT)
    report = []
    for c, r, db, b in zip(chosen, results, dbs, before, strict=True):
        for p in _problems(c, r, db, b):
            report.append(f"{fmt} {c.name}: {p}")
    assert not report, "\n".join(report)


FORMATS = ["pbf", "pbf-sparse", "xml", "overpass", "geojson", "boundary", "config"]


def _seed(fmt: str, monaco_seed: Path, request: pytest.FixtureRequest) -> Path:
    if fmt == "config":  # every input of the demo config already in: nothing to read again
        seed: Path = request.getfixturevalue("samples_store")
        return seed
    return monaco_seed


#: The formats whose corpus the quick tier builds and runs (half of its damaged files): the
#: XML corpus (bzip2 of the Munich extract, twice) is the slow tier's; XML damage reaches
#: the quick tier through test_hostile.py and test_bad_input.py.
QUICK = [f if f != "xml" else pytest.param(f, marks=pytest.mark.slow) for f in FORMATS]


@pytest.mark.parametrize("fmt", QUICK)
def test_corpus_sizes(fmt: str, corpora: dict[str, list[Case]]) -> None:
    assert len(corpora[fmt]) >= 20
    assert len({c.name for c in corpora[fmt]}) == len(corpora[fmt])


def _damaged(cases: list[Case], half: int) -> set[str]:
    """The damaged (not hostile) files of a corpus that are refused, in two halves (every
    other one, in the corpus's order): the quick tier runs the first, the slow one both."""
    chosen = [c for c in cases if c.expect == "error" and not c.known and not c.hostile]
    return {c.name for c in chosen[half::2]}


@pytest.mark.parametrize(
    "half", [0, pytest.param(1, marks=pytest.mark.slow)], ids=["even", "odd"]
)  # fmt: skip
@pytest.mark.parametrize("fmt", QUICK)
def test_damaged_files_are_refused_and_change_nothing(
    fmt: str, half: int, corpora: dict[str, list[Case]], monaco_seed: Path, tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    """The hostile files among them are run by test_hostile.py and test_prefilter.py (each in
    a fresh process, within bounds), and here by the next test, in the slow tier."""
    seed = _seed(fmt, monaco_seed, request)
    names = _damaged(corpora[fmt], half)
    _run_corpus(fmt, corpora[fmt], seed, tmp_path, lambda c: c.name in names)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.startswith(("pbf", "xml"))])
def test_hostile_files_are_refused_and_change_nothing(
    fmt: str, corpora: dict[str, list[Case]], monaco_seed: Path, tmp_path: Path
) -> None:
    _run_corpus(fmt, corpora[fmt], monaco_seed, tmp_path,
                lambda c: c.expect == "error" and not c.known and c.hostile)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["pbf", "pbf-sparse", "xml", "overpass", "geojson", "boundary"])
def test_still_valid_files_are_read_with_bad_elements_counted(
    fmt: str, corpora: dict[str, list[Case]], monaco_seed: Path, tmp_path: Path
) -> None:
    _run_corpus(
        fmt, corpora[fmt], monaco_seed, tmp_path, lambda c: c.expect == "ok" and not c.known
    )


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known reader defects (Case.known): fix, then drop them")
def test_known_reader_defects(
    corpora: dict[str, list[Case]], monaco_seed: Path, tmp_path: Path
) -> None:
    for fmt, cases in corpora.every().items():
        if any(c.known for c in cases):
            _run_corpus(fmt, cases, monaco_seed, tmp_path, lambda c: bool(c.known))


@pytest.mark.slow
def test_damaged_pbfs_are_refused_by_area_from_pbf(
    corpora: dict[str, list[Case]], monaco_seed: Path, tmp_path: Path
) -> None:
    """The same damaged extracts through the boundary reader (the same libosmium reader,
    behind the same guard, as ingest)."""
    _run_corpus("pbf-areas", corpora["pbf"], monaco_seed, tmp_path,
                lambda c: c.expect == "error" and not c.known)  # fmt: skip
