"""Tests of pyimcom.layers.galsim_ext (gstrstar, gsfdstar, gsext, gsextchrom input layers)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import numpy.testing as npt
import pytest
from astropy.wcs import WCS

from pyimcom.errors import ConfigError, PyIMCOMValueError
from pyimcom.instrument import FPA_RADIUS_MM, SCA_FPA_X_MM, SCA_FPA_Y_MM, SCA_ORIENT
from pyimcom.io.psf import InputPSF, psf_path, write_legendre_psf_file
from pyimcom.layers.build import LayerSettings, _layer
from pyimcom.layers.galaxy_params import GsextOptions, galaxy_params, sky_shape_matrix
from pyimcom.layers.galsim_ext import (
    GALAXY_SOURCE_DTYPE,
    GSEXT_MARGIN_PIX,
    STAR_SOURCE_DTYPE,
    draw_stars,
    focal_plane_flux,
    gsext_layer,
    gsextchrom_layer,
    gsfdstar_layer,
    gstrstar_layer,
    orientation_bit,
    pixel_jacobian,
)
from pyimcom.layers.galsim_stars import gsstar_layer, nested_candidates
from pyimcom.layers.recipes import parse_recipe

OV = 8
PIX_DEG = 0.11 / 3600
SIGMA_REF = 0.9265328730414752  # Gaussian PSF sigma of the reference test [native pixels]


def gaussian_psf(sigma=SIGMA_REF, n=96):
    """Gaussian PSF array, sigma in native pixels, sampled at OV per pixel, centred, sum 1."""
    vv, uu = np.mgrid[0:n, 0:n] - (n - 1) / 2
    psf = np.exp(-0.5 * (uu**2 + vv**2) / (sigma * OV) ** 2)
    return psf / psf.sum()


def toy_wcs(n_side, angle_deg=0.0, flip=False, crval=(60.0, -4.0)):
    """TAN WCS, 0.11"/px, reference point at the image centre; +y is North rotated by angle_deg."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    parity = np.diag([1.0, 1.0] if flip else [-1.0, 1.0])  # default: +x = West (RA decreasing)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = [(n_side + 1) / 2, (n_side + 1) / 2]
    wcs.wcs.cd = PIX_DEG * parity @ rot
    return wcs


def west_north_jacobian(wcs):
    """d(W, N)/d(x, y) [arcsec / px] of a TAN WCS at its reference point (W = -RA offset)."""
    return np.diag([-1.0, 1.0]) @ wcs.wcs.cd * 3600.0


def inner(src, n_side, margin=25):
    """Sources whose position is more than ``margin`` pixels inside the image."""
    lo, hi = np.minimum(src["x"], src["y"]), np.maximum(src["x"], src["y"])
    return src[(lo > margin) & (hi < n_side - 1 - margin)]


def box_moments(img, x, y, half):
    """Flux, centroid and second-moment matrix [px^2] in a box around (x, y)."""
    ix, iy = int(round(x)), int(round(y))
    sub = img[iy - half : iy + half + 1, ix - half : ix + half + 1].astype(np.float64)
    yy, xx = np.mgrid[iy - half : iy + half + 1, ix - half : ix + half + 1]
    f = sub.sum()
    cx, cy = (sub * xx).sum() / f, (sub * yy).sum() / f
    dx, dy = xx - cx, yy - cy
    cxy = (sub * dx * dy).sum()
    return f, cx, cy, np.array([[(sub * dx * dx).sum(), cxy], [cxy, (sub * dy * dy).sum()]]) / f


# --- shared helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize("angle, flip", [(0.0, False), (60.0, False), (-130.0, True)])
def test_pixel_jacobian_of_a_tan_wcs(angle, flip):
    wcs = toy_wcs(200, angle, flip)
    jac = pixel_jacobian(wcs, [99.5, 99.5], [99.5, 99.5])
    assert jac.shape == (2, 2, 2)
    npt.assert_allclose(jac[0], west_north_jacobian(wcs), rtol=0, atol=1e-9)
    # away from the tangent point the local North turns by ~ dRA sin(dec) (3e-6 rad at 10 arcsec)
    npt.assert_allclose(pixel_jacobian(wcs, [10.0], [180.0])[0], west_north_jacobian(wcs), atol=1e-6)


