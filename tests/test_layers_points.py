"""Tests of pyimcom.layers.points (cstar<n> and nstar<n>,f,b,q input layers)."""

from __future__ import annotations

import healpy as hp
import numpy as np
import numpy.testing as npt
import pytest
from astropy.wcs import WCS

from pyimcom.errors import PyIMCOMValueError
from pyimcom.interp import interpolate_points
from pyimcom.layers.noise import noise_seed
from pyimcom.layers.points import (
    SOURCE_DTYPE,
    cstar_layer,
    draw_point_sources,
    nstar_layer,
    ring_candidates,
)

OV = 8
SIGMA_X_SAMP, SIGMA_Y_SAMP = 8.0, 6.0  # Gaussian PSF widths [oversampled samples]
PSF_SHAPE = (64, 72)  # (N_y, N_x): deliberately non-square to catch axis swaps


def gaussian_density(u, v):
    """Analytic PSF: flux fraction per oversampled sample at offsets (u, v) [samples] from centre."""
    norm = 2 * np.pi * SIGMA_X_SAMP * SIGMA_Y_SAMP
    return np.exp(-0.5 * ((u / SIGMA_X_SAMP) ** 2 + (v / SIGMA_Y_SAMP) ** 2)) / norm


def gaussian_psf(x=None, y=None):
    """The analytic PSF sampled on its array, centred at ((N_x-1)/2, (N_y-1)/2)."""
    ny_p, nx_p = PSF_SHAPE
    vv, uu = np.mgrid[0:ny_p, 0:nx_p]
    return gaussian_density(uu - (nx_p - 1) / 2, vv - (ny_p - 1) / 2)


def expected_image(shape, x, y):
    """Independent expectation: ov^2 x the analytic density at each native pixel centre."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return OV**2 * gaussian_density(OV * (xx - x), OV * (yy - y))


def toy_wcs(n_side=200, crval=(60.0, -4.0)):
    """A TAN WCS with 0.11 arcsec pixels and its reference point at the image centre."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = [(n_side + 1) / 2, (n_side + 1) / 2]
    wcs.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    return wcs


def test_single_source_flux_and_centroid():
    x, y = 15.37, 16.81
    img = draw_point_sources((32, 32), [x], [y], gaussian_psf, OV)
    assert img.dtype == np.float32 and img.shape == (32, 32)
    assert abs(img.sum() - 1.0) < 1e-3
    yy, xx = np.mgrid[0:32, 0:32]
    assert abs((img * xx).sum() / img.sum() - x) < 0.01
    assert abs((img * yy).sum() / img.sum() - y) < 0.01


def test_matches_analytic_gaussian():
    """Fails if the (N-1)/2 + 6 offset, the ov scaling of offsets or the ov^2 factor is wrong."""
    shape, x, y = (24, 28), 13.3, 10.72
    img = draw_point_sources(shape, [x], [y], gaussian_psf, OV)
    expected = expected_image(shape, x, y)
    npt.assert_allclose(img, expected, rtol=0, atol=2e-5 * expected.max())


def naive_draw(shape, x, y, psf, ov, box_half=64):
    """Slow transcription of the drawing rule, pixel by pixel (one batched interpolation call)."""
    padded = np.pad(psf, 6)
    ny_p, nx_p = psf.shape
    pixels, us, vs = [], [], []
    for iy in range(max(0, int(y) - box_half), min(shape[0], int(y) + box_half)):
        for ix in range(max(0, int(x) - box_half), min(shape[1], int(x) + box_half)):
            pixels.append((iy, ix))
            us.append(ov * (ix - x) + (nx_p - 1) / 2 + 6)
            vs.append(ov * (iy - y) + (ny_p - 1) / 2 + 6)
    img = np.zeros(shape)
    for (iy, ix), val in zip(pixels, interpolate_points(padded, us, vs), strict=True):
        img[iy, ix] += ov**2 * val
    return img


@pytest.mark.parametrize("ov, x, y", [(8, 9.4, 7.9), (3.5, 2.2, 12.6), (6, -1.7, 8.05)])
def test_matches_naive_loop_with_wide_psf(ov, x, y):
    """A PSF that is non-zero up to its array edge exercises the support trimming."""
    psf = np.random.default_rng(2).uniform(0.5, 1.0, size=(30, 26))
    psf /= psf.sum()
    shape = (20, 18)
    img = draw_point_sources(shape, [x], [y], lambda *_: psf, ov)
    npt.assert_allclose(img, naive_draw(shape, x, y, psf, ov), rtol=1e-6, atol=1e-9)


