"""Measuring: one command's wall and CPU seconds and peak RSS, the machine, tool versions.

A command runs as a child process and is reaped with ``os.wait4``, whose resource usage
covers the child and every descendant it waited for: CPU is user + system seconds. Peak RSS is
the largest resident set of any of those processes, as GNU time (``/usr/bin/time -f %M``)
reports it. Each
sample also records how busy the machine was with *other* work meanwhile (busy CPU time in
/proc/stat minus the child's own, over the wall time, in cores), so a figure taken while
something else ran can be recognised.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

_HZ = os.sysconf("SC_CLK_TCK")
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


@dataclass
class Sample:
    wall_s: float
    cpu_s: float
    rss_mb: float
    other_load: float  # cores busy with other work during the run

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def busy_seconds() -> float:
    with open("/proc/stat") as f:
        parts = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in parts[1:9])
    return (user + nice + system + irq + softirq + steal) / _HZ


def run(cmd: Sequence[str], *, stdout_path: str | None = None, cwd: str | None = None) -> Sample:
    """Run ``cmd`` to the end; stdout goes to ``stdout_path`` (else /dev/null).

    Peak RSS comes from GNU time (``%M``): a child forked from this (large) Python process
    inherits its memory high-water mark through exec, so ``wait4``'s own ``ru_maxrss`` would
    report at least this process's size. ``time`` is small, and forks the command itself.
    """
    with (
        open(stdout_path or os.devnull, "wb") as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file,
    ):
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *cmd] if GNU_TIME else list(cmd)
        busy0, t0 = busy_seconds(), time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy = busy_seconds() - busy0
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip()[-600:]
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {tail}")
        lines = rss_file.read().split()
        rss_kb = int(lines[-1]) if GNU_TIME and lines else usage.ru_maxrss
    return Sample(wall, cpu, rss_kb / 1024, max(0.0, (busy - cpu) / wall))


def summary(samples: list[Sample]) -> dict[str, Any]:
    """Medians of the measured runs, and the runs themselves."""
    return {
        "wall_s": round(statistics.median(s.wall_s for s in samples), 3),
        "cpu_s": round(statistics.median(s.cpu_s for s in samples), 3),
        "rss_mb": round(statistics.median(s.rss_mb for s in samples), 1),
        "other_load": round(statistics.median(s.other_load for s in samples), 2),
        "runs": [s.as_dict() for s in samples],
    }


def alternate(
    tasks: dict[str, Callable[[], Sample]], rounds: int = 3, warmup: int = 1, log: bool = True
) -> dict[str, list[Sample]]:
    """Run every task once per round, rotating the order each round; warm-up rounds dropped."""
    names = list(tasks)
    out: dict[str, list[Sample]] = {n: [] for n in names}
    for r in range(warmup + rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            s = tasks[name]()
            if log:
                tag = "warm-up" if r < warmup else f"run {r - warmup + 1}/{rounds}"
                print(
                    f"  {name:28s} {tag:9s} {s.wall_s:7.2f} s wall {s.cpu_s:7.2f} s cpu "
                    f"{s.rss_mb:7.0f} MB  (other load {s.other_load:.1f})",
                    flush=True,
                )
            if r >= warmup:
                out[name].append(s)
    return out


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [float(x) for x in load],
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def versions(*packages: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def osmium_tool_version() -> str | None:
    exe = shutil.which("osmium")
    if exe is None:
        return None
    text = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    lines = text.splitlines()
    return "; ".join(lines[:2]) if lines else None


def python_package_version(python: str, package: str) -> str | None:
    """A package's version in another interpreter (the peers' virtualenv)."""
    done = subprocess.run(
        [python, "-c", f"from importlib.metadata import version; print(version({package!r}))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None