def test_orientation_bit():
    assert orientation_bit(toy_wcs(64), (64, 64), 1) == 0  # +Y north
    assert orientation_bit(toy_wcs(64), (64, 64), 3) == 1  # sca % 3 == 0 flips
    assert orientation_bit(toy_wcs(64, 180.0), (64, 64), 1) == 1  # +Y south
    assert orientation_bit(toy_wcs(64, 100.0), (64, 64), 18) == 0
    assert orientation_bit(toy_wcs(64, 80.0), (64, 64), 2) == 0
    with pytest.raises(ConfigError):
        orientation_bit(toy_wcs(64), (64, 64), 19)


def test_focal_plane_flux_formula():
    x, y = np.array([0.0, 2043.5, 4087.0]), np.array([100.0, 2043.5, 3000.0])
    for sca in (1, 3, 7, 18):
        k = sca - 1
        xf = SCA_FPA_X_MM[k] + 0.01 * (x - 2043.5) * SCA_ORIENT[k]
        yf = SCA_FPA_Y_MM[k] + 0.01 * (y - 2043.5) * SCA_ORIENT[k]
        want = 1 + 0.05 * (xf**2 + yf**2) / 151.07129575137697**2
        npt.assert_allclose(focal_plane_flux(x, y, sca, 0.05, (4088, 4088)), want, rtol=1e-15)
    assert FPA_RADIUS_MM == 151.07129575137697
    # the field corner is at the circumscribing radius: flux 1 + A there, at most
    assert focal_plane_flux(0.0, 0.0, 1, 1.0, (4088, 4088)) < 2.0


# --- gstrstar ------------------------------------------------------------------------------------

N_STAR = 160
RES_STAR = 16  # HEALPix spacing ~3.2 arcsec ~ 29 px


@pytest.mark.parametrize("angle, sca, parity", [(0.0, 1, 0), (0.0, 3, 1), (180.0, 1, 1), (170.0, 12, 0)])
def test_gstrstar_draws_exactly_the_stars_of_one_parity(angle, sca, parity):
    wcs = toy_wcs(N_STAR, angle)
    psf = gaussian_psf(1.0)
    img, src = gstrstar_layer(wcs, (N_STAR, N_STAR), RES_STAR, sca, lambda x, y: psf, OV)
    assert img.dtype == np.float32 and src.dtype == STAR_SOURCE_DTYPE
    ipix, _, _, x, y = nested_candidates(2**RES_STAR, wcs, (N_STAR, N_STAR), 16)
    npt.assert_array_equal(src["ipix_nest"], ipix)
    npt.assert_array_equal(src["visible"], ipix % 2 == parity)  # (ipix + s) even <=> ipix % 2 == s
    assert 0 < src["visible"].sum() < len(src)
    npt.assert_array_equal(src["flux"], 1.0)
    on = ipix % 2 == parity
    want = draw_stars((N_STAR, N_STAR), x[on], y[on], np.ones(on.sum()), lambda x, y: psf, OV)
    npt.assert_array_equal(img, want)


def test_gstrstar_complementary_sets_sum_to_gsstar():
    wcs, psf = toy_wcs(N_STAR, 30.0), gaussian_psf(1.0)
    args = (wcs, (N_STAR, N_STAR), RES_STAR)
    on = gstrstar_layer(*args, 1, lambda x, y: psf, OV)[0].astype(np.float64)
    off = gstrstar_layer(*args, 3, lambda x, y: psf, OV)[0].astype(np.float64)  # flipped parity
    full = gsstar_layer(*args, lambda x, y: psf, OV)[0].astype(np.float64)
    npt.assert_allclose(on + off, full, atol=1e-6 * full.max())
    assert np.abs(on - off).max() > 0.1 * full.max()


