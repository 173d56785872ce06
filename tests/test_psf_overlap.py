"""Tests of pyimcom.psf.overlap: FFT overlaps against a direct double-loop correlation."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from pyimcom.errors import PyIMCOMRangeError, PyIMCOMValueError
from pyimcom.psf import cross_overlap, overlap_lookup, pair_index, psf_ffts, self_overlaps

NSAMP = 9
NC = NSAMP // 2


def naive_overlap(sa, sb, nc):
    """O_ab[s] = sum_q S_a[q + s] S_b[q] by explicit loops, indexed [s_y + nc, s_x + nc]."""
    ny, nx = sa.shape
    out = np.zeros((2 * nc + 1, 2 * nc + 1))
    for sy in range(-nc, nc + 1):
        for sx in range(-nc, nc + 1):
            total = 0.0
            for qy in range(ny):
                for qx in range(nx):
                    if 0 <= qy + sy < ny and 0 <= qx + sx < nx:
                        total += sa[qy + sy, qx + sx] * sb[qy, qx]
            out[sy + nc, sx + nc] = total
    return out


@pytest.fixture
def samples():
    """Five random positive 9 x 9 'PSFs' (positive so that rtol comparisons are meaningful)."""
    return np.random.default_rng(11).uniform(0.1, 1.0, size=(5, NSAMP, NSAMP))


@pytest.mark.parametrize("nfft", [2 * NSAMP - 1, 2 * (NSAMP + 1), 32])
def test_cross_overlap_matches_direct_correlation(samples, nfft):
    ffts = psf_ffts(samples, nfft)
    assert ffts.shape == (5, nfft, nfft // 2 + 1) and ffts.dtype == np.complex128
    for a, b in [(0, 1), (2, 2), (4, 3)]:
        got = cross_overlap(ffts[a], ffts[b], NC)
        assert got.shape == (2 * NC + 1, 2 * NC + 1) and got.dtype == np.float64
        npt.assert_allclose(got, naive_overlap(samples[a], samples[b], NC), rtol=1e-12)


@pytest.mark.parametrize("nc", [0, 1, NC])
def test_cross_overlap_padded_output(samples, nc):
    ffts = psf_ffts(samples, 32)
    got = cross_overlap(ffts[1:3], ffts[3:5], nc, pad=3)
    size = 2 * nc + 1
    assert got.shape == (2, size + 6, size + 6)
    for k in range(2):
        expected = np.pad(naive_overlap(samples[1 + k], samples[3 + k], nc), 3)
        npt.assert_allclose(got[k], expected, rtol=1e-12, atol=1e-13)
    assert np.all(got[:, :3] == 0) and np.all(got[:, :, -3:] == 0)
    with pytest.raises(PyIMCOMValueError, match="pad must be an integer >= 0"):
        cross_overlap(ffts[0], ffts[1], nc, pad=-1)
    # into a given (strided, dirty) array: same values, borders zeroed
    big = np.full((2, 3, size + 6, size + 6), np.nan)
    res = cross_overlap(ffts[1:3], ffts[3:5], nc, pad=3, out=big[:, 1])
    assert np.shares_memory(res, big)
    npt.assert_array_equal(big[:, 1], got)
    assert np.all(np.isnan(big[:, 0])) and np.all(np.isnan(big[:, 2]))
    with pytest.raises(PyIMCOMValueError, match="out must be a float64 array of shape"):
        cross_overlap(ffts[1:3], ffts[3:5], nc, pad=3, out=np.zeros((2, size, size)))


def test_cross_overlap_lag_direction():
    sa = np.zeros((NSAMP, NSAMP))
    sb = np.zeros((NSAMP, NSAMP))
    sa[4 + 1, 4 + 3] = 1.0  # S_a is S_b shifted by s = (s_x, s_y) = (3, 1)
    sb[4, 4] = 1.0
    ffts = psf_ffts(np.stack([sa, sb]), 20)
    got = cross_overlap(ffts[0], ffts[1], NC)
    assert np.unravel_index(np.argmax(got), got.shape) == (1 + NC, 3 + NC)


def test_swap_flips_both_axes(samples):
    ffts = psf_ffts(samples, 20)
    o_ab = cross_overlap(ffts[0], ffts[1], NC)
    o_ba = cross_overlap(ffts[1], ffts[0], NC)
    npt.assert_allclose(o_ba, o_ab[::-1, ::-1], rtol=1e-12)


def test_zero_lag_is_sum_of_squares(samples):
    ffts = psf_ffts(samples, 20)
    packed = self_overlaps(ffts, NC)
    for a in range(5):
        zero_lag = overlap_lookup(packed, a, a, 5)[NC, NC]
        npt.assert_allclose(zero_lag, np.sum(samples[a] ** 2), rtol=1e-13)


@pytest.mark.parametrize("n", [4, 6])  # 6 PSFs = 21 pairs, more than one batch
def test_self_overlaps_packing(n):
    samples = np.random.default_rng(n).uniform(0.1, 1.0, size=(n, NSAMP, NSAMP))
    ffts = psf_ffts(samples, 20)
    packed = self_overlaps(ffts, NC)
    assert packed.shape == (n * (n + 1) // 2, 2 * NC + 1, 2 * NC + 1)
    expected_order = [(a, b) for a in range(n) for b in range(a, n)]
    for k, (a, b) in enumerate(expected_order):
        assert pair_index(a, b, n) == (k, False)
        npt.assert_allclose(packed[k], naive_overlap(samples[a], samples[b], NC), rtol=1e-12)
    for a in range(n):
        for b in range(n):
            npt.assert_allclose(
                overlap_lookup(packed, a, b, n), cross_overlap(ffts[a], ffts[b], NC), rtol=1e-12
            )


def test_pair_index_flip_and_range():
    assert pair_index(0, 0, 4) == (0, False)
    assert pair_index(0, 3, 4) == (3, False)
    assert pair_index(1, 1, 4) == (4, False)
    assert pair_index(3, 3, 4) == (9, False)
    assert pair_index(3, 1, 4) == (pair_index(1, 3, 4)[0], True)
    with pytest.raises(PyIMCOMRangeError, match=r"0 \.\. 3 \(n = 4\); got a = 4, b = 0"):
        pair_index(4, 0, 4)
    with pytest.raises(PyIMCOMValueError, match="n \\(n \\+ 1\\) / 2 = 10"):
        overlap_lookup(np.zeros((6, 3, 3)), 0, 0, 4)


def test_broadcast_cross_overlaps_of_two_sets(samples):
    f1 = psf_ffts(samples[:2], 20)
    f2 = psf_ffts(samples[2:], 20)
    all_pairs = cross_overlap(f1[:, None], f2[None, :], NC)
    assert all_pairs.shape == (2, 3, 2 * NC + 1, 2 * NC + 1)
    npt.assert_allclose(all_pairs[1, 2], naive_overlap(samples[1], samples[4], NC), rtol=1e-12)


def test_one_psf_against_a_stack_matches_direct_correlation(samples):
    """The engine's case (one transform against a stack; a one-pass cross-spectrum kernel)."""
    ffts = psf_ffts(samples, 20)
    got = cross_overlap(ffts[1], ffts[2:], NC, pad=2)
    assert got.shape == (3, 2 * NC + 5, 2 * NC + 5)
    for k in range(3):
        npt.assert_allclose(got[k], np.pad(naive_overlap(samples[1], samples[2 + k], NC), 2), rtol=1e-12,
                            atol=1e-13)  # fmt: skip


