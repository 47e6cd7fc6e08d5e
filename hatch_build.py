"""Build hook: compile the PBF scan's inner loops (mapper/_native/pbfscan.c) with the C
compiler at hand, into mapper/_native/libpbfscan.so, loaded at run time with ctypes.

Without a compiler the build goes on and camdensity uses the numpy version of the same loops
(slower, same results): a warning says so, the build does not fail.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("mapper/_native/pbfscan.c")
LIBRARY = Path("mapper/_native/libpbfscan.so")


def compile_library(root: Path) -> str | None:
    """Build the library; None when it was built, else why not."""
    if sys.platform == "win32":
        return "no build recipe for Windows"
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[:1]
    out = root / LIBRARY
    cmd = [*cc, "-O2", "-shared", "-fPIC", "-o", str(out), str(root / SOURCE)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        return f"{' '.join(cmd)} failed: {detail.strip()[:300]}"
    return None


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        why = compile_library(root)
        if why is not None:
            self.app.display_warning(
                f"camdensity: the PBF scan's C loops were not built ({why}); "
                "the numpy version is used instead"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(str(LIBRARY))
