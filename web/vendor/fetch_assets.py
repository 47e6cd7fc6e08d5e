#!/usr/bin/env python3
"""Re-fetch camdensity's vendored map assets from the package registries.

Reads ``assets.toml`` beside this file. For each package it asks the registry's own client
for the exact version (``npm pack NAME@VERSION``; ``pip download`` of the sdist for PyPI),
checks the tarball against the integrity recorded in ``assets.toml``, and copies the listed
files, byte for byte, to ``web/vendor/NAME@VERSION/PATH``. It then rewrites the asset table
in ``web/README.md`` (file, package, version, licence, sha256).

    python web/vendor/fetch_assets.py          # fetch, copy, rewrite the table
    python web/vendor/fetch_assets.py --check  # fetch and compare; change nothing; exit 1 if
                                               # a vendored file or the table differs

Needs ``npm`` on PATH and ``pip`` in the running interpreter (use the project's .venv).
The same manifest and registry versions give the same files: nothing here depends on the
date, the machine or a CDN.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path
from typing import Any, NoReturn

VENDOR = Path(__file__).resolve().parent
README = VENDOR.parent / "README.md"
MANIFEST = VENDOR / "assets.toml"
TABLE_START = "<!-- vendor-table:start (written by web/vendor/fetch_assets.py) -->"
TABLE_END = "<!-- vendor-table:end -->"
KEEP = {"assets.toml", "fetch_assets.py"}


def fail(message: str) -> NoReturn:
    print(f"fetch_assets: {message}", file=sys.stderr)
    raise SystemExit(1)


def folder(pkg: dict[str, Any]) -> str:
    return f"{pkg['name']}@{pkg['version']}"


def fetch_npm(pkg: dict[str, Any], into: Path) -> Path:
    spec = f"{pkg['name']}@{pkg['version']}"
    out = subprocess.run(
        ["npm", "pack", "--json", "--silent", "--pack-destination", str(into), spec],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        fail(f"npm pack {spec} failed:\n{out.stderr.strip()}")
    info = json.loads(out.stdout)[0]
    tarball = into / str(info["filename"])
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    integrity = f"sha512-{digest}"
    if integrity != info["integrity"] or integrity != pkg["integrity"]:
        fail(
            f"{spec}: tarball integrity {integrity} is not the one recorded in assets.toml "
            f"({pkg['integrity']}); if the version really changed, update assets.toml"
        )
    return tarball


def fetch_pypi(pkg: dict[str, Any], into: Path) -> Path:
    spec = f"{pkg['name']}=={pkg['version']}"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--no-binary", ":all:", "-d", str(into), spec]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        fail(f"pip download {spec} failed:\n{out.stderr.strip()}")
    found = sorted(into.glob(f"{pkg['name']}-{pkg['version']}.tar.gz"))
    if not found:
        fail(f"pip download {spec} gave no sdist")
    tarball = found[0]
    integrity = "sha256-" + hashlib.sha256(tarball.read_bytes()).hexdigest()
    if integrity != pkg["integrity"]:
        fail(f"{spec}: sdist {integrity} is not the one recorded in assets.toml")
    return tarball


def extract(pkg: dict[str, Any], tarball: Path, out: Path) -> None:
    """Copy the package's listed files (and licence files) from the tarball to out/NAME@VER."""
    wanted = list(pkg["licence_files"]) + list(pkg["files"])
    with tarfile.open(tarball, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        tops = {name.split("/", 1)[0] for name in members}
        if len(tops) != 1:
            fail(f"{tarball.name}: expected one top-level folder, found {sorted(tops)}")
        top = tops.pop()
        for rel in wanted:
            member = members.get(f"{top}/{rel}")
            if member is None:
                fail(f"{folder(pkg)}: {rel} is not in the package")
            source = tar.extractfile(member)
            assert source is not None
            target = out / folder(pkg) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())


def table(packages: list[dict[str, Any]], root: Path) -> str:
    rows = [
        "| file | package | version | licence | sha256 |",
        "|---|---|---|---|---|",
    ]
    total = 0
    for pkg in packages:
        source = "npm" if pkg["registry"] == "npm" else "PyPI sdist"
        for rel in list(pkg["files"]) + list(pkg["licence_files"]):
            data = (root / folder(pkg) / rel).read_bytes()
            total += len(data)
            digest = hashlib.sha256(data).hexdigest()
            name = pkg["name"] if source == "npm" else f"{pkg['name']} ({source})"
            rows.append(
                f"| `{folder(pkg)}/{rel}` | {name} | {pkg['version']} | {pkg['licence']} "
                f"| `{digest}` |"
            )
    rows.append("")
    rows.append(f"Total: {total:,} bytes in {len(rows) - 3} files.")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def with_table(readme: str, new_table: str) -> str:
    if TABLE_START in readme and TABLE_END in readme:
        head, rest = readme.split(TABLE_START, 1)
        tail = rest.split(TABLE_END, 1)[1]
        return head + new_table + tail
    return readme.rstrip("\n") + "\n\n" + new_table + "\n"


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in KEEP
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; change nothing")
    args = parser.parse_args()

    packages = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["package"]
    with tempfile.TemporaryDirectory(prefix="camdensity-assets-") as tmp:
        downloads, staged = Path(tmp) / "downloads", Path(tmp) / "vendor"
        for pkg in packages:
            where = downloads / folder(pkg).replace("/", "_")
            where.mkdir(parents=True)
            fetch = fetch_npm if pkg["registry"] == "npm" else fetch_pypi
            extract(pkg, fetch(pkg, where), staged)
            print(f"fetched {folder(pkg)} ({pkg['registry']})")

        readme = README.read_text(encoding="utf-8")
        new_readme = with_table(readme, table(packages, staged))
        if args.check:
            have, want = files_under(VENDOR), files_under(staged)
            bad = sorted(k for k in have.keys() | want.keys() if have.get(k) != want.get(k))
            for rel in bad:
                state = "missing" if rel not in have else "extra" if rel not in want else "differs"
                print(f"web/vendor/{rel}: {state}", file=sys.stderr)
            if new_readme != readme:
                print("web/README.md: the asset table is out of date", file=sys.stderr)
            if bad or new_readme != readme:
                raise SystemExit(1)
            print("web/vendor matches the registries' packages")
            return

        for entry in sorted(VENDOR.iterdir()):
            if entry.name in KEEP:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in sorted(staged.iterdir()):
            shutil.copytree(entry, VENDOR / entry.name)
        README.write_text(new_readme, encoding="utf-8")
        count = len(files_under(VENDOR))
        print(f"wrote {count} files to web/vendor and the table to web/README.md")


if __name__ == "__main__":
    main()
