"""Tests of pyimcom.io.psf (PSF files, Legendre evaluation, tophat convolution)."""

import pickle
import re

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits
from scipy.special import erf

from pyimcom.errors import ConfigError, InputFileError, PyIMCOMValueError
from pyimcom.instrument import SCA_NSIDE
from pyimcom.io.psf import (
    InputPSF,
    evaluate_legendre,
    legendre_order,
    legendre_weights,
    normalise_psf,
    psf_path,
    read_legendre_cube,
    tophat_convolve,
    tophat_pad,
    write_legendre_psf_file,
)

NSIDE = 64  # toy SCA size [native pixels]


def _gaussian(n, sigma, x0=None, y0=None):
    """Unit-sum 2-D Gaussian on an n×n grid, centred at ((n-1)/2, (n-1)/2) unless given."""
    c = (n - 1) / 2
    x0, y0 = (c if x0 is None else x0), (c if y0 is None else y0)
    yy, xx = np.indices((n, n), dtype=float)
    g = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2))
    return g / g.sum()


def _box_gaussian_1d(t, sigma, ov):
    """Exact average of the unit-area 1-D Gaussian exp(-t²/2σ²)/(√(2π)σ) over [t - ov/2, t + ov/2]."""
    s = np.sqrt(2) * sigma
    return (erf((t + ov / 2) / s) - erf((t - ov / 2) / s)) / (2 * ov)


def test_psf_path():
    assert psf_path("/p", "anlsim", 12) == "/p/psf_polyfit_12.fits"
    assert psf_path("/p", "L2_2506", 0) == "/p/psf_polyfit_0.fits"
    assert psf_path("/p", "dc2_imsim", 5) == "/p/dc2_psf_5.fits"
    with pytest.raises(PyIMCOMValueError, match="unknown PSF format 'piff'"):
        psf_path("/p", "piff", 1)


def test_legendre_order():
    assert [legendre_order(n) for n in (1, 4, 9, 16)] == [0, 1, 2, 3]
    with pytest.raises(PyIMCOMValueError, match="perfect square.*got 5"):
        legendre_order(5)


@pytest.mark.parametrize(
    ("x", "y", "u", "v"),
    [
        (31.5, 31.5, 0.0, 0.0),
        (0.0, 0.0, -31.5 / 32, -31.5 / 32),
        (63.0, 0.0, 31.5 / 32, -31.5 / 32),
        (0.0, 63.0, -31.5 / 32, 31.5 / 32),
        (63.0, 63.0, 31.5 / 32, 31.5 / 32),
    ],
)
def test_legendre_p1_is_bilinear(x, y, u, v):
    cube = np.random.default_rng(1).normal(size=(4, 5, 5))
    npt.assert_allclose(legendre_weights(x, y, NSIDE, NSIDE, 1), [1.0, u, v, u * v], atol=1e-15)
    expected = cube[0] + u * cube[1] + v * cube[2] + u * v * cube[3]
    npt.assert_allclose(evaluate_legendre(cube, x, y, NSIDE, NSIDE), expected, rtol=1e-13, atol=1e-14)


def test_legendre_default_size_is_roman_sca():
    # reference: u = (x - centre) / (nside / 2), so the last pixel centre has u = 1 - 1/nside
    e = 1.0 - 1.0 / SCA_NSIDE
    npt.assert_allclose(legendre_weights(SCA_NSIDE - 1.0, 0.0), [1.0, e, -e, -e * e], rtol=1e-15)


def test_legendre_p2_non_square_sca():
    nx, ny, x, y = 64, 48, 50.0, 7.0
    u, v = (x - 31.5) / 32, (y - 23.5) / 24
    pu = [1.0, u, (3 * u * u - 1) / 2]
    pv = [1.0, v, (3 * v * v - 1) / 2]
    cube = np.random.default_rng(2).normal(size=(9, 4, 4))
    expected = sum(pu[m] * pv[n] * cube[3 * n + m] for n in range(3) for m in range(3))
    npt.assert_allclose(evaluate_legendre(cube, x, y, nx, ny), expected, rtol=1e-13, atol=1e-14)
    assert legendre_weights(x, y, nx, ny, 2)[1] == pytest.approx(u)  # x order fastest


