"""Statistics of the diagnostic report, checked against analytic truths and independent computations."""

from __future__ import annotations

import math

import healpy as hp
import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits
from test_diagnostics_synth import EXTRA, N2, SIGMA_OUT, make_mosaic

from pyimcom.diagnostics import layerreport, mosaicimage, noise, stars
from pyimcom.diagnostics.context import ReportContext
from pyimcom.diagnostics.moments import measure_stamp
from pyimcom.diagnostics.percentiles import StreamingPercentiles
from pyimcom.diagnostics.starcat import CATALOG_COLUMNS, FLAG_HSM_FAILED, FLAG_OK, extract_stamps
from pyimcom.diagnostics.starpos import block_star_positions, search_radius_rad
from pyimcom.errors import PyIMCOMError, PyIMCOMValueError
from pyimcom.geometry import BlockLayout, MosaicGeometry

PCTS = layerreport.PERCENTILES


# ---------------------------------------------------------------------------------------------- percentiles
def run_stream(chunks, pcts, **kw):
    acc = StreamingPercentiles(range(len(chunks)), pcts, **kw)
    while not acc.done:
        for key, parts in enumerate(chunks):
            for part in parts:
                acc.feed(key, part)
        acc.end_pass()
    return acc


@pytest.mark.parametrize("max_gather, nbins", [(2**22, 4096), (40, 8), (3, 2)])
def test_streaming_percentiles_equal_numpy(max_gather, nbins):
    rng = np.random.default_rng(1)
    data = [
        rng.normal(size=(3, 500)).astype(np.float32),  # three chunks
        np.concatenate([np.zeros(700), rng.exponential(size=300), [np.nan, np.inf]]).reshape(2, -1),  # ties
        np.full((1, 7), 2.5),  # constant
        np.arange(1.0, 2.0).reshape(1, 1),  # single value
    ]
    acc = run_stream(data, PCTS, max_gather=max_gather, nbins=nbins)
    for key, parts in enumerate(data):
        flat = np.concatenate([np.ravel(p) for p in parts]).astype(np.float64)
        finite = flat[np.isfinite(flat)]
        npt.assert_allclose(acc.result(key), np.percentile(finite, PCTS), rtol=1e-12, atol=0)
        assert acc.n_finite[key] == finite.size and acc.n_nonfinite[key] == flat.size - finite.size
    assert acc.passes >= (2 if max_gather > 1000 else 3)


def test_streaming_percentiles_edge_cases():
    acc = run_stream([[np.array([np.nan, np.nan])]], [50])
    assert np.isnan(acc.result(0)).all() and acc.n_nonfinite[0] == 2
    with pytest.raises(PyIMCOMValueError, match=r"percentiles must be .* \[0, 100\]"):
        StreamingPercentiles([0], [101])
    acc = StreamingPercentiles([0], [50], max_gather=2, nbins=2)
    acc.feed(0, np.arange(10.0))
    acc.end_pass()
    acc.feed(0, np.arange(5.0))  # different data on the second pass
    with pytest.raises(PyIMCOMError, match="changed between passes"):
        acc.end_pass()
    with pytest.raises(PyIMCOMValueError, match="unknown percentile stream 3"):
        acc.feed(3, [1.0])


# ---------------------------------------------------------------------------------------------- LayerReport
def test_layer_percentiles_skip_missing_blocks_and_nan(tmp_path):
    m = make_mosaic(tmp_path, skip=[(1, 1)], nan_pixels=5)
    ctx = ReportContext.open(m["first"], str(tmp_path / "rep"))
    res = layerreport.layer_percentiles(ctx, max_gather=5000)  # forces refinement passes
    sl = slice(N2, N2 + 4 * N2)
    for k in range(len(EXTRA) + 1):
        pooled = []
        for path in m["paths"].values():  # read independently of the report code
            with fits.open(path) as hdul:
                pooled.append(np.asarray(hdul[0].data[0, k, sl, sl], dtype=np.float64).ravel())
        pooled = np.concatenate(pooled)
        finite = pooled[np.isfinite(pooled)]
        npt.assert_allclose(res["values"][k], np.percentile(finite, PCTS), rtol=1e-6)
        assert res["n_finite"][k] == finite.size == 3 * (4 * N2) ** 2 - (5 if k == 0 else 0)
    assert res["n_nonfinite"].tolist() == [5, 0, 0, 0] and res["blocks_used"] == 3 and res["passes"] > 2


