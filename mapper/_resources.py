"""Find the files that ship with the package (``queries/``, ``web/``).

In a wheel they live in ``mapper/_data/``; in a source checkout, beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"camdensity's '{name}' folder is missing from the installation")