# --- gsfdstar ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sca", [1, 9, 15])
def test_gsfdstar_star_fluxes(sca):
    amp = 3.0
    wcs, psf = toy_wcs(N_STAR, 20.0), gaussian_psf(1.0)
    img, src = gsfdstar_layer(wcs, (N_STAR, N_STAR), RES_STAR, amp, sca, lambda x, y: psf, OV)
    ipix, _, _, x, y = nested_candidates(2**RES_STAR, wcs, (N_STAR, N_STAR), 16)
    npt.assert_array_equal(src["ipix_nest"], ipix)
    assert src["visible"].all()
    k = sca - 1
    xf = SCA_FPA_X_MM[k] + 0.01 * (x - 79.5) * SCA_ORIENT[k]
    yf = SCA_FPA_Y_MM[k] + 0.01 * (y - 79.5) * SCA_ORIENT[k]
    npt.assert_allclose(src["flux"], 1 + amp * (xf**2 + yf**2) / FPA_RADIUS_MM**2, rtol=1e-14)
    inner = (x > 12) & (x < N_STAR - 13) & (y > 12) & (y < N_STAR - 13)
    assert inner.sum() >= 5
    for s in src[inner]:
        f, cx, cy, _ = box_moments(img, s["x"], s["y"], 7)
        assert abs(f - s["flux"]) < 2e-4 * s["flux"]
        assert abs(cx - s["x"]) < 2e-3 and abs(cy - s["y"]) < 2e-3
    # stars differ in flux only: the layer is the unit-flux layer reweighted star by star
    unit = draw_stars((N_STAR, N_STAR), x, y, np.ones(len(x)), lambda x, y: psf, OV)
    assert np.abs(img - unit).max() > 0.5 * (src["flux"].min() - 1) * unit.max()


# --- gsext ---------------------------------------------------------------------------------------

N_GAL = 256
FORCED = "gsext14,n=0.5,hlr=0.1,shape=0.2:0.1,shear=0.05:-0.12"


def _opts(text):
    r = parse_recipe(text)
    return GsextOptions.from_recipe(r.args[-1], r.text)


@pytest.mark.parametrize("angle, flip", [(0.0, False), (60.0, False), (-35.0, True)])
def test_forced_shape_galaxy_second_moments(angle, flip):
    """Image moments = sigma_g^2 M M^T + sigma_psf^2 I (sky frame), mapped through the pixel Jacobian."""
    wcs = toy_wcs(N_GAL, angle, flip)
    psf = gaussian_psf()
    opts = _opts(FORCED)
    img, src = gsext_layer(wcs, (N_GAL, N_GAL), 14, opts, lambda x, y: psf, OV)
    assert img.shape == (N_GAL, N_GAL) and img.dtype == np.float32 and src.dtype == GALAXY_SOURCE_DTYPE
    jac = west_north_jacobian(wcs)  # arcsec per px
    m = sky_shape_matrix(0.2, 0.1, opts)
    sigma_g = 0.1 / math.sqrt(2 * math.log(2))
    want_sky = sigma_g**2 * m @ m.T + (SIGMA_REF * 0.11) ** 2 * np.eye(2)
    inside = inner(src, N_GAL)
    assert len(inside) >= 1
    for s in inside:
        f, cx, cy, c_pix = box_moments(img, s["x"], s["y"], 20)
        c_sky = jac @ c_pix @ jac.T  # arcsec^2, (W, N)
        npt.assert_allclose(c_sky, want_sky, rtol=0, atol=3e-4)  # acceptance (reference test)
        npt.assert_allclose(c_sky, want_sky, rtol=0, atol=5e-6)  # what the drawing actually achieves
        assert abs(f - 1.0) < 1e-4
        assert abs(cx - s["x"]) < 1e-3 and abs(cy - s["y"]) < 1e-3
    npt.assert_array_equal(src["hlr_arcsec"], 0.1)
    npt.assert_array_equal(src["sersic_n"], 0.5)


