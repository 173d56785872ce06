"""Tests of pyimcom.psf.target: analytic target PSFs, Fourier smoothing and the PSF knobs."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from scipy.special import j0, j1

from pyimcom.errors import PyIMCOMValueError
from pyimcom.instrument import LAMBDA_OVER_D_NATIVE, OBSCURATION
from pyimcom.psf import (
    TARGET_KINDS,
    airy_annular,
    apply_psf_knobs,
    gaussian_smooth,
    target_overlap_c,
    target_psf,
)

H158_LAMBDA_OVER_D = LAMBDA_OVER_D_NATIVE[2]  # 1.250 native pixels


def _offsets(n):
    """Coordinates of the samples of an n x n grid relative to its centre ((n - 1) / 2)."""
    d = np.arange(n) - (n - 1) / 2.0
    return d[None, :], d[:, None]  # x, y


def _second_moment_x(image):
    x, _ = _offsets(image.shape[-1])
    return float(np.sum(image * x**2) / np.sum(image))


@pytest.mark.parametrize("n", [200, 201])
def test_gaussian_sum_centre_and_second_moment(n):
    sigma_native, ov = 0.9, 8
    psf = target_psf("GAUSSIAN", sigma_native, ov, n)
    sigma = sigma_native * ov
    assert psf.shape == (n, n) and psf.dtype == np.float64
    npt.assert_allclose(psf.sum(), 1.0, rtol=1e-12)
    npt.assert_allclose(_second_moment_x(psf), sigma**2, rtol=1e-10)
    npt.assert_allclose(psf, psf.T, rtol=0, atol=0)
    npt.assert_allclose(psf, psf[::-1, ::-1], rtol=1e-14)  # symmetric about (n - 1) / 2
    # analytic C = integral of Gamma^2 = 1 / (4 pi sigma^2)
    npt.assert_allclose(target_overlap_c(psf), 1.0 / (4 * np.pi * sigma**2), rtol=1e-10)


def test_airy_unobscured_first_zero():
    ov, n = 8, 161
    lam = H158_LAMBDA_OVER_D * ov  # 10 oversampled pixels
    psf = target_psf("AIRYUNOBSC", 0.0, ov, n, H158_LAMBDA_OVER_D)
    centre = (n - 1) // 2
    row = psf[centre, centre:]  # profile along +x, r = 0, 1, 2, ...
    r = np.arange(row.size)
    window = (r > 0.8 * lam) & (r < 1.6 * lam)
    r_zero = r[window][np.argmin(row[window])]
    assert abs(r_zero - 3.8317 * lam / np.pi) <= 1.0  # grid resolution: 1 oversampled pixel
    assert airy_annular(3.8317 * lam / np.pi, lam, 0.0) < 1e-9 * airy_annular(0.0, lam, 0.0)


def test_airy_unobscured_encircled_energy():
    ov, n = 8, 161
    lam = H158_LAMBDA_OVER_D * ov
    psf = target_psf("AIRYUNOBSC", 0.0, ov, n, H158_LAMBDA_OVER_D)
    x, y = _offsets(n)
    radius = 1.22 * lam
    v = np.pi * radius / lam
    expected = 1.0 - j0(v) ** 2 - j1(v) ** 2  # Rayleigh's encircled energy, 0.838
    npt.assert_allclose(psf[x**2 + y**2 <= radius**2].sum(), expected, rtol=0.01)
    npt.assert_allclose(expected, 0.838, atol=1e-3)


@pytest.mark.parametrize("eps", [0.0, OBSCURATION, 0.5])
def test_airy_annular_unit_integral(eps):
    lam, v_max = 3.0, 4000.0
    v = np.linspace(0.0, v_max, 800_001)
    r = lam * v / np.pi
    integrand = 2 * np.pi * r * airy_annular(r, lam, eps) * (lam / np.pi)  # d(area) = 2 pi r dr
    inner = np.sum((integrand[1:] + integrand[:-1]) / 2) * (v[1] - v[0])
    tail = 2.0 / ((1.0 - eps) * np.pi * v_max)  # asymptotic mean of the rings beyond v_max
    npt.assert_allclose(inner + tail, 1.0, atol=1e-5)


def test_airy_obscured_peak():
    ov, n = 8, 101
    lam = H158_LAMBDA_OVER_D * ov
    psf = target_psf("AIRYOBSC", 0.0, ov, n, H158_LAMBDA_OVER_D)
    peak = np.pi / (4 * lam**2) * (1 - OBSCURATION**2)
    npt.assert_allclose(psf[50, 50], peak, rtol=1e-6)
    assert psf[50, 50] == psf.max()
    x, y = _offsets(n)
    npt.assert_allclose(psf, airy_annular(np.hypot(x, y), lam, OBSCURATION), rtol=1e-12, atol=1e-14 * peak)


def test_gaussian_smooth_adds_variances():
    n, sigma1, sigma2 = 121, 3.0, 2.0
    image = target_psf("GAUSSIAN", sigma1, 1, n)
    smoothed = gaussian_smooth(image, sigma2)
    npt.assert_allclose(smoothed.sum(), 1.0, rtol=1e-12)
    npt.assert_allclose(_second_moment_x(smoothed), sigma1**2 + sigma2**2, rtol=1e-10)
    expected = target_psf("GAUSSIAN", np.hypot(sigma1, sigma2), 1, n)
    npt.assert_allclose(smoothed, expected, rtol=0, atol=1e-12 * expected.max())


def test_gaussian_smooth_zero_and_batch():
    rng = np.random.default_rng(3)
    images = rng.uniform(size=(2, 15, 17))
    npt.assert_array_equal(gaussian_smooth(images, 0.0), images)
    batch = gaussian_smooth(images, 1.5)
    npt.assert_allclose(batch[1], gaussian_smooth(images[1], 1.5), rtol=1e-13)
    with pytest.raises(PyIMCOMValueError, match="sigma must be finite and >= 0"):
        gaussian_smooth(images, -1.0)


def test_smoothed_airy_matches_direct_convolution():
    ov, n, sigma_native = 8, 41, 0.5
    lam, sigma = H158_LAMBDA_OVER_D * ov, sigma_native * ov
    psf = target_psf("AIRYOBSC", sigma_native, ov, n, H158_LAMBDA_OVER_D)
    half = 1 + int(np.ceil(6 * sigma))
    d = np.arange(-half, half + 1)
    kernel = np.exp(-(d[None, :] ** 2 + d[:, None] ** 2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
    c = (n - 1) / 2.0
    for iy, ix in [(20, 20), (0, 0), (5, 33)]:
        r = np.hypot(ix + d[None, :] - c, iy + d[:, None] - c)
        direct = np.sum(airy_annular(r, lam, OBSCURATION) * kernel)
        npt.assert_allclose(psf[iy, ix], direct, rtol=0, atol=1e-7 * psf.max())


def test_unknown_kind_and_bad_arguments():
    with pytest.raises(
        PyIMCOMValueError, match=r"one of \('GAUSSIAN', 'AIRYOBSC', 'AIRYUNOBSC'\); got 'GAUSS'"
    ):
        target_psf("GAUSS", 1.0, 8, 11)
    assert TARGET_KINDS == ("GAUSSIAN", "AIRYOBSC", "AIRYUNOBSC")
    with pytest.raises(PyIMCOMValueError, match="lambda_over_d_native must be > 0"):
        target_psf("AIRYOBSC", 0.5, 8, 11)
    with pytest.raises(PyIMCOMValueError, match="must be > 0 for a GAUSSIAN"):
        target_psf("GAUSSIAN", 0.0, 8, 11)
    with pytest.raises(PyIMCOMValueError, match="grid side n"):
        target_psf("GAUSSIAN", 1.0, 8, 0)
    with pytest.raises(PyIMCOMValueError, match=r"obscuration must be in \[0, 1\)"):
        target_psf("AIRYOBSC", 0.0, 8, 11, 1.0, obscuration=1.0)


def test_psfcirc_mask():
    nc = 4
    samples = np.ones((2, 2 * nc + 1, 2 * nc + 1))
    out = apply_psf_knobs(samples, psfcirc=True, psfnorm=False, nc=nc)
    q = np.arange(-nc, nc + 1)
    inside = (q[None, :] ** 2 + q[:, None] ** 2) < (nc + 0.5) ** 2
    npt.assert_array_equal(out[0], inside.astype(float))
    assert out[1, 0, 0] == 0.0 and out[1, nc, 0] == 1.0 and out[1, 0, nc] == 1.0
    npt.assert_array_equal(samples, 1.0)  # input untouched


def test_psfnorm_and_off():
    rng = np.random.default_rng(5)
    samples = rng.uniform(size=(3, 9, 9)) * np.array([1.0, 2.0, 7.0])[:, None, None]
    out = apply_psf_knobs(samples, psfcirc=False, psfnorm=True, nc=4)
    npt.assert_allclose(out.sum(axis=(1, 2)), 1.0, rtol=1e-14)
    npt.assert_allclose(out * samples.sum(axis=(1, 2))[:, None, None], samples, rtol=1e-14)
    both = apply_psf_knobs(samples, psfcirc=True, psfnorm=True, nc=4)
    npt.assert_allclose(both.sum(axis=(1, 2)), 1.0, rtol=1e-14)
    assert both[0, 0, 0] == 0.0
    off = apply_psf_knobs(samples, psfcirc=False, psfnorm=False, nc=4)
    npt.assert_array_equal(off, samples)
    assert off is not samples
    with pytest.raises(PyIMCOMValueError, match="sum is 0"):
        apply_psf_knobs(np.zeros((9, 9)), psfcirc=False, psfnorm=True, nc=4)
