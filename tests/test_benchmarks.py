"""The benchmark scripts run and print what the README says they print.

Benchmarks are measured by hand, never timed in tests; these tests only keep the scripts from
rotting: every script answers ``--help``, and `bench_block.py` runs one stamp of a small survey and
reports work counts that follow from the stamp's size alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(f for f in os.listdir(os.path.join(ROOT, "benchmarks")) if f.endswith(".py"))


def _run(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    result = _run(script, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def _number(text: str, pattern: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    return float(match.group(1).replace(",", ""))


@pytest.mark.slow
def test_bench_block_one_stamp(tmp_path):
    result = _run("bench_block.py", "--workdir", str(tmp_path), "--sca-nside", "512", "--stop", "1",
                  "--no-peak", timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    n = _number(out, r"^input pixels per stamp: n = (\d+)")
    assert n > 1000  # a production-size stamp (NPIXPSF 48, INPAD 1.24")
    # one stamp and nothing ahead of it: each sub-matrix holds exactly the stamp's own pixel pairs,
    # so the kernel interpolates the upper triangle of A once, and the gather writes all of A
    assert _number(out, r"^\s+sub-matrix entries\s+([\d,]+)") == n * (n + 1) / 2
    assert _number(out, r"^\s+A entries gathered\s+([\d,]+)") == n * n
    assert _number(out, r"^\s+b entries\s+([\d,]+)") == n * _number(out, r"\(m = (\d+)\)")
    assert _number(out, r"^\s+overlap arrays \(FFT\)\s+([\d,]+)") > 0
    lapack = _number(out, r"^LAPACK \(factorisation \+ solves\): ([\d.]+)% of the block")
    overhead = _number(out, r"^overhead .* = ([\d.]+)% of the block")
    assert lapack + overhead == pytest.approx(100.0, abs=0.11)
    assert _number(out, r"^peak memory \(max RSS\): (\d+) MiB") > 0