@pytest.mark.parametrize("amppen", [(0.0, 0.5), (2.0, 0.0), (0.0, 0.0)])
def test_amppen_off_changes_nothing(samples, amppen):
    npt.assert_array_equal(psf_ffts(samples, 20, amppen=amppen, ov=8), psf_ffts(samples, 20))


def test_amppen_on_delta_function():
    """A delta PSF gives O = inverse DFT of (1 + a g)^2, g = exp(-2 pi^2 f^2 W^2), W = w ov.

    The inverse DFT of g is a unit Gaussian of variance W^2 and that of g^2 one of variance 2 W^2
    (aliasing is below 1e-30 for W = 4 and nfft = 128), so
    O[s] = delta_s0 + 2 a G(s; W^2) + a^2 G(s; 2 W^2).
    """
    amp, width_native, ov, nfft = 0.7, 0.5, 8, 128
    width = width_native * ov
    delta = np.zeros((NSAMP, NSAMP))
    delta[NC, NC] = 1.0
    ffts = psf_ffts(delta, nfft, amppen=(amp, width_native), ov=ov)
    got = cross_overlap(ffts, ffts, NC)
    s = np.arange(-NC, NC + 1)
    s2 = s[None, :] ** 2 + s[:, None] ** 2

    def gaussian(var):
        return np.exp(-s2 / (2 * var)) / (2 * np.pi * var)

    expected = (s2 == 0) + 2 * amp * gaussian(width**2) + amp**2 * gaussian(2 * width**2)
    npt.assert_allclose(got, expected, rtol=1e-12)
    npt.assert_allclose(
        got[NC, NC], 1 + amp / (np.pi * width**2) + amp**2 / (4 * np.pi * width**2), rtol=1e-12
    )


def test_bad_sizes():
    with pytest.raises(PyIMCOMValueError, match=r"nfft must be an integer >= \(3 nsamp - 1\) / 2 = 13"):
        psf_ffts(np.ones((NSAMP, NSAMP)), 12)
    with pytest.raises(PyIMCOMValueError, match="nsamp, nsamp"):
        psf_ffts(np.ones((3, 4)), 16)
    f20 = psf_ffts(np.ones((NSAMP, NSAMP)), 20)
    f24 = psf_ffts(np.ones((NSAMP, NSAMP)), 24)
    with pytest.raises(PyIMCOMValueError, match="same nfft"):
        cross_overlap(f20, f24, NC)
    with pytest.raises(PyIMCOMValueError, match="2 nc \\+ 1 <= nfft = 20"):
        cross_overlap(f20, f20, 10)


def test_smallest_fft_size_gives_the_same_overlaps():
    """Any nfft >= 3 nc + 1 is exact for lags |s| <= nc (no aliasing of the kept lags)."""
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(2, NSAMP, NSAMP))
    small = cross_overlap(*(psf_ffts(x, 3 * NC + 1) for x in (a, b)), NC)
    large = cross_overlap(*(psf_ffts(x, 4 * NSAMP) for x in (a, b)), NC)
    np.testing.assert_allclose(small, large, rtol=0, atol=1e-12 * np.abs(large).max())
