"""Numba kernel of one sub-matrix of the system matrix A: every input pixel of one InStamp against
every input pixel of another (core §4.4).

Entry ``(i, j)`` is the overlap array of the pixels' two images, ``F[la[i], lb[j]]``, interpolated at
the lag ``((x_a[i] - x_b[j]) / scale + off, (y_a[i] - y_b[j]) / scale + off)`` [samples] with the
separable kernel whose coefficient tables are ``even``/``odd`` (`pyimcom._kernels.interp`).  This is
the hottest loop of the engine outside LAPACK, so it differs from the general interpolators in three
ways that change no result beyond rounding (and none from `pyimcom._kernels.fused`):

* each row is done in two passes over its entries: first the lags and the 1-D weights of all of them,
  stored tap-major (``w[tap, entry]``) so that the loop over the entries vectorises, then the tap
  sums -- 30 % faster than computing each entry in one pass;
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

from .fused import _FASTMATH

__all__ = ["pair_submatrix"]


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _weights_row(f, even, odd, w, nhalf, ndeg):
    """1-D weights of the fractional offsets ``f`` (n,) into ``w`` (2 nhalf, n), one tap per row.

    The same arithmetic as `pyimcom._kernels.fused` (bit for bit), laid out so that the loop over the
    points is contiguous and vectorises.
    """
    for k in range(nhalf):
        for j in range(f.shape[0]):
            t = f[j] - 0.5
            u = t * t
            e = even[k, ndeg - 1]
            o = odd[k, ndeg - 1]
            for p in range(ndeg - 1):
                e = e * u + even[k, ndeg - 2 - p]
                o = o * u + odd[k, ndeg - 2 - p]
            w[k, j] = e + t * o
            w[2 * nhalf - 1 - k, j] = e - t * o


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _row(flat, n_mb, size, ny, nx, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, i, out, fx, fy,
         start, wx, wy, nhalf, ndeg):  # fmt: skip
    """Row ``i`` of the sub-matrix; on the diagonal only ``j >= i``, mirrored into column ``i``.

    Two passes: the lags, their validity and the 1-D weights of all the row's entries (vectorised
    over the entries), then the tap sums, with work arrays ``fx, fy, start`` (nb,) and ``wx, wy``
    (ntap, nb).
    """
    ntap = 2 * nhalf
    h = nhalf - 1
    xi = xa[i]
    yi = ya[i]
    row_base = la[i] * n_mb
    j0 = i if diagonal else 0
    nb = xb.shape[0]
    for j in range(j0, nb):
        dx = (xi - xb[j]) / scale + off
        dy = (yi - yb[j]) / scale + off
        if dx >= h and dx < nx - ntap + h + 1 and dy >= h and dy < ny - ntap + h + 1:
            x0 = np.floor(dx)
            y0 = np.floor(dy)
            fx[j] = dx - x0
            fy[j] = dy - y0
            start[j] = (row_base + lb[j]) * size + (np.int64(y0) - h) * nx + np.int64(x0) - h
        else:  # invalid lag (outside the grid, or NaN): exactly 0
            fx[j] = 0.5
            fy[j] = 0.5
            start[j] = -1
    _weights_row(fx[j0:], even, odd, wx[:, j0:], nhalf, ndeg)
    _weights_row(fy[j0:], even, odd, wy[:, j0:], nhalf, ndeg)
    for j in range(j0, nb):
        if start[j] < 0:
            out[i, j] = 0.0
            continue
        first = np.uint64(start[j])
        total = 0.0
        for a in range(ntap):
            row = 0.0
            r = first + np.uint64(a * nx)
            for b in range(ntap):
                row += wx[b, j] * flat[r + np.uint64(b)]
            total += wy[a, j] * row
        out[i, j] = total
    if diagonal:
        for j in range(j0 + 1, nb):
            out[j, i] = out[i, j]


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _fill(overlaps, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, out, nhalf, ndeg):
    """Body of `pair_submatrix` for ``nhalf`` tap pairs and ``ndeg`` coefficients."""
    n_mb, ny, nx = overlaps.shape[1], overlaps.shape[2], overlaps.shape[3]
    size = ny * nx
    flat = overlaps.reshape(-1)
    na = xa.shape[0]
    nb = xb.shape[0]
    nwork = (na + 1) // 2 if diagonal else na
    for r in prange(nwork):
        fx, fy, start = np.empty(nb), np.empty(nb), np.empty(nb, dtype=np.int64)
        wx, wy = np.empty((2 * nhalf, nb)), np.empty((2 * nhalf, nb))
        first = np.int64(r)
        _row(flat, n_mb, size, ny, nx, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, first, out,
             fx, fy, start, wx, wy, nhalf, ndeg)  # fmt: skip
        mirror = na - 1 - first
        if diagonal and mirror != first:
            _row(flat, n_mb, size, ny, nx, la, lb, xa, ya, xb, yb, scale, off, even, odd, diagonal, mirror,
                 out, fx, fy, start, wx, wy, nhalf, ndeg)  # fmt: skip


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