def test_tophat_pad():
    assert [tophat_pad(ov) for ov in (8, 6, 1, 3, 4, 2.5)] == [12, 8, 4, 4, 8, 4]
    with pytest.raises(PyIMCOMValueError, match="ov must be a positive number"):
        tophat_pad(0)


@pytest.mark.parametrize("ov", [5, 6, 8])
@pytest.mark.parametrize("offset", [0.0, 0.5, 1.3])
def test_tophat_is_box_average_of_smooth_psf(ov, offset):
    """A well-sampled Gaussian convolved with the tophat equals the exact (erf) box average."""
    n, sigma = 64, 3.5  # > 8 sigma from the edges: truncation below 1e-15
    c = (n - 1) / 2
    out = tophat_convolve(_gaussian(n, sigma, c + offset, c - offset), ov)
    npad = tophat_pad(ov)
    assert out.shape == (n + 2 * npad, n + 2 * npad)
    t = np.arange(n + 2 * npad) - npad - c
    expected = np.outer(_box_gaussian_1d(t + offset, sigma, ov), _box_gaussian_1d(t - offset, sigma, ov))
    npt.assert_allclose(out, expected, rtol=0, atol=1e-12 * expected.max())


def test_tophat_unit_dc_gain_and_centroid():
    n, ov = 32, 8
    out = tophat_convolve(_gaussian(n, 2.0), ov)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)
    yy, xx = np.indices(out.shape)
    centre = (out.shape[0] - 1) / 2
    assert (out * xx).sum() == pytest.approx(centre, abs=1e-10)
    assert (out * yy).sum() == pytest.approx(centre, abs=1e-10)


