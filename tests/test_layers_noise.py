"""Tests of pyimcom.layers.noise (whitenoise<q> and 1fnoise<q> input layers)."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from pyimcom.errors import PyIMCOMValueError
from pyimcom.instrument import REFPIX_BORDER, SCA_NSIDE, SCA_NSIDE_WITH_REFPIX
from pyimcom.layers.noise import (
    N_READOUT_CHANNELS,
    _one_over_f_channels,
    _one_over_f_frame,
    noise_seed,
    one_over_f_noise,
    white_noise,
)

SMALL = 56  # raw side 64, channel width 2
SMALL_RAW = SMALL + 2 * REFPIX_BORDER


def naive_one_over_f(seed, nside):
    """Plain transcription of the spec recipe (reference-style amplitudes from linspace)."""
    raw = nside + 2 * REFPIX_BORDER
    width = raw // 32
    n = 2 * raw * width
    freq = np.linspace(0.0, 1.0 - 1.0 / n, n)
    freq[n // 2 :] -= 1.0
    amp = (1.0e-99 + np.abs(freq * n)) ** (-0.5)
    amp[0] = 0.0
    rng = np.random.default_rng(seed)
    frame = np.zeros((raw, raw))
    for ch in range(32):
        z = np.zeros(n, dtype=np.complex128)
        z[:] = rng.normal(0.0, 1.0, size=n)
        z[:] += 1j * rng.normal(0.0, 1.0, size=n)
        z *= amp
        half = np.fft.fft(z).real[: n // 2] / np.sqrt(2.0)
        half -= half.mean()
        block = half.reshape(raw, width)
        if ch % 2 == 1:
            block = block[:, ::-1]
        frame[:, ch * width : (ch + 1) * width] = block
    b = REFPIX_BORDER
    return frame[b : raw - b, b : raw - b].astype(np.float32)


def test_seed_formula():
    assert noise_seed(0, 1, 0) == 1_000_000
    assert noise_seed(12, 3, 1) == 1_000_000 * 21 + 12
    assert noise_seed(999_999, 18, 2) == 1_000_000 * 54 + 999_999
    assert noise_seed(np.int64(7), np.int32(5), np.int16(0)) == 5_000_007
    # unique over SCAs and realisations for fixed obsid
    seeds = {noise_seed(3, s, q) for s in range(1, 19) for q in range(4)}
    assert len(seeds) == 18 * 4


@pytest.mark.parametrize("func", [white_noise, one_over_f_noise])
def test_determinism(func):
    a = func(4, 7, 1, nside=SMALL)
    assert a.shape == (SMALL, SMALL) and a.dtype == np.float32
    npt.assert_array_equal(a, func(4, 7, 1, nside=SMALL))
    for other in [(5, 7, 1), (4, 8, 1), (4, 7, 2)]:
        assert not np.array_equal(a, func(*other, nside=SMALL))


def test_white_noise_matches_direct_draw():
    obsid, sca, q, nside = 321, 11, 3, 100
    expected = np.random.default_rng(1000000 * (18 * q + sca) + obsid).normal(0.0, 1.0, (nside, nside))
    npt.assert_array_equal(white_noise(obsid, sca, q, nside=nside), expected.astype(np.float32))


def test_white_noise_statistics():
    img = white_noise(1, 2, 0, nside=400).astype(np.float64)
    n = img.size
    assert abs(img.mean()) < 5 / np.sqrt(n)
    assert abs(img.std() - 1.0) < 5 / np.sqrt(2 * n)
    # neighbouring pixels uncorrelated
    assert abs(np.mean(img[:, 1:] * img[:, :-1])) < 5 / np.sqrt(n)


def test_white_noise_default_size():
    assert white_noise(0, 1, 0).shape == (SCA_NSIDE, SCA_NSIDE)


@pytest.mark.parametrize("args", [(0, 1, 0), (17, 18, 4), (5, 9, 2)])
def test_one_over_f_matches_naive_small(args):
    out = one_over_f_noise(*args, nside=SMALL)
    npt.assert_array_equal(out, naive_one_over_f(noise_seed(*args), SMALL))
    # a non-power-of-two raw side still agrees to float32 rounding
    out = one_over_f_noise(*args, nside=88)
    npt.assert_allclose(out, naive_one_over_f(noise_seed(*args), 88), rtol=1e-6, atol=1e-6)


def test_one_over_f_full_size_matches_naive():
    seed = noise_seed(42, 6, 1)
    out = one_over_f_noise(42, 6, 1)
    assert out.shape == (SCA_NSIDE, SCA_NSIDE) and out.dtype == np.float32
    npt.assert_array_equal(out, naive_one_over_f(seed, SCA_NSIDE))
    # per-pixel variance ~ ln(2^19) + Euler gamma minus the removed mean (spec: ~12.8)
    assert 10.0 < out.var() < 16.0


def test_channel_streams_have_zero_mean():
    blocks = list(_one_over_f_channels(noise_seed(2, 4, 0), SMALL_RAW))
    assert len(blocks) == N_READOUT_CHANNELS
    for block in blocks:
        assert block.shape == (SMALL_RAW, SMALL_RAW // N_READOUT_CHANNELS)
        assert abs(block.mean()) < 1e-12 * max(1.0, np.abs(block).max())
    # the uncropped frame has zero mean per channel too (float32 rounding only)
    frame = _one_over_f_frame(noise_seed(2, 4, 0), SMALL_RAW).astype(np.float64)
    per_channel = frame.reshape(SMALL_RAW, N_READOUT_CHANNELS, -1).mean(axis=(0, 2))
    npt.assert_allclose(per_channel, 0.0, atol=1e-5)


def test_odd_channels_reversed():
    seed = noise_seed(8, 1, 3)
    width = SMALL_RAW // N_READOUT_CHANNELS
    flipped = _one_over_f_frame(seed, SMALL_RAW)
    plain = _one_over_f_frame(seed, SMALL_RAW, reverse_odd=False)
    for ch in range(N_READOUT_CHANNELS):
        cols = slice(ch * width, (ch + 1) * width)
        expected = plain[:, cols][:, ::-1] if ch % 2 else plain[:, cols]
        npt.assert_array_equal(flipped[:, cols], expected)
    assert not np.array_equal(flipped, plain)
    b = REFPIX_BORDER
    npt.assert_array_equal(one_over_f_noise(8, 1, 3, nside=SMALL), flipped[b:-b, b:-b])


def test_one_over_f_spectrum_slope():
    # raw side 1024: 32 channels of 32768-sample read streams
    raw = 1024
    power = 0.0
    for block in _one_over_f_channels(noise_seed(3, 5, 0), raw):
        power = power + np.abs(np.fft.rfft(block.ravel())) ** 2
    freq = np.fft.rfftfreq(raw * raw // N_READOUT_CHANNELS)
    sel = (freq >= 1e-3) & (freq <= 0.1)
    slope = np.polyfit(np.log(freq[sel]), np.log(power[sel]), 1)[0]
    assert -1.3 < slope < -0.7
    # white noise run through the same estimator is flat (the check is falsifiable)
    white = np.random.default_rng(0).normal(size=(N_READOUT_CHANNELS, freq.size * 2 - 2))
    wpow = (np.abs(np.fft.rfft(white, axis=1)) ** 2).sum(axis=0)
    assert abs(np.polyfit(np.log(freq[sel]), np.log(wpow[sel]), 1)[0]) < 0.2


def test_refpix_constants_consistent():
    assert SCA_NSIDE + 2 * REFPIX_BORDER == SCA_NSIDE_WITH_REFPIX
    assert SCA_NSIDE_WITH_REFPIX % N_READOUT_CHANNELS == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"obsid": -1}, "obsid"),
        ({"obsid": 1.5}, "obsid"),
        ({"obsid": True}, "obsid"),
        ({"sca": 0}, "sca"),
        ({"sca": 19}, "sca"),
        ({"sca": "3"}, "sca"),
        ({"q": -2}, "q must"),
        ({"q": 1.0}, "q must"),
        ({"nside": 0}, "nside"),
        ({"nside": 10.0}, "nside"),
    ],
)
@pytest.mark.parametrize("func", [white_noise, one_over_f_noise])
def test_argument_errors(func, kwargs, match):
    args = {"obsid": 1, "sca": 2, "q": 0, "nside": SMALL, **kwargs}
    with pytest.raises(PyIMCOMValueError, match=match):
        func(**args)


def test_seed_errors():
    with pytest.raises(PyIMCOMValueError, match=r"sca must be an integer in 1\.\.18; got 0"):
        noise_seed(0, 0, 0)
    with pytest.raises(ValueError, match="obsid"):
        noise_seed(-3, 1, 0)


def test_one_over_f_requires_divisible_raw_side():
    with pytest.raises(PyIMCOMValueError, match=r"divisible by 32.*nside=50"):
        one_over_f_noise(0, 1, 0, nside=50)
    # white noise has no such restriction
    assert white_noise(0, 1, 0, nside=50).shape == (50, 50)
