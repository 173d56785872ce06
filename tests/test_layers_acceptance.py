"""Statistical acceptance tests of the input layers (layers spec §1.3.1-1.3.8, §1.4, §1.7.2).

Measured on full-size (4088 x 4088) draws where that is cheap, and on the simulated survey (the
``small_survey`` fixture: 256-pixel SCAs, a 4 x 4 mosaic; or a direct tiny simulation).  The numbers
quoted in the comments are the values measured when the tests were written; the tolerances are
stated next to each check, in units of the sampling error where there is one.

Complements (does not repeat) tests/test_layers_noise.py (bit-exactness, seeds, spectral slope of the
private channel streams), test_layers_points.py (drawing rule, Poisson formula) and
test_layers_masks.py (CMASK 0.002 on a 1500-pixel side).
"""

from __future__ import annotations

import dataclasses
import json
import os

import healpy as hp
import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.config import Config
from pyimcom.engine.inputs import InputImage
from pyimcom.geometry import BlockLayout, MosaicGeometry
from pyimcom.instrument import N_READOUT_CHANNELS, REFPIX_BORDER, SCA_NSIDE, filter_name
from pyimcom.io.science import get_format
from pyimcom.layers.build import LayerSettings, build_stack
from pyimcom.layers.masks import image_mask
from pyimcom.layers.noise import one_over_f_noise, white_noise
from pyimcom.layers.points import nstar_layer
from pyimcom.settings import input_image, layer_settings
from pyimcom.simulate import SurveySettings, TargetArea, render_scene, simulate_survey
from pyimcom.simulate.scene import Catalog

HP_N = 16  # HEALPix resolution of the star grids on the small survey: 3.2" = 29 px spacing
BIG_FLUX = 1e10  # nstar flux for the "large f" comparison with cstar [electrons]
OV = 8  # PSF oversampling of the simulated survey


# ---- whitenoise ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("obsid", "sca", "q"), [(42, 6, 1), (0, 18, 0)])
def test_whitenoise_full_size_mean_0_variance_1(obsid, sca, q):
    """Measured: (42, 6, 1) mean -1.44e-4 (-0.59 sigma), variance 1.000088 (+0.25 sigma);
    (0, 18, 0) mean 2.8e-5 (0.11 sigma), variance 1.000025 (0.07 sigma); lag-1 products <= 3.5e-4."""
    img = white_noise(obsid, sca, q).astype(np.float64)
    assert img.shape == (SCA_NSIDE, SCA_NSIDE)
    n = img.size
    assert abs(img.mean()) < 5 / np.sqrt(n)  # 5 sigma = 1.2e-3
    assert abs(img.var() - 1.0) < 5 * np.sqrt(2.0 / n)  # 5 sigma = 1.7e-3
    d = img - img.mean()
    for lag in (d[:, 1:] * d[:, :-1], d[1:, :] * d[:-1, :]):  # no correlation along x or y
        assert abs(lag.mean()) < 5 / np.sqrt(n)


# ---- 1/f noise -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_over_f_full():
    return one_over_f_noise(42, 6, 1).astype(np.float64)


def _channel(img, c, time_order=True):
    """Columns of readout channel ``c`` (1..30: not cut by the reference-pixel crop), ``[row, 128]``.

    With ``time_order`` the odd channels are flipped back, so that x runs in read order.
    """
    width = (SCA_NSIDE + 2 * REFPIX_BORDER) // N_READOUT_CHANNELS
    blk = img[:, width * c - REFPIX_BORDER : width * (c + 1) - REFPIX_BORDER]
    return blk[:, ::-1] if (time_order and c % 2) else blk