def test_edge_clipping_and_off_image_sources():
    calls = []

    def psf_at(x, y):
        calls.append((x, y))
        return gaussian_psf()

    shape = (32, 32)
    img = draw_point_sources(shape, [1.3, -2.5, -70.0], [15.2, 20.0, 5.0], psf_at, OV)
    assert len(calls) == 2  # the star at x = -70 has an empty box: PSF not evaluated
    expected = expected_image(shape, 1.3, 15.2) + expected_image(shape, -2.5, 20.0)
    npt.assert_allclose(img, expected, rtol=0, atol=1e-5)
    assert 0.5 < img.sum() < 1.5  # one star partly clipped, the other only wings


def test_box_truncation_and_multiple_sources():
    # box of half side 2 around int(x): columns int(x)-2 .. int(x)+1
    img = draw_point_sources((20, 20), [10.9], [5.2], gaussian_psf, OV, box_half=2)
    nz_rows, nz_cols = np.nonzero(img)
    assert (nz_cols.min(), nz_cols.max()) == (8, 11) and (nz_rows.min(), nz_rows.max()) == (3, 6)
    both = draw_point_sources((40, 40), [10.2, 25.6], [12.1, 30.3], gaussian_psf, OV)
    one = draw_point_sources((40, 40), [10.2], [12.1], gaussian_psf, OV)
    two = draw_point_sources((40, 40), [25.6], [30.3], gaussian_psf, OV)
    npt.assert_allclose(both, one + two, atol=1e-7)


def test_draw_validation():
    with pytest.raises(PyIMCOMValueError, match="ov"):
        draw_point_sources((8, 8), [1.0], [1.0], gaussian_psf, 0)
    with pytest.raises(PyIMCOMValueError, match="x and y"):
        draw_point_sources((8, 8), [1.0, 2.0], [1.0], gaussian_psf, OV)
    with pytest.raises(PyIMCOMValueError, match="finite"):
        draw_point_sources((8, 8), [np.nan], [1.0], gaussian_psf, OV)
    with pytest.raises(PyIMCOMValueError, match="psf_at"):
        draw_point_sources((8, 8), [1.0], [1.0], lambda x, y: np.ones(5), OV)
    with pytest.raises(PyIMCOMValueError, match="shape"):
        draw_point_sources((0, 8), [1.0], [1.0], gaussian_psf, OV)


def angular_distance(ra_deg, dec_deg, ra0_deg, dec0_deg):
    vec = np.asarray(hp.ang2vec(ra_deg, dec_deg, lonlat=True)).reshape(-1, 3)
    vec0 = hp.ang2vec(ra0_deg, dec0_deg, lonlat=True)
    return np.arctan2(np.linalg.norm(np.cross(vec, vec0), axis=1), vec @ vec0)


@pytest.mark.parametrize(
    "nside, ra, dec, radius_deg",
    [
        (1024, 60.0, -4.0, 0.5),
        (1024, 359.95, 10.0, 0.3),  # RA wrap
        (512, 10.0, 89.9, 0.5),  # disc contains the north pole
        (512, 200.0, -89.7, 0.2),  # near the south pole
        (16384, 60.05, -3.8, 4088 * 0.11 / 3600),  # reference geometry, n = 14
        (8, 45.0, 30.0, 20.0),  # coarse grid, big disc
    ],
)
def test_ring_candidates_match_query_disc(nside, ra, dec, radius_deg):
    radius = np.radians(radius_deg)
    ipix, ra_pix, dec_pix = ring_candidates(nside, ra, dec, radius)
    assert ipix.dtype == np.int64 and np.all(np.diff(ipix) > 0)
    ref = hp.query_disc(nside, hp.ang2vec(ra, dec, lonlat=True), radius, inclusive=False, nest=False)
    ref_ra, ref_dec = hp.pix2ang(nside, ref, lonlat=True)
    ref = ref[angular_distance(ref_ra, ref_dec, ra, dec) <= radius]
    npt.assert_array_equal(ipix, np.sort(ref))
    ra_chk, dec_chk = hp.pix2ang(nside, ipix, lonlat=True)
    npt.assert_array_equal(ra_pix, ra_chk)
    npt.assert_array_equal(dec_pix, dec_chk)


