#!/usr/bin/env python3
"""Benchmark one coadd block on a fixed synthetic survey and say where the time goes.

The configuration is the production-like one of the performance issue: BLOCK 2, OUTSIZE [4, 32,
0.0390625"], PAD 1 (all sides), FADE 3, Cholesky with KAPPAC [6e-4], INPAD 1.24", NPIXPSF 48, ov 8,
GAUSSIAN target sigma 0.934254 native px (H158), ~6 exposures.  The survey is simulated once into
--workdir (seeded, so every run sees the same inputs).  Prints stamps per second, seconds per stamp
split into PSF work / matrix assembly / factorisation / solves (float64, float32) / narrowing /
refinement / products, the overhead kernels with their time per unit of work (sub-matrix entry,
overlap array, b entry, PSF sampling, A entry gathered), the fraction of time in LAPACK with its
GFLOP/s (n^3/3 per factorisation, n^2 m per triangular solve with the m target rows; the float64 and
float32 parts apart) against the machine's GEMM and POTRF rates of the same precision (measured
afterwards in a child process), the peak memory and what the caches held and computed.

    python benchmarks/bench_block.py --stop 8          # first 8 stamps (quick)
    python benchmarks/bench_block.py                   # the whole block (36 stamps)
    python benchmarks/bench_block.py --precision mixed # LAPRECISION "mixed" (or "full": all float64)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import defaultdict

import pyimcom  # noqa: F401  (first: sets OpenBLAS's thread timeout before numpy is loaded)


def _config(workdir: str, stop: int, threads_note: str, n1: int = 4, layers=(), precision="double") -> dict:
    return {
        "OBSFILE": f"{workdir}/in/obs.fits", "INDATA": [f"{workdir}/in", "anlsim"], "FILTER": 2,
        "INPSF": [f"{workdir}/in/psf", "anlsim", 8], "EXTRAINPUT": list(layers), "CTR": [60.0, -4.0],
        "BLOCK": 2, "OUTSIZE": [n1, 32, 0.0390625], "PAD": 1, "PADSIDES": "all", "FADE": 3, "STOP": stop,
        "OUT": f"{workdir}/out/bench", "OUTPSF": "GAUSSIAN", "EXTRASMOOTH": 0.934254, "NPIXPSF": 48,
        "INPAD": 1.24, "LAKERNEL": "Cholesky", "KAPPAC": [6e-4], "OUTMAPS": "USTN", "RERUN": threads_note,
        "LAPRECISION": precision,
    }  # fmt: skip


class _Exclusive:
    """Exclusive wall time per label (nested timed calls are not counted twice)."""

    def __init__(self):
        self.total = defaultdict(float)
        self._stack = []

    def wrap(self, label, func):
        """``func`` timed under ``label``, or under ``label(*args)`` when label is callable."""

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            self._stack.append(0.0)
            try:
                return func(*args, **kwargs)
            finally:
                inner = self._stack.pop()
                dt = time.perf_counter() - t0
                self.total[label(*args) if callable(label) else label] += dt - inner
                if self._stack:
                    self._stack[-1] += dt

        return timed


class _Units:
    """Wall time and work units (entries, arrays, ...) of the engine's overhead kernels, per label.

    Unlike `_Exclusive`, nothing is subtracted: these kernels run inside the "psf" and "assembly"
    calls, and their rates (time per unit of work) show how far each is from its own floor.
    """

    def __init__(self):
        self.time = defaultdict(float)
        self.units = defaultdict(float)

    def wrap(self, label, func, units):
        """``func`` timed under ``label``, counting ``units(*args, **kwargs)`` units of work per call."""

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.time[label] += time.perf_counter() - t0
                self.units[label] += units(*args, **kwargs)

        return timed


def _pair_entries(grids, la, lb, *args, symmetric=False, **kwargs):
    """Entries a sub-matrix kernel call interpolates (the upper triangle only when symmetric)."""
    na, nb = len(la), len(lb)
    return na * (na + 1) / 2 if symmetric else na * nb


def _overlap_arrays(fa, fb, *args, **kwargs):
    """Overlap arrays (one image pair each) a `cross_overlap` call transforms."""
    import numpy as np

    return float(np.prod(np.broadcast_shapes(np.shape(fa), np.shape(fb))[:-2]))


def _grid_values(grid, xs, ys, *args, **kwargs):
    """Values one `interpolate_grid` call writes (b entries)."""
    return len(xs) * len(xs[0]) * len(ys[0]) if len(xs) else 0


def _machine_peaks(conn, prefix: str, n_gemm: int = 4096, n_potrf: int = 6000) -> None:
    """Best-of-3 GEMM and POTRF rates [GFLOP/s] of this machine (``prefix`` "d" or "s"; run in a child)."""
    import numpy as np
    from scipy.linalg import blas, lapack

    dtype = np.float64 if prefix == "d" else np.float32
    rng = np.random.default_rng(0)
    mat = np.asfortranarray(rng.standard_normal((n_gemm, n_gemm)), dtype=dtype)
    gemm, potrf = getattr(blas, f"{prefix}gemm"), getattr(lapack, f"{prefix}potrf")
    rates = {
        f"{prefix.upper()}GEMM": 2 * n_gemm**3 / min(_timed(gemm, 1.0, mat, mat) for _ in range(3)) / 1e9
    }
    g = rng.standard_normal((n_potrf, n_potrf))
    spd = np.asfortranarray(g @ g.T + n_potrf * np.eye(n_potrf), dtype=dtype)
    best = min(_timed(potrf, spd, lower=1, overwrite_a=0) for _ in range(3))
    rates[f"{prefix.upper()}POTRF"] = n_potrf**3 / 3 / best / 1e9
    conn.send(rates)


def _timed(func, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="results/bench_block", help="where the survey and output go")
    parser.add_argument("--stop", type=int, default=0, help="only the first STOP stamps (0 = all 36)")
    parser.add_argument(
        "--threads", type=int, default=2, help="numba and FFT threads (BLAS: set OMP/OPENBLAS)"
    )
    parser.add_argument("--sca-nside", type=int, default=4088, help="SCA size of the simulated survey")
    parser.add_argument(
        "--n1",
        type=int,
        default=4,
        help="stamps per block side before padding (80: production size; use --stop)",
    )
    parser.add_argument(
        "--layers", default="", help="EXTRAINPUT layers joined by '+' (e.g. whitenoise1+1fnoise2)"
    )
    parser.add_argument(
        "--layer-cache",
        action="store_true",
        help="read (or first build) the layer stacks in {workdir}/layercache, as bench_layers.py "
        "writes them: the block then runs on a warm cache",
    )
    parser.add_argument(
        "--precision",
        choices=("double", "full", "mixed"),
        default="double",
        help="LAPRECISION: double (default: float64 but the float32 noise back-substitution), full "
        "(float64 throughout), mixed (float32 factorisation, float64-refined layers)",
    )
    parser.add_argument(
        "--no-peak", action="store_true", help="skip measuring the machine's DGEMM/DPOTRF rates afterwards"
    )
    args = parser.parse_args(argv)

    import numba
    import numpy as np
    import scipy.linalg

    import pyimcom.engine.operator as operator
    import pyimcom.engine.system as system
    import pyimcom.linalg.cholesky as cholesky
    import pyimcom.linalg.mixed as mixed
    import pyimcom.linalg.split as split
    from pyimcom.coadd import BlockJob
    from pyimcom.config import Config
    from pyimcom.settings import target_area
    from pyimcom.simulate import SurveySettings, simulate_survey

    numba.set_num_threads(args.threads)
    os.makedirs(args.workdir, exist_ok=True)
    layers = [x for x in args.layers.split("+") if x]
    config = _config(os.path.abspath(args.workdir), args.stop, f"threads={args.threads}", args.n1, layers,
                     args.precision)  # fmt: skip
    if args.layer_cache:
        config["INLAYERCACHE"] = f"{os.path.abspath(args.workdir)}/layercache/bench"
        os.makedirs(os.path.dirname(config["INLAYERCACHE"]), exist_ok=True)
    cfg = Config(json.dumps(config))
    if not os.path.exists(os.path.join(args.workdir, "in", "obs.fits")):
        print("simulating the survey ...", file=sys.stderr)
        simulate_survey(
            SurveySettings(seed=1, sca_nside=args.sca_nside), target_area(cfg), f"{args.workdir}/in"
        )

    timer = _Exclusive()
    B = system.SystemBuilder
    for name, label in [("_group_ffts", "psf"), ("_pair_overlap", "psf"), ("_out_overlap", "psf"),
                        ("_submatrix_oriented", "assembly"), ("system", "assembly")]:  # fmt: skip
        setattr(B, name, timer.wrap(label, getattr(B, name)))
    factor64 = timer.wrap("factorisation", cholesky.factor_shifted)
    cholesky.factor_shifted = split.factor_shifted = factor64
    mixed.factor32 = timer.wrap("factorisation", mixed.factor32)
    mixed.refine = timer.wrap("refinement", mixed.refine)
    split.narrow_lower = timer.wrap("narrowing", split.narrow_lower)
    scipy.linalg.cho_solve = timer.wrap("solves", scipy.linalg.cho_solve)  # several kappa nodes

    def solve_label(L, *args, **kwargs):
        return "solves" if L.dtype == np.float64 else "solves32"

    scipy.linalg.solve_triangular = timer.wrap(solve_label, scipy.linalg.solve_triangular)  # one node
    units = _Units()  # the overhead kernels, in time per unit of work
    system.interpolate_pair_lags = units.wrap(
        "sub-matrix entries", system.interpolate_pair_lags, _pair_entries
    )
    system.cross_overlap = units.wrap("overlap arrays (FFT)", system.cross_overlap, _overlap_arrays)
    system.interpolate_grid = units.wrap("b entries", system.interpolate_grid, _grid_values)
    system.sample_input_psf = units.wrap("PSF samplings", system.sample_input_psf, lambda *a, **k: 1)
    operator.StampOperator.dense = units.wrap(
        "A entries gathered", operator.StampOperator.dense, lambda self, out: out.size
    )
    sizes = []
    orig_system = B.system

    def system_with_size(self, s, *args, **kwargs):
        out = orig_system(self, s, *args, **kwargs)
        sizes.append((out.A.shape[0], out.b.shape[1]))
        return out

    B.system = system_with_size
    job = BlockJob.from_config(cfg, 0, 0)
    t0 = time.perf_counter()
    result, _ = job.run()
    wall = time.perf_counter() - t0
    n_st = result.n_stamps
    # flops: n^3/3 (factorisation) + n^2 m per triangular solve with the m target rows; with "double"
    # the back-substitution is float32 (counted apart), with "mixed" everything is
    f_fact = sum(n**3 / 3 for n, _ in sizes)
    f_solve = sum(n * n * m for n, m in sizes)
    t64 = timer.total["factorisation"] + timer.total["solves"]
    t32 = timer.total["solves32"]
    if args.precision == "mixed":
        parts = {"float32": (f_fact + 2 * f_solve, t64 + t32)}
    elif args.precision == "double":
        parts = {"float64": (f_fact + f_solve, t64), "float32": (f_solve, t32)}
    else:
        parts = {"float64": (f_fact + 2 * f_solve, t64)}
    lapack = t64 + t32
    rate = f"{wall / n_st:.2f} s/stamp, {n_st / wall:.3f} stamps/s"
    print(f"block (0, 0): {n_st} stamps, {wall:.1f} s wall ({rate})")
    print(f"input pixels per stamp: n = {np.mean([n for n, _ in sizes]):.0f} (m = {sizes[0][1]})")
    print("seconds per stamp:")
    labels = {"psf": "psf", "assembly": "assembly", "factorisation": "factorisation", "solves": "solves",
              "solves32": "solves float32", "narrowing": "narrowing", "refinement": "refinement"}  # fmt: skip
    for label, name in labels.items():
        print(f"  {name:14s} {timer.total[label] / n_st:7.3f}")
    print(f"  {'products':14s} {result.timings['products'] / n_st:7.3f}")
    print(f"  {'partition':14s} {result.timings['partition'] / n_st:7.3f}  (once per block)")
    rates = ", ".join(f"{k} {f / t / 1e9:.1f} GFLOP/s" for k, (f, t) in parts.items() if t > 0)
    print(f"LAPACK (factorisation + solves): {lapack / wall:.1%} of the block; {rates}")
    over = wall - lapack
    print(f"overhead (everything but LAPACK) per stamp: {over / n_st:.2f} s = {over / wall:.1%} of the "
          f"block = {over / lapack:.2f} x the LAPACK time")  # fmt: skip
    print("overhead kernels per stamp (time per unit of work):")
    scale = {"PSF samplings": (1e3, "ms"), "overlap arrays (FFT)": (1e3, "ms")}
    for label, t in units.time.items():
        count = units.units[label]
        factor, unit = scale.get(label, (1e9, "ns"))
        each = f"{t / count * factor:.2f} {unit} each" if count else "-"
        print(f"  {label:22s} {count / n_st:12,.0f}  {t / n_st:6.3f} s  ({each})")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if not args.no_peak:  # in a child process: its memory does not count in the peak RSS above
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        for kind, (f, t) in parts.items():
            here, there = ctx.Pipe()
            child = ctx.Process(target=_machine_peaks, args=(there, "s" if kind == "float32" else "d"))
            child.start()
            peak = here.recv()
            child.join()
            ratio = ", ".join(f"{f / t / 1e9 / r:.0%} of {k} ({r:.0f} GFLOP/s)" for k, r in peak.items())
            print(f"{kind} LAPACK rate against this machine's measured peaks: {ratio}")
    peaks = {k: result.timings[f"cache_peak_bytes_{k}"] / 2**20 for k in
             ("submatrices", "pair_overlaps", "out_overlaps", "ffts")}  # fmt: skip
    print("cache peaks [MiB]: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    print("computed per stamp: " + ", ".join(f"{k} {result.timings[f'cache_computed_{k}'] / n_st:.2f}"
                                             for k in peaks))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
