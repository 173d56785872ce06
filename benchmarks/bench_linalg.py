"""Benchmark of the single-kappa Cholesky kernel on one production-sized postage stamp.

Measures, for each requested BLAS thread count, the LAPACK factorisation (dpotrf) and triangular
solves (dpotrs, m right-hand sides) of ``A + kappa I`` with n input and m output pixels, the LAPACK
throughput in GFLOP/s counting ``n^3/3 + 2 n^2 m`` flop, the wall time of the whole
``pyimcom.linalg.solve_cholesky`` call (hence the fraction of it spent in LAPACK, and stamps per second)
and the peak resident memory.

The system is synthetic but physical: Gaussian input PSFs of width sigma_in at random positions and a
Gaussian target of width sigma_out, with analytic overlaps (A_ij and b_ai are Gaussians of the
separation).  Production size (spec §7.2): n = 6000, m = 1444 (n2f = 38).

BLAS threads are limited with threadpoolctl when it is installed.  Otherwise each thread count runs in
a child process whose environment sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS,
BLIS_NUM_THREADS and VECLIB_MAXIMUM_THREADS (they must be set before numpy is imported).

Usage::

    python benchmarks/bench_linalg.py                 # n = 6000, m = 1444, 1 and 2 threads
    python benchmarks/bench_linalg.py --n 2000 --m 400 --threads 1 4 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, REPO_ROOT)

THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def make_system(n: int, m: int, seed: int, sigma_in: float = 0.9, sigma_out: float = 1.2):
    """Synthetic stamp: A (n, n), b (1, m, n), C (1,), with analytic Gaussian overlaps [output px]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(m)))
    pad = max(side * 0.5, 1.0)
    pos_in = rng.uniform(-pad, side - 1 + pad, size=(n, 2))
    oy, ox = np.mgrid[0:side, 0:side]
    pos_out = np.column_stack([ox.ravel(), oy.ravel()]).astype(float)[:m]
    d2_in = ((pos_in[:, None, :] - pos_in[None, :, :]) ** 2).sum(axis=2)
    s2 = 2 * sigma_in**2
    A = np.exp(-d2_in / (2 * s2)) / (2 * np.pi * s2)
    del d2_in
    t2 = sigma_in**2 + sigma_out**2
    d2_out = ((pos_out[:, None, :] - pos_in[None, :, :]) ** 2).sum(axis=2)
    b = (np.exp(-d2_out / (2 * t2)) / (2 * np.pi * t2))[None]
    C = np.array([1.0 / (4 * np.pi * sigma_out**2)])
    return A, b, C


def measure(n: int, m: int, repeat: int, kappac: float, seed: int) -> dict:
    """Time factor, solve and the whole kernel; return the best of ``repeat`` runs."""
    import numpy as np
    import scipy.linalg

    from pyimcom.linalg import SolverSettings, solve_cholesky
    from pyimcom.linalg.cholesky import factor_shifted

    A, b, C = make_system(n, m, seed)
    kappa = kappac * C[0]
    factor_shifted(A[:256, :256], kappa)  # warm up the BLAS thread pool
    best = {"factor_s": np.inf, "solve_s": np.inf, "kernel_s": np.inf}
    for _ in range(repeat):
        t0 = time.perf_counter()
        L = factor_shifted(A, kappa)
        t1 = time.perf_counter()
        scipy.linalg.cho_solve((L, True), b[0].T, check_finite=False)
        t2 = time.perf_counter()
        del L
        solve_cholesky(A, b, C, SolverSettings(kappac=(kappac,)))
        t3 = time.perf_counter()
        best = {
            "factor_s": min(best["factor_s"], t1 - t0),
            "solve_s": min(best["solve_s"], t2 - t1),
            "kernel_s": min(best["kernel_s"], t3 - t2),
        }
    flop = n**3 / 3 + 2 * n**2 * m
    lapack_s = best["factor_s"] + best["solve_s"]
    return {
        **best,
        "lapack_gflops": flop / lapack_s / 1e9,
        "lapack_fraction": lapack_s / best["kernel_s"],
        "stamps_per_s": 1.0 / best["kernel_s"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_with_threads(args, threads: int) -> dict:
    """Measure with ``threads`` BLAS threads (threadpoolctl, else a child process)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=threads, user_api="blas"):
            return measure(args.n, args.m, args.repeat, args.kappac, args.seed)
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARIABLES})
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--n", str(args.n), "--m", str(args.m)]
    cmd += ["--repeat", str(args.repeat), "--kappac", str(args.kappac), "--seed", str(args.seed)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker with {threads} thread(s) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=6000, help="input pixels per stamp (default 6000)")
    parser.add_argument("--m", type=int, default=1444, help="output pixels per stamp (default 1444 = 38^2)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="BLAS thread counts (default 1 2)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="repetitions; the best time is kept (default 1)"
    )
    parser.add_argument(
        "--kappac", type=float, default=1e-4, help="kappa/C of the single node (default 1e-4)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic stamp (default 0)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.n, args.m, args.repeat, args.kappac, args.seed)))
        return 0
    print(f"single-kappa Cholesky, n = {args.n}, m = {args.m}, flop = n^3/3 + 2 n^2 m, best of {args.repeat}")
    header = "threads  factor_s  solve_s  LAPACK_GFLOP/s  kernel_s  LAPACK_frac  stamps/s  peak_MiB"
    print(header)
    for threads in args.threads:
        r = run_with_threads(args, threads)
        print(
            f"{threads:7d}  {r['factor_s']:8.3f}  {r['solve_s']:7.3f}  {r['lapack_gflops']:14.1f}  "
            f"{r['kernel_s']:8.3f}  {r['lapack_fraction']:11.2f}  {r['stamps_per_s']:8.3f}  "
            f"{r['peak_rss_mib']:8.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
