"""The compiled inner loops of the PBF scan (``pbfscan.c``), loaded with ctypes.

The build hook (``hatch_build.py``) compiles ``pbfscan.c`` into ``libpbfscan.so`` here when a
C compiler is at hand. :data:`LIB` is None when it is not, when the library was built from
another version of the source, or when ``CAMDENSITY_PURE_PYTHON`` is set: the scan then does
the same work with numpy, several times slower.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

#: Must equal CD_ABI in pbfscan.c: a library built from another version is not used.
ABI = 4
ENV_PURE = "CAMDENSITY_PURE_PYTHON"
LIBRARY = Path(__file__).with_name("libpbfscan.so")


def load(path: Path = LIBRARY) -> ctypes.CDLL | None:
    if os.environ.get(ENV_PURE) or not path.is_file():
        return None
    try:
        lib = ctypes.CDLL(str(path))
        lib.cd_abi.restype = ctypes.c_int
        if lib.cd_abi() != ABI:
            return None
    except (OSError, AttributeError):
        return None
    i64, buf, ptr = ctypes.c_int64, ctypes.c_char_p, ctypes.c_void_p
    for name in ("cd_uvarints", "cd_deltas"):
        fn = getattr(lib, name)
        fn.argtypes = [buf, i64, i64, ptr, i64]
        fn.restype = i64
    lib.cd_spans.argtypes = [buf, i64, i64, i64, ptr, i64]
    lib.cd_spans.restype = i64
    lib.cd_dense_tagged.argtypes = [buf, i64, i64, ptr, i64, ptr, i64, ptr, i64, ptr]
    lib.cd_dense_tagged.restype = i64
    lib.cd_count.argtypes = [buf, i64, i64]
    lib.cd_count.restype = i64
    lib.cd_kv_check.argtypes = [buf, i64, i64, i64]
    lib.cd_kv_check.restype = i64
    lib.cd_take.argtypes = [ptr]
    lib.cd_take.restype = i64
    return lib


LIB = load()