def test_1fnoise_unit_variance_per_efold_of_frequency(one_over_f_full):
    """Variance of each e-fold band of the per-channel 1-D spectrum along the read direction.

    Each fully kept channel (1..30) is read back in time order (rows of 128 columns, odd channels
    flipped) into a 4088*128-sample stream; its one-sided periodogram is summed over the bands
    ``e^-(m+1) <= nu < e^-m`` cycles/sample and averaged over the 30 channels.  Expected 1 per band.
    Measured (m = 1..8): 1.0011, 0.9996, 0.9992, 0.9989, 0.9996, 1.0034, 1.0010, 1.0045 (scatter
    over channels / sqrt(30): 0.0006 .. 0.015).  Tolerance: 0.03 (m <= 6), 0.06 (m = 7, 8: 302 and
    111 frequency bins per channel).
    """
    streams = np.array([_channel(one_over_f_full, c).ravel() for c in range(1, N_READOUT_CHANNELS - 1)])
    m_samp = streams.shape[1]
    streams -= streams.mean(axis=1, keepdims=True)
    power = 2.0 * np.abs(np.fft.rfft(streams, axis=1)) ** 2 / m_samp**2  # variance per bin, one-sided
    nu = np.fft.rfftfreq(m_samp)
    # Parseval check: the bands add up to the per-pixel variance (~13.3; ln(2^19) + gamma ~ 13.7)
    assert power[:, 1:].sum(axis=1).mean() == pytest.approx(streams.var(axis=1).mean(), rel=1e-3)
    assert 12.0 < streams.var(axis=1).mean() < 14.5
    for m in range(1, 9):
        band = power[:, (nu >= np.exp(-m - 1)) & (nu < np.exp(-m))].sum(axis=1)
        tol = 0.03 if m <= 6 else 0.06
        assert abs(band.mean() - 1.0) < tol, (m, band.mean())


def test_1fnoise_stripes_along_fast_read_direction(one_over_f_full):
    """Low temporal frequencies become row-to-row offsets within each 128-column channel.

    Measured (channel 5): lag-1 correlation along x 0.878, along y 0.509; averaged over channels
    1..30: variance of the row means 8.2, of the column means 0.0013 (pixel variance 13.3).
    Channels are independent: correlation of the x-differences of adjacent channels at most 0.0028
    (1/sqrt(N) = 0.0014).
    """
    chans = np.stack([_channel(one_over_f_full, c, time_order=False) for c in range(1, 31)])
    d = chans - chans.mean(axis=(1, 2), keepdims=True)
    var = d.var()
    corr_x = np.mean(d[:, :, 1:] * d[:, :, :-1]) / var
    corr_y = np.mean(d[:, 1:, :] * d[:, :-1, :]) / var
    assert corr_x > 0.8 and corr_y < 0.6 and corr_x - corr_y > 0.25
    row_means_var = chans.mean(axis=2).var(axis=1).mean()
    col_means_var = chans.mean(axis=1).var(axis=1).mean()
    assert row_means_var > 0.4 * var and col_means_var < 0.01 * var
    diffs = [np.diff(c, axis=1).ravel() for c in chans]
    corr = [np.corrcoef(diffs[i], diffs[i + 1])[0, 1] for i in range(len(diffs) - 1)]
    assert np.max(np.abs(corr)) < 5 / np.sqrt(diffs[0].size)


def test_1fnoise_alternate_channels_reversed(one_over_f_full):
    """The read stream is continuous across row ends only with odd channels flipped back.

    In read order the last sample of row r and the first of row r+1 are consecutive in time, so
    their difference has the variance of an in-row step.  Measured: 3.283 vs 3.286 with the flip
    (ratio 0.999); without it (odd channels read in the wrong direction) 8.89 vs 3.28 (ratio 2.7).
    """
    for flip, lo, hi in ((True, 0.95, 1.05), (False, 2.0, 4.0)):
        wrap, step = [], []
        for c in range(1, 31):
            blk = _channel(one_over_f_full, c, time_order=flip)
            wrap.append(np.var(blk[1:, 0] - blk[:-1, -1]))
            step.append(np.var(blk[:, 1] - blk[:, 0]))
        assert lo < np.mean(wrap) / np.mean(step) < hi, (flip, np.mean(wrap), np.mean(step))


# ---- CMASK ---------------------------------------------------------------------------------------


def test_cmask_0p002_full_size():
    """Full 4088^2 SCA (test_layers_masks.py checks 1500^2).  Measured: 1.775 % masked; expected
    1 - (1 - p)^9 = 1.786 %; spec acceptance 1.5-2.0 %."""
    masked = 1.0 - image_mask(1234, 11, (SCA_NSIDE, SCA_NSIDE), cr_rate=0.002).mean()
    assert 0.015 <= masked <= 0.020
    assert masked == pytest.approx(1 - (1 - 0.002) ** 9, rel=0.02)


# ---- layers on the simulated survey --------------------------------------------------------------


def _read_catalog(path) -> Catalog:
    with fits.open(path) as hdul:
        t = hdul["OBJECTS"].data
        cols = ("ra", "dec", "kind", "flux", "hlr", "g1", "g2")
        return Catalog(*(np.array(t[c]) for c in cols))


