"""Fused numba interpolation path: one point's lag check, 1-D weights and tap sum in one inlined call.

`fused_entry` is the inner loop of the A sub-matrices (`pyimcom._kernels.submatrix`) and of the
one-grid scattered points (`points_one_grid`).  It computes what `pyimcom._kernels.interp` computes,
to rounding, but faster:

* the grid is read through a flat view with unsigned offsets (numba then emits no negative-index
  test per load);
* the tap sum may be reassociated and fused (``fastmath`` flags ``reassoc``, ``contract``, ``nsz``),
  which lets LLVM vectorise it.  No flag that assumes finite values is set, so NaN and infinite
  positions are still invalid (exactly 0) and NaN grid values still propagate;
* each kernel (D5512, G4460) has its own compiled entry point with the tap counts as constants, so
  the loops unroll and only the kernel in use is compiled.

Conventions as in `pyimcom._kernels.interp`.
"""

import numpy as np
from numba import njit, prange

__all__ = ["fused_entry", "points_one_grid"]

_CHUNK = 64  # scattered points per parallel work item

_FASTMATH = {"reassoc", "contract", "nsz"}


@njit(cache=True, inline="always")
def _fused_weights(f, even, odd, w, nhalf, ndeg):
    """1-D weights of fractional offset ``f`` into ``w[0:2 nhalf]`` (see `pyimcom._kernels.interp`)."""
    t = f - 0.5
    u = t * t
    for k in range(nhalf):
        e = even[k, ndeg - 1]
        o = odd[k, ndeg - 1]
        for p in range(ndeg - 1):
            e = e * u + even[k, ndeg - 2 - p]
            o = o * u + odd[k, ndeg - 2 - p]
        w[k] = e + t * o
        w[2 * nhalf - 1 - k] = e - t * o


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def fused_entry(flat, base, ny, nx, dx, dy, even, odd, wx, wy, nhalf, ndeg):
    """One interpolated value of the grid starting at ``flat[base]`` (``ny x nx``), 0 if invalid."""
    ntap = 2 * nhalf
    h = nhalf - 1
    if not (dx >= h and dx < nx - ntap + h + 1 and dy >= h and dy < ny - ntap + h + 1):
        return 0.0
    x0 = np.floor(dx)
    y0 = np.floor(dy)
    _fused_weights(dx - x0, even, odd, wx, nhalf, ndeg)
    _fused_weights(dy - y0, even, odd, wy, nhalf, ndeg)
    start = np.uint64(base + (int(y0) - h) * nx + int(x0) - h)
    total = 0.0
    for a in range(ntap):
        row = 0.0
        r = start + np.uint64(a * nx)
        for b in range(ntap):
            row += wx[b] * flat[r + np.uint64(b)]
        total += wy[a] * row
    return total


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _points_one_layer(flat, ny, nx, x, y, even, odd, out, nhalf, ndeg):
    """One grid at scattered points on the fused path (``flat`` = the grid raveled, ``out`` (npts,))."""
    npts = x.shape[0]
    nchunk = (npts + _CHUNK - 1) // _CHUNK
    for c in prange(nchunk):
        wx = np.empty(2 * nhalf)
        wy = np.empty(2 * nhalf)
        for p in range(c * _CHUNK, min((c + 1) * _CHUNK, npts)):
            out[p] = fused_entry(flat, 0, ny, nx, x[p], y[p], even, odd, wx, wy, nhalf, ndeg)


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _points_d5512(grid2d, x, y, even, odd, out):
    _points_one_layer(grid2d.reshape(-1), grid2d.shape[0], grid2d.shape[1], x, y, even, odd, out, 5, 5)


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _points_g4460(grid2d, x, y, even, odd, out):
    _points_one_layer(grid2d.reshape(-1), grid2d.shape[0], grid2d.shape[1], x, y, even, odd, out, 4, 4)


def points_one_grid(grid2d, x, y, even, odd, out):
    """Pattern 1 for one C-contiguous grid ``(ny, nx)`` on the fused path: ``out[p] = F(x[p], y[p])``.

    One compiled entry point per kernel (D5512, G4460), so only the kernel in use is compiled.
    """
    kernels = {(5, 5): _points_d5512, (4, 4): _points_g4460}
    if even.shape not in kernels:
        raise ValueError(f"coefficient tables of shape {even.shape}: not D5512 (5, 5) or G4460 (4, 4)")
    kernels[even.shape](grid2d, x, y, even, odd, out)
