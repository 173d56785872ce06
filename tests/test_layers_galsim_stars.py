"""Tests of pyimcom.layers.galsim_stars (gsstar<n> input layer)."""

from __future__ import annotations

import math

import healpy as hp
import numpy as np
import numpy.testing as npt
import pytest
from astropy.wcs import WCS

from pyimcom.errors import PyIMCOMValueError
from pyimcom.layers.galsim_stars import NEST_SOURCE_DTYPE, gsstar_layer, nested_candidates
from pyimcom.layers.points import draw_point_sources

OV = 8
N_SIDE_IMG = 160
SHAPE = (N_SIDE_IMG, N_SIDE_IMG)
RES_N = 16  # nside 65536: HEALPix spacing ~3.2 arcsec ~ 29 px, a few dozen stars on 160x160


def gaussian_psf(x=None, y=None):
    """Gaussian PSF, sigma = 1 native px = 8 samples, 64x64 grid centred at 31.5, sum 1."""
    vv, uu = np.mgrid[0:64, 0:64] - 31.5
    psf = np.exp(-0.5 * (uu**2 + vv**2) / OV**2)
    return psf / psf.sum()


def toy_wcs(n_side=N_SIDE_IMG, crval=(60.0, -4.0)):
    """A TAN WCS with 0.11 arcsec pixels and its reference point at the image centre."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = [(n_side + 1) / 2, (n_side + 1) / 2]
    wcs.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    return wcs


@pytest.fixture(scope="module")
def layer():
    return gsstar_layer(toy_wcs(), SHAPE, RES_N, gaussian_psf, OV)


@pytest.mark.parametrize("margin", [0, 16, 40])
def test_nested_candidates_matches_brute_force(margin):
    wcs, nside = toy_wcs(), 2**RES_N
    ipix, ra, dec, x, y = nested_candidates(nside, wcs, SHAPE, margin)
    # Brute force: RING query of the same disc, converted to NESTED, then the pixel-margin rule.
    ra_c, dec_c = wcs.all_pix2world(79.5, 79.5, 0)
    radius = math.radians(N_SIDE_IMG * 0.11 * math.sqrt(2) / 3600)
    ring = hp.query_disc(nside, hp.ang2vec(float(ra_c), float(dec_c), lonlat=True), radius)
    nest_all = np.sort(hp.ring2nest(nside, ring))
    ra_all, dec_all = hp.pix2ang(nside, nest_all, nest=True, lonlat=True)
    xa, ya = wcs.all_world2pix(ra_all, dec_all, 0)
    sel = (xa >= -margin) & (xa <= 159 + margin) & (ya >= -margin) & (ya <= 159 + margin)
    npt.assert_array_equal(ipix, nest_all[sel])
    npt.assert_allclose(ra, ra_all[sel], rtol=0, atol=1e-12)
    npt.assert_allclose(dec, dec_all[sel], rtol=0, atol=1e-12)
    npt.assert_allclose(x, xa[sel], atol=1e-9)
    npt.assert_allclose(y, ya[sel], atol=1e-9)
    assert ipix.dtype == np.int64 and np.all(np.diff(ipix) > 0)
    assert 5 <= len(ipix) < 200


def test_sources_table(layer):
    _, src = layer
    assert src.dtype == NEST_SOURCE_DTYPE and src.dtype.names[0] == "ipix_nest"
    ipix, ra, dec, x, y = nested_candidates(2**RES_N, toy_wcs(), SHAPE, 16)
    npt.assert_array_equal(src["ipix_nest"], ipix)
    npt.assert_array_equal(src["x"], x)
    npt.assert_array_equal(src["y"], y)
    theta, phi = hp.pix2ang(2**RES_N, src["ipix_nest"], nest=True)
    npt.assert_allclose(src["dec_deg"], 90 - np.degrees(theta), atol=1e-10)


def test_each_star_flux_and_centroid():
    wcs = toy_wcs()
    _, src = gsstar_layer(wcs, SHAPE, RES_N, gaussian_psf, OV)
    inside = src[(src["x"] > 15) & (src["x"] < 144) & (src["y"] > 15) & (src["y"] < 144)]
    assert len(inside) >= 5
    yy, xx = np.mgrid[0:160, 0:160]
    for star in inside[:8]:
        # Draw this star alone with a one-star PSF callback that is zero elsewhere.
        def psf_one(x, y, s=star):
            return gaussian_psf() if (x, y) == (s["x"], s["y"]) else np.zeros((64, 64))

        img = gsstar_layer(wcs, SHAPE, RES_N, psf_one, OV)[0].astype(np.float64)
        assert abs(img.sum() - 1.0) < 2e-3
        assert abs((img * xx).sum() / img.sum() - star["x"]) < 0.01
        assert abs((img * yy).sum() / img.sum() - star["y"]) < 0.01


def test_gsstar_matches_cstar_drawing(layer):
    img, src = layer
    assert img.dtype == np.float32 and img.shape == SHAPE
    ref = draw_point_sources(SHAPE, src["x"], src["y"], gaussian_psf, OV)
    peak = float(ref.max())
    assert peak > 0.1
    assert np.max(np.abs(img.astype(np.float64) - ref)) < 5e-4 * peak


def test_star_outside_image_adds_wings_only(layer):
    # The toy geometry puts stars at x ~ -2.7 (wings reach column 0) and y ~ -9.6 (too far).
    wcs = toy_wcs()
    _, src = layer
    outside = (src["x"] < 0) | (src["x"] > 159) | (src["y"] < 0) | (src["y"] > 159)
    near_edge = outside & (src["x"] > -4) & (src["x"] < 0) & (src["y"] > 10) & (src["y"] < 150)
    assert near_edge.any() and (outside & ~near_edge).any()
    pos_out = {(float(s["x"]), float(s["y"])) for s in src[outside]}

    def psf_out(x, y):
        return gaussian_psf() if (x, y) in pos_out else np.zeros((64, 64))

    img = gsstar_layer(wcs, SHAPE, RES_N, psf_out, OV)[0].astype(np.float64)
    ref = draw_point_sources(SHAPE, src["x"][outside], src["y"][outside], gaussian_psf, OV)
    assert np.all(np.isfinite(img))
    assert img[:, :3].sum() > 0.01 * near_edge.sum()  # visible wings in the first columns
    star_peak = 1 / (2 * np.pi)  # peak pixel of a centred sigma = 1 px unit-flux Gaussian
    npt.assert_allclose(img, ref, rtol=0, atol=5e-4 * star_peak)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution_n": 30}, "resolution_n"),
        ({"resolution_n": 1.5}, "resolution_n"),
        ({"ov": 0}, "ov must be > 0"),
        ({"ov": float("nan")}, "ov must be a finite"),
        ({"shape": (0, 10)}, "shape"),
        ({"psf_at": lambda x, y: np.full((4, 4), np.nan)}, "psf_at"),
    ],
)
def test_gsstar_validation(kwargs, match):
    args = {"wcs": toy_wcs(), "shape": SHAPE, "resolution_n": RES_N, "psf_at": gaussian_psf, "ov": OV}
    args.update(kwargs)
    with pytest.raises(PyIMCOMValueError, match=match):
        gsstar_layer(**args)


@pytest.mark.parametrize(
    ("nside", "margin", "match"),
    [(3, 16, "nside_hp"), (True, 16, "nside_hp"), (64, -1, "margin_px"), (64, math.inf, "margin_px")],
)
def test_nested_candidates_validation(nside, margin, match):
    with pytest.raises(PyIMCOMValueError, match=match):
        nested_candidates(nside, toy_wcs(), SHAPE, margin)