def test_ring_candidates_validation():
    with pytest.raises(PyIMCOMValueError, match="nside_hp"):
        ring_candidates(100, 0.0, 0.0, 0.01)
    with pytest.raises(PyIMCOMValueError, match="dec_deg"):
        ring_candidates(64, 0.0, 91.0, 0.01)
    with pytest.raises(PyIMCOMValueError, match="radius_rad"):
        ring_candidates(64, 0.0, 0.0, -0.01)


def test_nstar_equals_poisson_for_nonnegative_lambda():
    cstar = np.random.default_rng(5).uniform(0.0, 1e-3, size=(30, 40))
    f, b, obsid, sca, q = 2e5, 86.0, 17, 4, 3
    out = nstar_layer(cstar, f, b, obsid, sca, q)
    expected = np.random.default_rng(noise_seed(obsid, sca, q)).poisson(f * cstar + b) - b
    assert out.dtype == np.float32
    npt.assert_allclose(out, expected, rtol=1e-6, atol=1e-4)


def test_nstar_negative_lambda_is_clipped():
    cstar = np.full((4, 5), -1e-3)  # f B + b < 0: lam_c = 0, Poisson(0) = 0, layer = f B
    out = nstar_layer(cstar, 2e5, 86.0, 1, 1, 0)
    npt.assert_allclose(out, 2e5 * cstar, rtol=1e-6)


def test_nstar_statistics_and_determinism():
    cstar = np.full((200, 200), 0.01)
    f, b = 1e4, 50.0
    out = nstar_layer(cstar, f, b, 7, 2, 1)
    resid = out - f * cstar
    assert abs(resid.mean()) < 0.3  # standard error ~0.06
    assert abs(resid.var() / (f * 0.01 + b) - 1.0) < 0.05  # standard error ~0.7 %
    npt.assert_array_equal(out, nstar_layer(cstar, f, b, 7, 2, 1))
    assert not np.array_equal(out, nstar_layer(cstar, f, b, 7, 2, 2))
    assert not np.array_equal(out, nstar_layer(cstar, f, b, 7, 3, 1))
    with pytest.raises(PyIMCOMValueError, match="sca"):
        nstar_layer(cstar, f, b, 7, 19, 1)
    with pytest.raises(PyIMCOMValueError, match="flux_e"):
        nstar_layer(cstar, np.inf, b, 7, 2, 1)


def test_cstar_layer_on_toy_wcs():
    n_side, resolution_n = 200, 17
    wcs = toy_wcs(n_side)
    calls = []

    def psf_at(x, y):
        calls.append((x, y))
        return gaussian_psf()

    img, src = cstar_layer(wcs, (n_side, n_side), resolution_n, psf_at, OV, radius_arcsec=60.0)
    assert img.shape == (n_side, n_side) and img.dtype == np.float32
    assert src.dtype == SOURCE_DTYPE and len(src) == len(calls) > 10
    x_chk, y_chk = wcs.all_world2pix(src["ra_deg"], src["dec_deg"], 0)
    npt.assert_allclose(src["x"], x_chk, atol=1e-9)
    npt.assert_allclose(src["y"], y_chk, atol=1e-9)
    npt.assert_array_equal(
        hp.ang2pix(2**resolution_n, src["ra_deg"], src["dec_deg"], lonlat=True), src["ipix_ring"]
    )
    # drawn = box overlaps the image; the image is the sum of the stars drawn one by one
    assert np.all((src["x"] > -65) & (src["x"] < n_side + 64) & (src["y"] > -65) & (src["y"] < n_side + 64))
    npt.assert_allclose(img, draw_point_sources(img.shape, src["x"], src["y"], psf_at, OV), atol=1e-6)
    inside = (np.minimum(src["x"], src["y"]) > 6) & (np.maximum(src["x"], src["y"]) < n_side - 7)
    assert inside.sum() > 5
    for star in src[inside][:5]:
        one = draw_point_sources(img.shape, [star["x"]], [star["y"]], psf_at, OV)
        assert abs(one.sum() - 1.0) < 1e-3
    partial = draw_point_sources(img.shape, src["x"][~inside], src["y"][~inside], psf_at, OV).sum()
    assert abs(img.sum() - inside.sum() - partial) < 1e-3 * len(src)


def test_cstar_layer_validation():
    wcs = toy_wcs(20)
    with pytest.raises(PyIMCOMValueError, match="resolution_n"):
        cstar_layer(wcs, (20, 20), 30, gaussian_psf, OV)
    with pytest.raises(PyIMCOMValueError, match="radius_arcsec"):
        cstar_layer(wcs, (20, 20), 14, gaussian_psf, OV, radius_arcsec=0.0)
