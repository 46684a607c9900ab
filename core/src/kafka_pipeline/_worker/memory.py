"""Keep a long-running worker's resident memory flat under glibc.

glibc serves an allocation of at least its *mmap threshold* with a mapping
of its own, returned to the system when freed; smaller ones come from the
heap, which seldom shrinks. The threshold starts at 128 KiB but rises, up
to 32 MiB, each time such a mapping is freed. A worker frees big transient
buffers all the time (fetch responses, Delta's encode buffers), so within
seconds they are all carved from the heap, which then fragments and stays
at its high-water mark. Fixing the threshold keeps those buffers in their
own mappings. In the benchmark this lowered the worker's peak RSS by about
15 MiB at no measurable CPU cost (a 128 KiB threshold saved as much but
cost ~3 us per result in mmap/munmap calls).
"""

from __future__ import annotations

import ctypes
import platform
from typing import Final

#: Allocations from this size up get a mapping of their own.
MMAP_THRESHOLD_BYTES: Final = 1 << 20
_M_MMAP_THRESHOLD: Final = -3  # from glibc's malloc.h


def limit_heap_growth(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold for this process; False (and nothing done) elsewhere."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - a glibc without mallopt
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
