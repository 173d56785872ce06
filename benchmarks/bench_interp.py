"""Throughput of the D5512/G4460 interpolators on production-like sizes.

Times the three call patterns of `pyimcom.interp` on a synthetic PSF-overlap-sized grid:

* pattern 1 (`interpolate_points`): an off-diagonal A sub-block, n x n lags between two InStamps;
* pattern 2 (`interpolate_symmetric`): a diagonal A sub-block, n x n symmetric lags;
* pattern 3 (`interpolate_grid`): a b block, npi input pixels x (nout x nout) output pixels;
* pattern 4 (`interpolate_pair_lags`): an A sub-matrix of two InStamps (fused path), n x n lags,
  and a diagonal one (``symmetric=True``).

Prints the best wall time over ``--repeat`` runs and the interpolated points per second for each
thread count (``numba.set_num_threads``).  Compilation is excluded (one warm-up call).

Example::

    python benchmarks/bench_interp.py --threads 1 2
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from pyimcom.interp import (
    KERNELS,
    interpolate_grid,
    interpolate_pair_lags,
    interpolate_points,
    interpolate_symmetric,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernel", choices=KERNELS, default="D5512", help="interpolation kernel")
    parser.add_argument(
        "--grid", type=int, default=383, help="grid side [samples]; 2*nc+1+12 with nc=185. Default: 383"
    )
    parser.add_argument("--n-lag", type=int, default=1000, help="input pixels per A sub-block. Default: 1000")
    parser.add_argument("--npi", type=int, default=160, help="input pixels of a b block. Default: 160")
    parser.add_argument("--nout", type=int, default=38, help="output pixels per stamp side. Default: 38")
    parser.add_argument(
        "--out-pitch", type=float, default=2.84, help="output pixel pitch [samples]. Default: 2.84"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="numba thread counts")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (best is kept)")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    return parser.parse_args(argv)


def make_inputs(args):
    """Synthetic grid, lags and grid-mode positions, all in grid samples."""
    rng = np.random.default_rng(args.seed)
    n = args.grid
    centre = (n - 1) / 2
    yy, xx = np.mgrid[0:n, 0:n]
    grid = np.exp(-((xx - centre) ** 2 + (yy - centre) ** 2) / (2 * 30.0**2))
    half = 0.45 * (n - 12) / 2  # positions such that most lags stay inside the overlap array
    px1, py1, px2, py2 = rng.uniform(-half, half, (4, args.n_lag))
    sym_dx = centre + px1[:, None] - px1[None, :]
    sym_dy = centre + py1[:, None] - py1[None, :]
    cross_dx = (centre + px1[:, None] - px2[None, :]).ravel()
    cross_dy = (centre + py1[:, None] - py2[None, :]).ravel()
    pin = rng.uniform(-half, half, (2, args.npi))
    offs = (np.arange(args.nout) - (args.nout - 1) / 2) * args.out_pitch
    xs = centre + pin[0][:, None] - offs[None, :]
    ys = centre + pin[1][:, None] - offs[None, :]
    pairs = ((centre + px1, centre + py1), (centre + px2, centre + py2))
    return grid, (cross_dx, cross_dy), (sym_dx, sym_dy), (xs, ys), pairs


def best_time(func, repeat):
    func()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    args = parse_args(argv)
    grid, (cdx, cdy), (sdx, sdy), (xs, ys), (pa, pb) = make_inputs(args)
    n = args.n_lag
    grids, zero = grid[None, None], np.zeros(n, dtype=np.int64)
    centre = (args.grid - 1) / 2
    cases = [
        ("pattern 1 points", n * n, lambda: interpolate_points(grid, cdx, cdy, args.kernel)),
        ("pattern 2 symmetric", n * (n + 1) // 2, lambda: interpolate_symmetric(grid, sdx, sdy, args.kernel)),
        ("pattern 3 grid", args.npi * args.nout**2, lambda: interpolate_grid(grid, xs, ys, args.kernel)),
        (
            "pattern 4 pair",
            n * n,
            lambda: interpolate_pair_lags(grids, zero, zero, pa, pb, 1.0, centre, args.kernel),
        ),
        (
            "pattern 4 pair symm.",
            n * (n + 1) // 2,
            lambda: interpolate_pair_lags(grids, zero, zero, pa, pa, 1.0, centre, args.kernel, True),
        ),
    ]
    print(f"kernel {args.kernel}, grid {args.grid}x{args.grid}, numba {numba.__version__}")
    print(f"{'case':22s} {'threads':>7s} {'points':>10s} {'time [ms]':>10s} {'points/s':>12s}")
    for name, npoints, func in cases:
        for nthreads in args.threads:
            numba.set_num_threads(nthreads)
            seconds = best_time(func, args.repeat)
            print(f"{name:22s} {nthreads:7d} {npoints:10d} {1e3 * seconds:10.2f} {npoints / seconds:12.4g}")


if __name__ == "__main__":
    main()