def _stars(wcs, shape, n):
    """HEALPix centres (RING query, an independent route) mapped to pixels with the image WCS."""
    ny, nx = shape
    ra_c, dec_c = wcs.all_pix2world((nx - 1) / 2, (ny - 1) / 2, 0)
    radius = np.radians(nx * 0.11 * np.sqrt(2) / 3600)
    ipix = hp.query_disc(2**n, hp.ang2vec(float(ra_c), float(dec_c), lonlat=True), radius)
    ra, dec = hp.pix2ang(2**n, ipix, lonlat=True)
    return wcs.all_world2pix(ra, dec, 0)


def _box_moments(img, x, y, half):
    """Sum and flux-weighted centroid of ``img`` in the box of half side ``half`` around (x, y)."""
    ix, iy = int(round(x)), int(round(y))
    cut = img[iy - half : iy + half + 1, ix - half : ix + half + 1].astype(np.float64)
    yy, xx = np.mgrid[iy - half : iy + half + 1, ix - half : ix + half + 1]
    return cut.sum(), (cut * xx).sum() / cut.sum(), (cut * yy).sum() / cut.sum()


def _psf_centroid(psf):
    """First moment of an oversampled PSF array about its centre [native pixels]."""
    n_y, n_x = psf.shape
    vv, uu = np.mgrid[0:n_y, 0:n_x]
    total = psf.sum()
    return ((psf * uu).sum() / total - (n_x - 1) / 2) / OV, ((psf * vv).sum() / total - (n_y - 1) / 2) / OV


SURVEY_LAYERS = ("whitenoise1", f"cstar{HP_N}", f"nstar{HP_N},{BIG_FLUX:g},100,3", "truth", "truth,0.5")


@pytest.fixture(scope="module")
def survey_stack(small_survey):
    """Layer stack of the first image of the small survey with the acceptance layers."""
    cfg, layout = small_survey["cfg"], small_survey["layout"]
    obsid, sca = layout.images[0]
    image = input_image(cfg, obsid, sca)
    settings = dataclasses.replace(layer_settings(cfg), extrainput=SURVEY_LAYERS, cache_stem=None)
    stack, mask = build_stack(image, settings)
    return {"image": image, "stack": stack, "mask": mask, "settings": settings}


def test_cstar_unit_sum_and_centroid_on_survey_sca(survey_stack):
    """Each star fully on the SCA sums to 1, its centroid is the WCS position plus the PSF's own
    first moment (the survey PSFs are aberrated: that moment is up to 0.18 px here).

    Measured on 62 stars: |sum - 1| <= 3e-8; |centroid - (position + PSF moment)| <= 7.5e-5 px
    (uncorrected offsets up to 0.185 px, all from the PSF moment).
    """
    image, cstar = survey_stack["image"], survey_stack["stack"][2]
    x, y = _stars(image.wcs, image.shape, HP_N)
    half = 12  # stars are 29 px apart, the drawn PSF arrays reach 10.1 px from their centre
    ny, nx = image.shape
    inside = (x > half + 1) & (x < nx - half - 2) & (y > half + 1) & (y < ny - half - 2)
    assert inside.sum() >= 40
    worst_sum, worst_dc = 0.0, 0.0
    for xs, ys in zip(x[inside], y[inside], strict=True):
        total, cx, cy = _box_moments(cstar, xs, ys, half)
        mx, my = _psf_centroid(image.psf.at(image.sca, xs, ys))
        worst_sum = max(worst_sum, abs(total - 1.0))
        worst_dc = max(worst_dc, np.hypot(cx - xs - mx, cy - ys - my))
    assert worst_sum < 1e-3
    assert worst_dc < 0.01


