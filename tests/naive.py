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
