"""Slow, obvious reference implementations that tests compare the package against."""

from __future__ import annotations

import numpy as np


def pixels_in_box_bruteforce(in_wcs, in_shape, out_wcs, box) -> int:
    """Count input pixel centres whose output-grid coordinates lie in a closed rectangle.

    Maps every pixel of the input image through both WCSs (0-based pixels).
    """
    ny, nx = in_shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    ra, dec = in_wcs.all_pix2world(xx.ravel(), yy.ravel(), 0)
    xo, yo = out_wcs.all_world2pix(ra, dec, 0)
    x_lo, x_hi, y_lo, y_hi = box
    return int(np.count_nonzero((xo >= x_lo) & (xo <= x_hi) & (yo >= y_lo) & (yo <= y_hi)))


def _interp_tables_naive(kernel):
    """Coefficient tables ``(even, odd)`` of an interpolation kernel (data of Appendix A)."""
    from pyimcom._kernels import interp as tables

    return {
        "D5512": (tables.D5512_EVEN, tables.D5512_ODD),
        "G4460": (tables.G4460_EVEN, tables.G4460_ODD),
    }[kernel]


def interp_weights_naive(kernel, f):
    """1-D weights at fractional offset ``f``, from the coefficient table with `numpy.polynomial`.

    Returns an array of shape (ntap,); entry ``k`` multiplies sample ``floor(x) - h + k``.
    """
    from numpy.polynomial import polynomial

    even, odd = _interp_tables_naive(kernel)
    t = f - 0.5
    u = t * t
    first = [polynomial.polyval(u, even[k]) + t * polynomial.polyval(u, odd[k]) for k in range(len(even))]
    mirror = [polynomial.polyval(u, even[k]) - t * polynomial.polyval(u, odd[k]) for k in range(len(even))]
    return np.array(first + mirror[::-1])


def interp2d_naive(grid, x, y, kernel):
    """Separable interpolation of a (ny, nx) or (nlayer, ny, nx) grid at points ``x``, ``y`` (1-D).

    Plain loops over points and over the ``ntap x ntap`` taps.  A point gives 0 unless it is finite
    and every tap ``floor(x) - h + k`` (``k = 0 .. ntap - 1``) lies on the grid, same in y.
    Returns shape (npts,) for a 2-D grid and (nlayer, npts) for a 3-D grid.
    """
    grid = np.asarray(grid, dtype=np.float64)
    layers = grid[np.newaxis] if grid.ndim == 2 else grid
    nlayer, ny, nx = layers.shape
    ntap = 2 * len(_interp_tables_naive(kernel)[0])
    h = ntap // 2 - 1
    out = np.zeros((nlayer, len(x)))
    for p, (xp, yp) in enumerate(zip(x, y, strict=True)):
        if not (np.isfinite(xp) and np.isfinite(yp)):
            continue
        x0 = int(np.floor(xp))
        y0 = int(np.floor(yp))
        if x0 - h < 0 or x0 - h + ntap > nx or y0 - h < 0 or y0 - h + ntap > ny:
            continue
        wx = interp_weights_naive(kernel, xp - x0)
        wy = interp_weights_naive(kernel, yp - y0)
        for a in range(ntap):
            for b in range(ntap):
                out[:, p] += wy[a] * wx[b] * layers[:, y0 - h + a, x0 - h + b]
    return out[0] if grid.ndim == 2 else out