def test_cstar_centroid_at_catalogue_position_with_symmetric_psf(tmp_path):
    """Direct tiny simulation with unaberrated (symmetric) PSFs: the centroids of the cstar stars are
    the catalogue positions (image WCS applied to the HEALPix RA/Dec).  Measured on 61 stars:
    |sum - 1| <= 2.5e-8, largest centroid offset 7.9e-5 px."""
    geo = MosaicGeometry(60.0, -4.0, 180.0, 1, BlockLayout(2, 16), 0.25 / 3600)
    # 256-px SCAs: cstar selects stars within the Roman SCA side (450") of the centre, and the SIP
    # terms of a 128-px simulated SCA make all_world2pix diverge that far out
    st = SurveySettings(n_passes=1, dithers_per_pass=1, sca_nside=256, psf_nside_os=128,
                        aberration_waves=0.0, object_margin_arcsec=1.0)  # fmt: skip
    layout = simulate_survey(st, TargetArea(geo, 4.0, 2), tmp_path, noise=False)
    obsid, sca = layout.images[0]
    fmt = get_format("anlsim")
    path = fmt.science_path(tmp_path, layout.filter_name, obsid, sca)
    image = InputImage(obsid, sca, path, fmt.read_wcs(path), fmt.read_shape(path), (0.0, 0.0, 0.0), None)
    draw_psf = (os.path.join(tmp_path, "psf"), "anlsim", OV)
    settings = LayerSettings((f"cstar{HP_N}",), "anlsim", layout.filter_name, draw_psf, None, 0.0, 3.0)
    cstar = build_stack(image, settings)[0][1]
    x, y = _stars(image.wcs, image.shape, HP_N)
    half = 12
    inside = (x > half + 1) & (x < 256 - half - 2) & (y > half + 1) & (y < 256 - half - 2)
    assert inside.sum() >= 20
    for xs, ys in zip(x[inside], y[inside], strict=True):
        total, cx, cy = _box_moments(cstar, xs, ys, half)
        assert abs(total - 1.0) < 1e-3
        assert np.hypot(cx - xs, cy - ys) < 0.01


def test_nstar_large_flux_matches_cstar(survey_stack):
    """``nstar16,1e10,100,3 / 1e10`` vs ``cstar16``: max difference < 5e-4 of the peak (the reference
    test's criterion, reached here on one SCA thanks to the large flux).  Measured: 4.2e-5 of the peak
    (peak 0.266 of the star flux per pixel).  At f = 2e5 the mean of 200 realisations still differs
    by up to 7.6e-4 of the peak (Poisson error of the mean), hence the large flux."""
    cstar = survey_stack["stack"][2].astype(np.float64)
    nstar = survey_stack["stack"][3].astype(np.float64)
    peak = cstar.max()
    assert 0.1 < peak < 0.5
    assert np.max(np.abs(nstar / BIG_FLUX - cstar)) < 5e-4 * peak


def test_nstar_residual_is_poisson_in_distribution(survey_stack):
    """Q = 200 realisations of ``nstar16,2e5,86,q`` on the survey cstar image.

    Per pixel, z = (nstar - f cstar) / sqrt(f cstar + b).  Expected: mean 0 and variance 1 in every
    range of the Poisson mean lambda = f cstar + b; the per-pixel sample variances over Q follow
    chi2(Q-1)/(Q-1) (spread sqrt(2/(Q-1)) = 0.100); the per-pixel means times sqrt(Q) are N(0, 1).
    Measured: mean of z 6e-5; std of the per-pixel means x sqrt(Q) 0.9998; mean per-pixel variance
    1.0000, 0.9994, 1.0026, 0.9997, 0.9954 in the lambda bins [86, 87), [87, 186), [186, 1086),
    [1086, 10086), >= 10086 (40126, 14673, 5270, 1511, 354 pixels); spread of the per-pixel variances
    1.001 x the chi2 expectation; 5/50/95 % quantiles in sky pixels 0.840, 0.997, 1.171 (chi2: 0.84,
    1.00, 1.17).
    """
    image = survey_stack["image"]
    cstar = survey_stack["stack"][2].astype(np.float64)
    f, b, n_q = 2e5, 86.0, 200
    lam = f * cstar + b
    assert lam.min() > 0  # the survey PSF has no negative wings: no clipping
    z = np.empty((n_q,) + cstar.shape)
    for q in range(n_q):
        z[q] = (nstar_layer(cstar, f, b, image.obsid, image.sca, q) - f * cstar) / np.sqrt(lam)
    mean_px = z.mean(axis=0)
    var_px = z.var(axis=0, ddof=1)
    n_px = cstar.size
    # mean over realisations: unbiased, with the Poisson error
    assert abs(mean_px.mean()) < 5 / np.sqrt(n_px * n_q)
    assert np.std(mean_px * np.sqrt(n_q)) == pytest.approx(1.0, abs=5 / np.sqrt(2 * n_px))
    # variance = Poisson variance (f cstar + b) / f^2 for nstar / f, in bins of lambda
    edges = [b, b + 1, b + 100, b + 1e3, b + 1e4, np.inf]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (lam >= lo) & (lam < hi)
        k = int(sel.sum())
        assert k >= 20, (lo, hi, k)
        sigma = np.sqrt(2.0 / (n_q - 1) / k)  # error of the mean of k chi2 variances
        assert abs(var_px[sel].mean() - 1.0) < max(5 * sigma, 2e-3), (lo, hi, k, var_px[sel].mean())
    # distribution of the per-pixel variances: chi2(Q-1)/(Q-1) (plus the Poisson excess kurtosis 1/lam)
    spread = np.sqrt(2.0 / (n_q - 1) + 1.0 / (n_q * lam))
    assert np.std((var_px - 1.0) / spread) == pytest.approx(1.0, abs=0.03)
    qs = np.quantile(var_px[lam < b + 1], [0.05, 0.5, 0.95])  # sky-dominated pixels
    rng = np.random.default_rng(0)
    ref = np.quantile(rng.chisquare(n_q - 1, 200_000) / (n_q - 1), [0.05, 0.5, 0.95])
    npt.assert_allclose(qs, ref, atol=0.01)