def test_layer_table_format_tokens():
    values = np.arange(8 * len(PCTS), dtype=float).reshape(8, len(PCTS)) / 7.0
    tokens = layerreport.format_table(values).split()
    # reference contract: token 84 is the 99th percentile of layer 5 (header 15 tokens, 7 per row)
    assert float(tokens[84]) == pytest.approx(values[5, PCTS.index(99.0)], rel=1e-3)
    assert tokens[:5] == ["#", "PCTILE", "|", "LAYER", "00"]
    assert "LAYER 06" in layerreport.format_table(values).split("\n\n")[1]


# ---------------------------------------------------------------------------------------------- MosaicImage
def test_mosaic_image_helpers():
    assert mosaicimage.choose_binning(2, 128) == 1
    assert mosaicimage.choose_binning(36, 2560) == 40  # int(92160 / 2000) = 46, lowered to a divisor
    assert mosaicimage.choose_binning(5, 1000) == 2 and mosaicimage.choose_binning(3, 7) == 1
    v = np.array([-1.0, -0.1, 0.0, 5.0, 100.0, 1e6])
    expected = (np.arcsinh(np.clip(v, -0.1, 100) / 0.1) + math.asinh(1)) / (math.asinh(1000) + math.asinh(1))
    npt.assert_array_equal(mosaicimage.asinh_stretch(v), np.rint(255 * expected).astype(np.uint8))
    npt.assert_array_equal(
        mosaicimage.bin_mean(np.arange(36.0).reshape(6, 6), 3), [[7.0, 10.0], [25.0, 28.0]]
    )


# ------------------------------------------------------------------------------------------ star positions
def test_star_positions_match_brute_force():
    geo = MosaicGeometry(60.0, -4.0, 180.0, 2, BlockLayout(4, 32, pad=1), 0.055 / 3600, "all")
    wcs, nside_p, pad = geo.block_wcs(1, 0), 192, 32
    stars_ = block_star_positions(wcs, nside_p, pad, search_radius_rad(4, 32, geo.dtheta_deg), 16)
    # brute force: every HEALPix centre of a much wider disc, projected and cut independently
    centre = wcs.all_pix2world([[95.5, 95.5]], 0)[0]
    ipix = hp.query_disc(2**16, hp.ang2vec(*centre, lonlat=True), math.radians(2 * 192 * 0.055 / 3600))
    ra, dec = hp.pix2ang(2**16, ipix, lonlat=True)
    x, y = wcs.all_world2pix(ra, dec, 0)
    keep = (
        (np.rint(x) >= pad)
        & (np.rint(x) < nside_p - pad)
        & (np.rint(y) >= pad)
        & (np.rint(y) < nside_p - pad)
    )
    assert sorted(stars_.ipix.tolist()) == sorted(ipix[keep].tolist()) and len(stars_) > 2
    npt.assert_allclose(stars_.dx, stars_.x - np.rint(stars_.x), atol=1e-12)
    assert np.all(np.abs(stars_.dx) <= 0.5) and np.all(np.abs(stars_.dy) <= 0.5)


# ---------------------------------------------------------------------------------------------- moments
def gaussian_stamp(sigma, g1, g2, x0=30.0, y0=30.0, side=61):
    """Elliptical Gaussian with det(M)^(1/4) = sigma and reduced shear (g1, g2), indexed [y, x]."""
    gsq = g1 * g1 + g2 * g2
    m = sigma**2 / (1 - gsq) * np.array([[1 + gsq + 2 * g1, 2 * g2], [2 * g2, 1 + gsq - 2 * g1]])
    minv = np.linalg.inv(m)
    y, x = np.mgrid[0:side, 0:side]
    dx, dy = x - x0, y - y0
    q = minv[0, 0] * dx * dx + 2 * minv[0, 1] * dx * dy + minv[1, 1] * dy * dy
    return np.exp(-0.5 * q), m


