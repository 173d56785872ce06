"""Keep freed memory in the process, so that the per-stamp arrays of a block do not page-fault anew.

Every stamp of a block allocates and frees arrays of tens to hundreds of MB (A, b, T and their
products).  glibc serves such sizes with ``mmap`` and returns them with ``munmap``, so each stamp
touches fresh pages again: a kernel page fault (and page zeroing) per 4 KiB, which on virtual
machines that hand freed memory back to the host costs up to ~2 ms per MB -- measured here as 15 %
of a block's wall time.  `retain_freed_memory` switches the allocator to its heap for all sizes and
stops it from trimming the heap, so freed pages are reused by the next stamp.  The process then keeps
its peak footprint until it exits, which suits a block job.

Set the environment variable ``PYIMCOM_RETAIN_MEMORY=0`` to leave the allocator alone.  Elsewhere
than on glibc the call does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

__all__ = ["retain_freed_memory"]

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameters of glibc's malloc.h
_M_MMAP_MAX = -4
_TRIM_NEVER = 2**31 - 1  # largest int: trim only beyond 2 GiB of free heap top

_done = False


def retain_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse (once per process).

    Returns
    -------
    bool
        True if the allocator settings were changed (now or by an earlier call); False when
        disabled by ``PYIMCOM_RETAIN_MEMORY=0`` or not on glibc.
    """
    global _done
    if _done:
        return True
    if os.environ.get("PYIMCOM_RETAIN_MEMORY", "1").strip() == "0":
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(_M_MMAP_MAX, 0) != 1 or mallopt(_M_TRIM_THRESHOLD, _TRIM_NEVER) != 1:
        return False
    _done = True
    logger.debug("allocator: heap for all sizes, no trimming (PYIMCOM_RETAIN_MEMORY=0 disables)")
    return True