def test_truth_layer_is_the_simulators_noiseless_image(small_survey, survey_stack):
    """``truth`` = the noiseless scene the simulator drew (bit for bit), ``truth,0.5`` = half of it, and
    science - truth is the pure noise of variance sky + read^2 + signal.  Measured: normalised
    residual mean -0.0013, variance 1.0031 (65536 pixels; 5 sigma = 0.028)."""
    image, stack = survey_stack["image"], survey_stack["stack"]
    layout = small_survey["layout"]
    cat = _read_catalog(os.path.join(small_survey["root"], "inputs", "catalog.fits"))
    scene = render_scene(layout, image.obsid, image.sca, cat)
    truth, half_truth = stack[4], stack[5]
    npt.assert_array_equal(truth, scene)
    npt.assert_array_equal(half_truth, (scene.astype(np.float64) * 0.5).astype(np.float32))
    assert scene.max() > 100.0  # objects are on this SCA
    st = layout.settings
    noise_var = st.sky_rate_e_s * st.exptime_s + st.read_noise_e**2 + np.maximum(scene, 0)
    r = (stack[0].astype(np.float64) - truth) / np.sqrt(noise_var)
    assert abs(r.mean()) < 5 / np.sqrt(r.size)
    assert r.var() == pytest.approx(1.0, abs=5 * np.sqrt(2.0 / r.size))


def _other_mosaic(small_survey, tmp_path, extrainput):
    """A second mosaic over the same inputs: other centre, projection, block size and layer order."""
    cfg = dict(small_survey["cfg"].to_dict())
    cfg.update({"CTR": [cfg["CTR"][0] + 0.002, cfg["CTR"][1] - 0.001], "LONPOLE": 200.0, "BLOCK": 2,
                "OUTSIZE": [2, 20, 0.2], "EXTRAINPUT": list(extrainput),
                "OUT": str(tmp_path / "other"), "INLAYERCACHE": str(tmp_path / "cache")})  # fmt: skip
    path = tmp_path / "other.json"
    path.write_text(json.dumps(cfg))
    return Config(str(path))


def test_same_noise_in_two_mosaics(small_survey, survey_stack, tmp_path):
    """The same (obsid, sca, q) gives bit-identical whitenoise and nstar layers in another mosaic (other
    Config, output WCS and layer order), and whitenoise is unchanged even for another image WCS,
    where the star layers move."""
    a = survey_stack
    cfg_b = _other_mosaic(small_survey, tmp_path, ["truth", SURVEY_LAYERS[2], "whitenoise1", "whitenoise2"])
    assert cfg_b.to_dict() != small_survey["cfg"].to_dict()
    image_b = input_image(cfg_b, a["image"].obsid, a["image"].sca)
    stack_b, _ = build_stack(image_b, layer_settings(cfg_b))
    npt.assert_array_equal(stack_b[3], a["stack"][1])  # whitenoise1
    npt.assert_array_equal(stack_b[2], a["stack"][3])  # nstar (same stars: same image WCS)
    npt.assert_array_equal(stack_b[1], a["stack"][4])  # truth
    assert not np.array_equal(stack_b[4], a["stack"][1])  # another q is another realisation
    # another image WCS (the exposure re-pointed by 2 arcsec): stars move, noise does not
    wcs = a["image"].wcs.deepcopy()
    wcs.wcs.crval = wcs.wcs.crval + [2 / 3600, 0.0]
    image_c = dataclasses.replace(a["image"], wcs=wcs)
    settings_c = dataclasses.replace(a["settings"], extrainput=("whitenoise1", f"cstar{HP_N}"))
    stack_c, _ = build_stack(image_c, settings_c)
    npt.assert_array_equal(stack_c[1], a["stack"][1])
    assert np.max(np.abs(stack_c[2] - a["stack"][2])) > 0.01
    assert filter_name(cfg_b.use_filter) == a["settings"].filter_name