def test_random_galaxies_have_unit_flux_and_table_entries():
    """exp1 galaxies (n = 13: ~235 px apart) each sum to 1 when fully on the image."""
    n_side, res = 512, 13
    wcs, psf = toy_wcs(n_side, 25.0, crval=(60.03, -3.97)), gaussian_psf(1.1)
    img, src = gsext_layer(wcs, (n_side, n_side), res, GsextOptions(), lambda x, y: psf, OV)
    ipix, ra, dec, x, y = nested_candidates(2**res, wcs, (n_side, n_side), GSEXT_MARGIN_PIX)
    npt.assert_array_equal(src["ipix_nest"], ipix)
    npt.assert_array_equal(src["ra_deg"], ra)
    npt.assert_array_equal(src["x"], x)
    npt.assert_array_equal(src["flux"], 1.0)
    p = galaxy_params(res, ipix, GsextOptions())
    for name in ("hlr_arcsec", "g1", "g2", "sersic_n"):
        npt.assert_array_equal(src[name], p[name])
    npt.assert_allclose(src["g1_final"], p["g1"], atol=1e-14)  # no rot/shear: final = intrinsic
    # assign every pixel to its nearest galaxy; galaxies far from the edges sum to 1
    yy, xx = np.mgrid[0:n_side, 0:n_side]
    d2 = (xx[..., None] - x) ** 2 + (yy[..., None] - y) ** 2
    owner = np.argmin(d2, axis=-1)
    edge = 8 * src["hlr_arcsec"] / 0.11 * 1.8 + 8  # truncation radius x max stretch + PSF
    full = (x > edge) & (x < n_side - 1 - edge) & (y > edge) & (y < n_side - 1 - edge)
    assert full.sum() >= 2
    for k in np.flatnonzero(full):
        flux = img[owner == k].sum(dtype=np.float64)
        assert abs(flux - 1.0) < 1e-3, (k, flux)
    assert img.min() > -1e-5 * img.max()  # FFT ringing only


def test_same_galaxy_same_parameters_in_two_scas():
    opts = GsextOptions(seed=100, shear=(-0.01, 0.017320508075688773))
    psf = gaussian_psf(1.0)
    _, a = gsext_layer(toy_wcs(N_GAL, 10.0), (N_GAL, N_GAL), 14, opts, lambda x, y: psf, OV)
    _, b = gsext_layer(toy_wcs(N_GAL, 200.0, crval=(60.004, -3.996)), (N_GAL, N_GAL), 14, opts,
                       lambda x, y: psf, OV)  # fmt: skip
    common = np.intersect1d(a["ipix_nest"], b["ipix_nest"])
    assert len(common) >= 3 and len(common) < min(len(a), len(b))
    cols = ["ra_deg", "dec_deg", "hlr_arcsec", "g1", "g2", "sersic_n", "g1_final", "g2_final"]
    sa, sb = a[np.isin(a["ipix_nest"], common)], b[np.isin(b["ipix_nest"], common)]
    for c in cols:
        npt.assert_array_equal(sa[c], sb[c])
    assert np.abs(sa["x"] - sb["x"]).max() > 1.0  # but they land elsewhere on the two images


def test_gsextchrom_differs_only_through_the_psf():
    wcs = toy_wcs(N_GAL, 60.0)
    psf_a, psf_b = gaussian_psf(1.0), gaussian_psf(1.4, 128)
    opts = _opts("gsextchrom14,/psf/dir,n=0.5,hlr=0.1,shape=0.2:0.1")
    img_a, src_a = gsext_layer(wcs, (N_GAL, N_GAL), 14, opts, lambda x, y: psf_a, OV)
    img_b, src_b = gsextchrom_layer(wcs, (N_GAL, N_GAL), 14, opts, lambda x, y: psf_b, OV)
    npt.assert_array_equal(src_a, src_b)
    assert np.abs(img_a - img_b).max() > 0.05 * img_a.max()
    npt.assert_array_equal(gsextchrom_layer(wcs, (N_GAL, N_GAL), 14, opts, lambda x, y: psf_a, OV)[0], img_a)
    # only the width changed: the galaxy moment difference is the PSF moment difference
    s = inner(src_a, N_GAL)[0]
    ca, cb = box_moments(img_a, s["x"], s["y"], 20)[3], box_moments(img_b, s["x"], s["y"], 20)[3]
    npt.assert_allclose(cb - ca, (1.4**2 - 1.0**2) * np.eye(2), atol=3e-4)  # (1.4 px: array cut at 4.6 sigma)


def test_gsext_validation():
    psf = gaussian_psf(1.0)
    with pytest.raises(PyIMCOMValueError, match="opts"):
        gsext_layer(toy_wcs(32), (32, 32), 14, {"seed": 1}, lambda x, y: psf, OV)
    with pytest.raises(PyIMCOMValueError, match="ov"):
        gsext_layer(toy_wcs(32), (32, 32), 14, GsextOptions(), lambda x, y: psf, 0)
    with pytest.raises(PyIMCOMValueError, match="resolution_n"):
        gstrstar_layer(toy_wcs(32), (32, 32), 30, 1, lambda x, y: psf, OV)
    with pytest.raises(ConfigError):
        gsfdstar_layer(toy_wcs(32), (32, 32), 14, 0.1, 0, lambda x, y: psf, OV)