def test_hsm_round_gaussian_has_zero_errors():
    stamp, _ = gaussian_stamp(2.5, 0.0, 0.0, x0=30.2, y0=29.7)
    s = measure_stamp(stamp, sigma_w=4.0)
    assert s.ok and s.sigma == pytest.approx(2.5, rel=1e-5)
    assert abs(s.g1) < 1e-6 and abs(s.g2) < 1e-6 and abs(s.eplus) < 1e-6 and abs(s.ecross) < 1e-6
    assert abs(s.m42_re) < 1e-5 and abs(s.m42_im) < 1e-5
    assert (s.x0, s.y0) == (pytest.approx(30.2, abs=1e-5), pytest.approx(29.7, abs=1e-5))


@pytest.mark.parametrize("g1, g2", [(0.05, -0.03), (-0.2, 0.1)])
def test_hsm_recovers_shear_of_sheared_gaussian(g1, g2):
    stamp, m = gaussian_stamp(3.0, g1, g2)
    sigma_w = 5.0
    s = measure_stamp(stamp, sigma_w)
    assert s.ok and s.sigma == pytest.approx(3.0, rel=1e-5)
    assert (s.g1, s.g2) == (pytest.approx(g1, abs=1e-5), pytest.approx(g2, abs=1e-5))
    assert abs(s.m42_re) < 1e-4 and abs(s.m42_im) < 1e-4  # zero for any elliptical Gaussian
    c = np.linalg.inv(np.linalg.inv(m) + np.eye(2) / sigma_w**2)  # weighted moments (product of Gaussians)
    assert s.eplus == pytest.approx((c[0, 0] - c[1, 1]) / sigma_w**2, abs=1e-6)
    assert s.ecross == pytest.approx(2 * c[0, 1] / sigma_w**2, abs=1e-6)


def test_hsm_failure_is_flagged_not_zero():
    s = measure_stamp(np.zeros((21, 21)), 3.0)
    assert not s.ok and math.isnan(s.sigma) and math.isnan(s.g1)
    img = np.arange(25.0).reshape(5, 5)
    npt.assert_array_equal(extract_stamps(img, np.array([2]), np.array([2]), 3)[0], img)


def test_star_statistics_against_hand_computation():
    col = {n: i for i, n in enumerate(CATALOG_COLUMNS)}
    cat = np.full((5, len(CATALOG_COLUMNS)), np.nan)
    cat[:, col["ibx"]], cat[:, col["iby"]] = [0, 0, 1, 1, 1], [0, 0, 0, 0, 1]
    cat[:, col["sigma"]] = [2.0, 2.2, 2.1, 1.9, np.nan]
    cat[:, col["g1"]], cat[:, col["g2"]] = [0.01, -0.01, 0.02, 0.0, np.nan], [0.0, 0.0, 0.0, 0.03, np.nan]
    cat[:, col["eplus"]], cat[:, col["ecross"]] = [0.1, 0.0, 0.0, 0.0, np.nan], [0.0, 0.1, 0.0, 0.0, np.nan]
    cat[:, col["coverage"]] = [3, 3, 0, 2, 1]
    cat[:, col["flag"]] = [FLAG_OK] * 4 + [FLAG_HSM_FAILED]
    st = stars.star_statistics(cat, 2, sqrts_counts=np.array([90, 6]), sqrts_high=4)
    assert list(st)[:8] == list(stars.STAT_KEYS)
    assert st["RMS_ELLIP_ADAPT"] == pytest.approx(math.sqrt((1e-4 + 1e-4 + 4e-4 + 9e-4) / 4))
    assert st["RMS_ELLIP_FIXEDWIN"] == pytest.approx(math.sqrt(0.02 / 4))
    assert st["MED_SIZE"] == pytest.approx(2.05)
    assert st["RMS_SIZE_ERR"] == pytest.approx(math.sqrt((0.05**2 + 0.15**2 + 0.05**2 + 0.15**2) / 4) / 2.05)
    assert st["PCT_NOISE_GT2"] == pytest.approx(4.0) and st["PCT_NOT_COVERED"] == pytest.approx(20.0)
    # blocks: (0,0) mean g = (0, 0); (1,0) covered star only -> |g| = 0.03; (1,1) failed; (0,1) empty
    assert st["BLK_SIMSTAR_G50PCT"] == pytest.approx(0.015) and st["BLK_SIMSTAR_G90PCT"] == pytest.approx(
        0.027
    )
    assert (st["N_STARS"], st["N_HSM_FAILED"], st["N_TRUNCATED"]) == (5, 1, 0)


