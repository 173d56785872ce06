"""The allocator switch of `pyimcom.memory` (run in subprocesses: it changes the whole process)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CODE = """
import ctypes
import numpy as np
from pyimcom.memory import retain_freed_memory
changed = retain_freed_memory()
b = np.ones((2000, 2000))  # 32 MB
class Info(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in "arena ordblks smblks hblks hblkhd usmblks fsmblks "
                "uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
mapped = libc.mallinfo2().hblkhd  # bytes in mmap-ed blocks
print(changed, retain_freed_memory(), float(b.sum()), mapped >= b.nbytes)
"""


def _run(env_value):
    env = dict(os.environ)
    env.pop("PYIMCOM_RETAIN_MEMORY", None)
    if env_value is not None:
        env["PYIMCOM_RETAIN_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_retain_freed_memory_switches_glibc_once():
    assert _run(None) == ["True", "True", "4000000.0", "False"]  # the array lives in the heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallinfo2 is glibc's")
def test_retain_freed_memory_can_be_disabled():
    assert _run("0") == ["False", "False", "4000000.0", "True"]  # glibc's default: mmap
