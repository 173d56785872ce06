"""The output -> SCA mapping of the PSF sampling grid (core §4.2): fitted cubic against the exact WCS."""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS

from pyimcom.psf.sampling import MAP_TOLERANCE, _cubic_on_grid, _cubic_terms, mapped_offsets


def _tan(ra, dec, scale_arcsec, rot_deg, crpix):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [crpix, crpix]
    c, s = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    w.wcs.cd = np.array([[-c, s], [s, c]]) * scale_arcsec / 3600.0
    return w


def test_cubic_on_grid_evaluates_the_cubic():
    rng = np.random.default_rng(2)
    coef = rng.standard_normal((10, 2))
    u = np.linspace(-1.0, 1.0, 57)
    uu, vv = np.meshgrid(u, u)
    direct = _cubic_terms(uu, vv) @ coef  # (v, u, 2)
    np.testing.assert_allclose(_cubic_on_grid(coef, u), direct, rtol=0, atol=1e-13)


def test_mapped_offsets_match_the_exact_mapping():
    out_wcs = _tan(60.0, -4.0, 0.0390625, 0.0, 400.0)
    in_wcs = _tan(60.05, -3.97, 0.11, 37.0, 2044.5)  # rotated, other scale, off-centre tangent point
    centre, nc, dscale = (310.3, 287.9), 60, 0.11 / 8 / 0.0390625
    dx, dy = mapped_offsets(out_wcs, in_wcs, centre, nc, dscale)
    ex, ey = mapped_offsets(out_wcs, in_wcs, centre, nc, dscale, exact=True)
    assert dx.shape == dy.shape == (2 * nc + 1, 2 * nc + 1)
    assert np.abs(dx - ex).max() < MAP_TOLERANCE and np.abs(dy - ey).max() < MAP_TOLERANCE
    # one sample is 1/8 native pixel along the rotated axes; axis order [q_y, q_x]
    assert abs(np.hypot(dx[nc, nc + 1], dy[nc, nc + 1]) - 1 / 8) < 1e-3
    assert abs(dx[nc, nc]) < 1e-9 and abs(dy[nc, nc]) < 1e-9  # the centre maps to itself
