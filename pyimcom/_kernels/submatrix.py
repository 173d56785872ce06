"""Numba kernel of one sub-matrix of the system matrix A: every input pixel of one InStamp against
every input pixel of another (core §4.4).

Entry ``(i, j)`` is the overlap array of the pixels' two images, ``F[la[i], lb[j]]``, interpolated at
the lag ``((x_a[i] - x_b[j]) / scale + off, (y_a[i] - y_b[j]) / scale + off)`` [samples] with the
separable kernel whose coefficient tables are ``even``/``odd`` (`pyimcom._kernels.interp`).  This is
the hottest loop of the engine outside LAPACK, so it differs from the general interpolators in three
ways that change no result beyond rounding:

* the lag, the 1-D weights and the tap sum are computed in one pass, without temporaries;
* the overlap arrays are read through a flat view with unsigned offsets (numba then emits no
  negative-index test per load);
* the tap sum may be reassociated and fused (``fastmath`` flags ``reassoc``, ``contract``, ``nsz``),
  which lets LLVM vectorise it.  No flag that assumes finite values is set: the validity test keeps
  rejecting NaN and infinite lags, and NaN overlap values still propagate.

A lag is valid when all taps lie on the overlap grid (``h <= lag < n - ntap + h + 1`` on both axes,
``h = ntap // 2 - 1``); an invalid lag gives exactly 0, as in `pyimcom.interp`.
"""

import numpy as np
from numba import njit, prange

from .fused import _FASTMATH, fused_entry

__all__ = ["pair_submatrix"]


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _row(flat, n_mb, size, nx, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, i, out, wx, wy,
         nhalf, ndeg):  # fmt: skip
    """Row ``i`` of the sub-matrix; on the diagonal only ``j >= i``, mirrored into column ``i``."""
    ny = size // nx
    xi = xa[i]
    yi = ya[i]
    row_base = la[i] * n_mb
    j0 = i if diagonal else 0
    for j in range(j0, xb.shape[0]):
        dx = (xi - xb[j]) / scale + off
        dy = (yi - yb[j]) / scale + off
        out[i, j] = fused_entry(
            flat, (row_base + lb[j]) * size, ny, nx, dx, dy, even, odd, wx, wy, nhalf, ndeg
        )
    if diagonal:
        for j in range(j0 + 1, xb.shape[0]):
            out[j, i] = out[i, j]


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _fill(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out, nhalf, ndeg):
    """Body of `pair_submatrix` for ``nhalf`` tap pairs and ``ndeg`` coefficients."""
    n_mb, ny, nx = overlaps.shape[1], overlaps.shape[2], overlaps.shape[3]
    size = ny * nx
    flat = overlaps.reshape(-1)
    na = xa.shape[0]
    nwork = (na + 1) // 2 if diagonal else na
    for r in prange(nwork):
        wx = np.empty(2 * nhalf)
        wy = np.empty(2 * nhalf)
        first = np.int64(r)
        _row(flat, n_mb, size, nx, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, first, out,
             wx, wy, nhalf, ndeg)  # fmt: skip
        mirror = na - 1 - first
        if diagonal and mirror != first:
            _row(flat, n_mb, size, nx, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, mirror, out,
                 wx, wy, nhalf, ndeg)  # fmt: skip


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _pair_d5512(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out):
    _fill(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out, 5, 5)


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _pair_g4460(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out):
    _fill(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out, 4, 4)


def pair_submatrix(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out):
    """A sub-matrix of one InStamp pair: every row pixel against every column pixel.

    Parameters
    ----------
    overlaps : ndarray, shape (n_ma, n_mb, ny, nx), float64, C-contiguous
        Overlap arrays of the row group's members (axis 0) with the column group's members (axis 1),
        indexed ``[..., y, x]`` [samples].
    la, lb : ndarray, shape (na,) and (nb,), int64
        Member index of the image of each row / column pixel (``0 <= la < n_ma``; not checked).
    xa, ya, xb, yb : ndarray, float64
        Positions of the row pixels (shape (na,)) and the column pixels (shape (nb,)) [block pixels].
    scale : float
        Sampling step [block pixels per sample].
    off : float
        Sample index of lag 0 on both axes.
    even, odd : ndarray, shape (ntap // 2, ndeg), float64
        Coefficient tables of the kernel.
    diagonal : bool
        The rows and the columns are the same pixels (and the result is symmetric): only ``j >= i`` is
        interpolated and mirrored.
    out : ndarray, shape (na, nb), float64
        Output; every entry is written.

    Notes
    -----
    Parallel over rows (over pairs of rows ``(r, na - 1 - r)`` when ``diagonal``, which balances the
    triangle).  Row ``i`` writes ``out[i, j]`` (and, on the diagonal, ``out[j, i]``) for its own
    ``j`` range only, so no two work items write the same entry.
    """
    # one compiled entry point per kernel, with its tap counts as constants (unrolled loops); only
    # the kernel in use is compiled
    kernels = {(5, 5): _pair_d5512, (4, 4): _pair_g4460}
    if even.shape not in kernels:
        raise ValueError(f"coefficient tables of shape {even.shape}: not D5512 (5, 5) or G4460 (4, 4)")
    kernels[even.shape](overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out)