# ---------------------------------------------------------------------------------------------- noise spectra
def test_white_noise_power_spectrum_level():
    rng = np.random.default_rng(5)
    var, s_out, side = 0.37, 0.05, 256
    img = rng.normal(0, math.sqrt(var), (side, side))
    p = noise.power_spectrum_2d(img, s_out)
    assert p.mean() / s_out**2 == pytest.approx(var, rel=0.03)  # level implied by the variance
    p1d, err, count = noise.azimuthal_average(noise.bin_power(p), side // 16)
    assert count[-1] == 1 and np.all(count[:-1] > 8)  # the last bin is the corner cell alone
    level = var * s_out**2  # flat spectrum of white noise
    assert np.all(np.abs(p1d[:-1] - level) < 5 * err[:-1] + 0.03 * level)
    k = noise.wavenumbers(side, side // 16)
    assert np.all(np.diff(k) > 0) and 0 < k[0] and k[-1] < 0.71


def test_variance_error_matches_scatter_of_realisations():
    rng = np.random.default_rng(9)
    side, s_out = 32, 0.1
    k = np.fft.fftfreq(side)
    smooth = np.exp(-2 * (np.pi * 1.5) ** 2 * (k[:, None] ** 2 + k[None, :] ** 2))  # Gaussian, sigma 1.5 px
    window = noise.tukey_window_2d(side)
    estimates, predicted = [], []
    for _ in range(400):
        img = np.fft.ifft2(np.fft.fft2(rng.normal(size=(side, side))) * smooth).real  # correlated noise
        p = noise.power_spectrum_2d(img, s_out)
        estimates.append(p.mean())
        predicted.append(noise.variance_rel_error(p, window))
    scatter = np.std(estimates) / np.mean(estimates)  # independent: the spread of the estimates
    assert np.mean(predicted) == pytest.approx(scatter, rel=0.2)
    assert scatter > 3 * math.sqrt(2 / side**2)  # correlation makes it much larger than white noise's


def test_tukey_window_and_radial_profile():
    w = noise.tukey_window_2d(64, 0.9)
    assert w.shape == (64, 64) and w[0, 0] == 0 and w.max() <= 1 and w[31, 31] > 0.99
    npt.assert_allclose(w, w.T)
    npt.assert_allclose(w, w[::-1, ::-1])
    grid = np.arange(32) - 16.0
    r = np.hypot(grid[:, None], grid[None, :])
    mean, _, _ = noise.azimuthal_average(r, 8)
    lower = np.arange(1, 9) * r.max() / 8  # bin j holds j rmax/8 <= r < (j+1) rmax/8
    assert np.all(mean >= lower - 1e-12) and np.all(mean <= lower + r.max() / 8)
    assert noise.spectrum_side(128) == (128, True) and noise.spectrum_side(20) == (20, False)
    names = ["SCI", "gsstar14", "whitenoise1", "labnoise", "noise,b7", "1fnoise3"]
    assert [k for k, _, _ in noise.noise_layers(names)] == [2, 3, 4, 5]


def test_coadded_white_noise_matches_sigma_map(tmp_path):
    m = make_mosaic(tmp_path, nblock=1)
    ctx = ReportContext.open(m["first"], str(tmp_path / "rep"))
    layers = noise.noise_layers(ctx.layer_names)
    spec = noise.block_spectra(ctx, 0, 0, layers)
    variance = spec["p2d"][0].mean() / ctx.dtheta_arcsec**2
    # whitenoise1 = sqrt(Sigma) N(0,1): its windowed variance is the windowed mean of the SIGMA map
    assert variance == pytest.approx(spec["sigma_level"], rel=0.05)
    assert 0.15 < spec["sigma_level"] < 0.25 and spec["meancovg"] == pytest.approx(2.0)
    assert SIGMA_OUT > 1.5  # synthetic stars are well sampled
