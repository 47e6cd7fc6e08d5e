"""Run many ``camdensity`` invocations, each in a forked child of one warmed-up interpreter.

Starting ``python -m mapper`` costs a second or more, mostly imports; a corpus of 150 files
would spend minutes on that alone. This runner is started once as a subprocess, imports the
package once, then forks a fresh child per invocation: each child is still a separate
process (its own DuckDB, exit status, peak memory from ``wait4``, time limit and an address
space limit), so a crash or a hang in one is reported as such and cannot affect the others.

    python -m tests.robustness.forkrun < jobs.json > results.json

A job is ``{"args": [...], "timeout": seconds}``, with ``"cpu": seconds`` to kill the child
past that much CPU time (RLIMIT_CPU: SIGXCPU, however loaded the machine); a result
``{"code": int | None, "signal": int | None, "timed_out": bool, "seconds": float,
"max_rss_mb": float, "stdout": str, "stderr": str}``.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

#: Modules the commands under test import; loaded once here, before any fork.
PRELOAD = (
    "mapper.cli", "mapper.ingest", "mapper.areas", "mapper.site", "mapper.site_build",
    "mapper.sources.osm", "mapper.sources.overpass", "mapper.sources.geojson",
    "mapper.sources.boundaries", "osmium", "pyarrow", "shapely", "pyproj",
)  # fmt: skip

#: A guard against runaway allocation, not the bound under test (peak RSS is): DuckDB maps
#: well over 1 GB of address space (extension, thread arenas) without using the memory.
ADDRESS_SPACE = (4 << 30) + (256 << 20) * (os.cpu_count() or 1)


def _child(args: list[str], out: int, err: int, cpu: int) -> None:
    """In the forked child: run the CLI as ``python -m mapper`` would, then exit."""
    code = 70
    try:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        if cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        from mapper.cli import main

        sys.argv = ["camdensity", *args]
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a traceback is what the tests look for: print it
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def run(args: list[str], timeout: float, cpu: int = 0) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(args, out.fileno(), err.fileno(), cpu)
        timed_out = False
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > timeout:
                os.kill(pid, signal.SIGKILL)
                timed_out = True
                _, status, usage = os.wait4(pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return {
            "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "timed_out": timed_out,
            "seconds": round(seconds, 2),
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kB on Linux
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
        }


def main() -> None:
    jobs = json.load(sys.stdin)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:  # only a head start: the child imports what it needs
            pass
    results = [run([str(a) for a in job["args"]], float(job["timeout"]), int(job.get("cpu", 0)))
               for job in jobs]  # fmt: skip
    sys.stdout.write(json.dumps(results))


def batch(jobs: list[dict[str, Any]], cwd: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Run ``jobs`` through this module in a subprocess (the tests' side of the runner)."""
    import subprocess

    budget = 120 + sum(float(j["timeout"]) for j in jobs)
    done = subprocess.run(
        [sys.executable, "-m", "tests.robustness.forkrun"], input=json.dumps(jobs),
        capture_output=True, text=True, cwd=cwd, timeout=budget, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"forkrun failed ({done.returncode}): {done.stderr[-2000:]}")
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


if __name__ == "__main__":
    main()