@pytest.mark.parametrize("ov", [6, 8])
def test_tophat_of_delta_matches_naive_dft(ov):
    """Delta response = separable band-limited box; compare with an explicit DFT sum."""
    n = 20
    img = np.zeros((n, n))
    img[n // 2, 7] = 1.0
    out = tophat_convolve(img, ov)
    npad = tophat_pad(ov)
    m = n + 2 * npad
    k = np.arange(m)
    kf = np.where(k <= m // 2, k, k - m) / m  # signed frequencies [cycles per pixel]

    def profile(pos):
        d = np.arange(m) - pos
        return np.array([np.sum(np.sinc(ov * kf) * np.cos(2 * np.pi * kf * dj)) / m for dj in d])

    expected = np.outer(profile(n // 2 + npad), profile(7 + npad))
    npt.assert_allclose(out, expected, rtol=0, atol=1e-14)
    # the box has full width ov: the central plateau is ~1/ov per axis and the sum is 1
    assert out.sum() == pytest.approx(1.0, abs=1e-12)
    assert out[n // 2 + npad, 7 + npad] == pytest.approx(1 / ov**2, rel=0.15)
    assert abs(out[n // 2 + npad, 7 + npad + ov]) < 0.05 / ov**2


def test_normalise_psf():
    img = np.full((3, 3), 6.0)
    npt.assert_array_equal(normalise_psf(img, "anlsim", 6), img / 36)
    npt.assert_array_equal(normalise_psf(img, "anlsim", 8), img / 64)
    npt.assert_array_equal(normalise_psf(img, "L2_2506", 8), img)
    npt.assert_array_equal(normalise_psf(img, "dc2_imsim", 8), img)


def _cube(ov, n=24):
    """p=1 cube: c0 is a unit-sum Gaussian times ov² (anlsim units), c1..c3 small gradients."""
    c0 = _gaussian(n, 2.0) * ov**2
    return np.stack([c0, 0.1 * c0, -0.2 * c0, 0.05 * c0]).astype(np.float32)


def test_write_read_legendre_file(tmp_path):
    path = psf_path(tmp_path, "anlsim", 4)
    cube = _cube(6)
    write_legendre_psf_file(path, {3: cube}, ov=6, obsid=4)
    with fits.open(path) as hdul:
        assert len(hdul) == 19
        h = hdul[0].header
        assert (h["CFORMAT"], h["PORDER"], h["NCOEF"], h["OVSAMP"], h["OBSID"], h["NSCA"]) == (
            "Legendre basis",
            1,
            4,
            6,
            4,
            18,
        )
    got = read_legendre_cube(path, 3)
    assert got.dtype == np.float64 and got.shape == cube.shape
    npt.assert_array_equal(got, cube)
    npt.assert_array_equal(read_legendre_cube(path, 18), 0.0)
    with pytest.raises(PyIMCOMValueError, match="SCA 2 has shape"):
        write_legendre_psf_file(path, {1: cube, 2: cube[:, :10, :10]}, ov=6, obsid=4)


def test_read_legendre_errors(tmp_path):
    missing = str(tmp_path / "psf_polyfit_1.fits")
    with pytest.raises(InputFileError, match=re.escape(missing)):
        read_legendre_cube(missing, 1)
    short = str(tmp_path / "short.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 3, 3)))]).writeto(short)
    with pytest.raises(InputFileError, match=rf"{re.escape(short)} has no HDU 5 for SCA 5"):
        read_legendre_cube(short, 5)
    flat = str(tmp_path / "flat.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((3, 3)))]).writeto(flat)
    with pytest.raises(InputFileError, match=rf"{re.escape(flat)}, SCA 1: expected a 3-D"):
        read_legendre_cube(flat, 1)
    with pytest.raises(ConfigError, match="SCA number"):
        read_legendre_cube(flat, 0)


def test_input_psf_anlsim(tmp_path):
    ov, sca, x, y = 6, 3, 10.0, 50.0
    path = psf_path(tmp_path, "anlsim", 4)
    cube = _cube(ov)
    write_legendre_psf_file(path, {sca: cube}, ov=ov, obsid=4)
    psf = InputPSF(path, "anlsim", ov, sca_shape=(NSIDE, NSIDE))
    raw = psf.raw(sca, x, y)
    npt.assert_allclose(raw, evaluate_legendre(cube, x, y, NSIDE, NSIDE))
    out = psf.at(sca, x, y)
    npt.assert_allclose(out, tophat_convolve(raw, ov) / ov**2)
    u, v = (x - 31.5) / 32, (y - 31.5) / 32
    assert out.sum() == pytest.approx(1 + 0.1 * u - 0.2 * v + 0.05 * u * v, rel=1e-6)
    (tmp_path / "psf_polyfit_4.fits").unlink()  # cached: no re-read
    npt.assert_array_equal(psf.at(sca, x, y), out)
    with pytest.raises(InputFileError, match="psf_polyfit_4.fits"):
        psf.at(5, x, y)


def test_input_psf_dc2_and_pickle(tmp_path):
    ov = 8
    path = psf_path(tmp_path, "dc2_imsim", 9)
    img = _gaussian(20, 2.5)
    hdus = [fits.PrimaryHDU()] + [fits.ImageHDU(img.astype(np.float32)) for _ in range(18)]
    fits.HDUList(hdus).writeto(path)
    psf = InputPSF(path, "dc2_imsim", ov)
    out = psf.at(7, 100.0, 200.0)
    assert out.shape == (20 + 2 * tophat_pad(ov),) * 2
    assert out.sum() == pytest.approx(1.0, rel=1e-6)  # dc2: no rescaling
    npt.assert_allclose(psf.raw(7, 0.0, 0.0), img, rtol=1e-6)
    back = pickle.loads(pickle.dumps(psf))
    assert repr(back) == repr(psf) and back._cache == {}
    npt.assert_array_equal(back.at(7, 100.0, 200.0), out)


def test_input_psf_validates_arguments():
    with pytest.raises(PyIMCOMValueError, match="unknown PSF format"):
        InputPSF("x.fits", "nope", 8)
    with pytest.raises(PyIMCOMValueError, match="ov must be a positive number; got -1"):
        InputPSF("x.fits", "anlsim", -1)