# --- dispatch through the layer builder ---------------------------------------------------------


@pytest.fixture(scope="module")
def psf_dirs(tmp_path_factory):
    """Two anlsim PSF directories for obsid 5: Legendre order 1 (drawing PSF) and order 2 (chrom)."""
    root = tmp_path_factory.mktemp("psf")
    n = 64
    cube1 = np.zeros((4, n, n))
    cube1[0] = gaussian_psf(1.0, n) * OV**2  # anlsim: flux per native-pixel area
    cube2 = np.zeros((9, n, n))
    cube2[0] = gaussian_psf(1.3, n) * OV**2
    cube2[1] = 0.05 * cube2[0]  # a small P1(u) term
    for sub, cube in (("draw", cube1), ("chrom", cube2)):
        (root / sub).mkdir()
        write_legendre_psf_file(psf_path(root / sub, "anlsim", 5), {2: cube}, OV, 5)
    return root


def _image(n_side=N_GAL):
    return SimpleNamespace(obsid=5, sca=2, wcs=toy_wcs(n_side, 60.0), path="/nonexistent")


def _settings(root, recipe):
    return LayerSettings(extrainput=(recipe,), informat="anlsim", filter_name="H158",
                         draw_psf=(str(root / "draw"), "anlsim", OV), pmask=None, cmask=0.0,
                         labnoise_threshold=1.0)  # fmt: skip


def _psf_at(root, sub, n_side=N_GAL):
    psf = InputPSF(psf_path(root / sub, "anlsim", 5), "anlsim", OV, (n_side, n_side))
    return lambda x, y: psf.at(2, x, y)


def test_builder_draws_gsext_and_gsextchrom(psf_dirs):
    image, shape = _image(), (N_GAL, N_GAL)
    text = f"gsextchrom14,{psf_dirs / 'chrom'},n=0.5,hlr=0.1,shape=0.2:0.1"
    chrom = _layer(parse_recipe(text), image, _settings(psf_dirs, text), *shape)
    opts = _opts(text)
    want, src = gsext_layer(image.wcs, shape, 14, opts, _psf_at(psf_dirs, "chrom"), OV)
    npt.assert_array_equal(chrom, want)
    text2 = "gsext14,n=0.5,hlr=0.1,shape=0.2:0.1"
    plain = _layer(parse_recipe(text2), image, _settings(psf_dirs, text2), *shape)
    npt.assert_array_equal(plain, gsext_layer(image.wcs, shape, 14, opts, _psf_at(psf_dirs, "draw"), OV)[0])
    assert np.abs(plain - chrom).max() > 0.02 * plain.max()
    # the order-2 anlsim cube is normalised like the drawing one: flux 1 + 0.05 P1(u) at the galaxy
    s = inner(src, N_GAL)[0]
    u = (s["x"] - (N_GAL - 1) / 2) / (N_GAL / 2)
    assert abs(box_moments(chrom, s["x"], s["y"], 20)[0] - (1.0 + 0.05 * u)) < 1e-4


def test_builder_draws_gstrstar_and_gsfdstar(psf_dirs):
    image, shape = _image(N_STAR), (N_STAR, N_STAR)
    psf_at = _psf_at(psf_dirs, "draw", N_STAR)
    got = _layer(parse_recipe("gstrstar16"), image, _settings(psf_dirs, "gstrstar16"), *shape)
    npt.assert_array_equal(got, gstrstar_layer(image.wcs, shape, 16, 2, psf_at, OV)[0])
    got = _layer(parse_recipe("gsfdstar16,0.5"), image, _settings(psf_dirs, "gsfdstar16,0.5"), *shape)
    npt.assert_array_equal(got, gsfdstar_layer(image.wcs, shape, 16, 0.5, 2, psf_at, OV)[0])


def test_builder_rejects_bad_gsext_options(psf_dirs):
    text = "gsext14,hlr=-1"
    with pytest.raises(ConfigError, match=r"'gsext14,hlr=-1'.*option hlr"):
        _layer(parse_recipe(text), _image(64), _settings(psf_dirs, text), 64, 64)
