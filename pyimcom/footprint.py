"""Which pixels of an input image land inside a rectangle of an output (block) pixel grid.

Used by the planner (which input images a block needs) and by the survey simulator (which SCAs of an
exposure see the target area).  Only WCS headers are needed, never pixels.

Method: the rectangle's boundary is sampled densely in output pixel coordinates and mapped through
``sky`` into the input image's 0-based pixel coordinates, giving a polygon (the distortion between
samples is far below 1e-4 input pixels for blocks up to a few arcminutes).  A scan over the input rows
then finds the integer pixel centres inside that polygon.  Pixel contract: see `pyimcom.geometry`.
"""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS

__all__ = ["box_polygon_in_input", "count_pixels_in_box"]

_EDGE_SAMPLES = 64  # samples per edge of the output rectangle


def box_polygon_in_input(out_wcs: WCS, box: tuple[float, float, float, float], in_wcs: WCS) -> np.ndarray:
    """Return the polygon, in input pixel coordinates, of a rectangle of output pixel coordinates.

    Parameters
    ----------
    out_wcs : astropy.wcs.WCS
        Celestial WCS of the output grid (used with 0-based pixels).
    box : tuple of float
        ``(x_lo, x_hi, y_lo, y_hi)`` in output pixel coordinates (closed rectangle).
    in_wcs : astropy.wcs.WCS
        Celestial WCS of the input image (0-based pixels; SIP distortion allowed).

    Returns
    -------
    numpy.ndarray
        float64 ``[4 * 64, 2]`` vertices ``(x, y)`` in input pixel coordinates, in boundary order.
    """
    x_lo, x_hi, y_lo, y_hi = box
    t = np.linspace(0.0, 1.0, _EDGE_SAMPLES, endpoint=False)
    xs = np.concatenate(
        [x_lo + (x_hi - x_lo) * t, np.full_like(t, x_hi), x_hi - (x_hi - x_lo) * t, np.full_like(t, x_lo)]
    )
    ys = np.concatenate(
        [np.full_like(t, y_lo), y_lo + (y_hi - y_lo) * t, np.full_like(t, y_hi), y_hi - (y_hi - y_lo) * t]
    )
    ra, dec = out_wcs.all_pix2world(xs, ys, 0)
    xi, yi = in_wcs.all_world2pix(ra, dec, 0, tolerance=1e-8, maxiter=50, quiet=True)
    return np.column_stack([xi, yi])


def _row_intervals(poly: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Even-odd crossing intervals of horizontal lines ``y = rows`` with a closed polygon.

    Returns ``(starts, ends)`` arrays ``[n_rows, k]`` (NaN where unused), sorted along each row.
    """
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    yy = rows[:, None]
    crosses = ((y1 <= yy) & (yy < y2)) | ((y2 <= yy) & (yy < y1))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x1 + (yy - y1) * (x2 - x1) / (y2 - y1)
    xc = np.where(crosses, xc, np.nan)
    xc.sort(axis=1)  # NaNs go last
    n = int(crosses.sum(axis=1).max(initial=0))
    n -= n % 2
    return xc[:, 0:n:2], xc[:, 1:n:2]


def count_pixels_in_box(
    in_wcs: WCS, in_shape: tuple[int, int], out_wcs: WCS, box: tuple[float, float, float, float]
) -> int:
    """Count the input pixel centres whose output coordinates fall inside a rectangle.

    Parameters
    ----------
    in_wcs : astropy.wcs.WCS
        Celestial WCS of the input image (0-based pixels).
    in_shape : tuple of int
        ``(ny, nx)`` of the input image [pixels].
    out_wcs : astropy.wcs.WCS
        Celestial WCS of the output grid.
    box : tuple of float
        ``(x_lo, x_hi, y_lo, y_hi)``, closed rectangle in output pixel coordinates.

    Returns
    -------
    int
        Number of input pixels ``(x, y)``, ``0 <= x < nx``, ``0 <= y < ny``, inside the rectangle
        (0 means the image does not overlap it).
    """
    ny, nx = in_shape
    poly = box_polygon_in_input(out_wcs, box, in_wcs)
    if not np.all(np.isfinite(poly)):
        return 0
    y_min, y_max = np.ceil(poly[:, 1].min()), np.floor(poly[:, 1].max())
    y_min, y_max = max(y_min, 0), min(y_max, ny - 1)
    if y_min > y_max:
        return 0
    rows = np.arange(int(y_min), int(y_max) + 1, dtype=float)
    starts, ends = _row_intervals(poly, rows)
    lo = np.clip(np.ceil(starts), 0, nx - 1)
    hi = np.clip(np.floor(ends), 0, nx - 1)
    inside = np.isfinite(starts) & (ends >= 0) & (starts <= nx - 1)
    return int(np.where(inside & (hi >= lo), hi - lo + 1, 0).sum())
