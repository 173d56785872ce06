"""Tests of pyimcom.layers.masks (cosmic-ray mask, lab-noise threshold, combined image mask)."""

import time

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.errors import ConfigError, PyIMCOMValueError
from pyimcom.instrument import N_SCA
from pyimcom.layers.masks import CR_PAD, cosmic_ray_mask, cr_seed, image_mask, labnoise_mask

NSIDE = 40


def _reference_uniforms(obsid, nside):
    """The reference's full draw: all 18 SCA slices of the padded grid."""
    n_pad = nside + 2 * CR_PAD
    return np.random.default_rng(cr_seed(obsid)).uniform(size=(N_SCA, n_pad, n_pad))


def _grow_naive(hits):
    """Reference 3x3 growth with explicit loops: zero boundary, then crop CR_PAD."""
    n_pad = hits.shape[0]
    bad = np.zeros_like(hits, dtype=bool)
    for iy in range(n_pad):
        for ix in range(n_pad):
            total = 0
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    jy, jx = iy + dy, ix + dx
                    if 0 <= jy < n_pad and 0 <= jx < n_pad:
                        total += int(hits[jy, jx])
            bad[iy, ix] = total >= 0.5
    return ~bad[CR_PAD:-CR_PAD, CR_PAD:-CR_PAD]


def test_seed_formula():
    assert cr_seed(0) == 100_000_000
    assert cr_seed(14746) == 100_014_746


def test_pcg64_seeding_and_one_word_per_uniform():
    seed = cr_seed(123)
    assert np.random.PCG64(seed).state == np.random.default_rng(seed).bit_generator.state
    drawn = np.random.PCG64(seed)
    np.random.Generator(drawn).uniform(size=(7, 11))
    advanced = np.random.PCG64(seed)
    advanced.advance(77)
    assert drawn.state == advanced.state


@pytest.mark.parametrize("obsid", [0, 14746])
def test_bit_identical_to_full_draw(obsid):
    full = _reference_uniforms(obsid, NSIDE)
    rate = 0.01
    for sca in (1, 2, 9, 17, 18):
        hits = full[sca - 1] < rate
        expected = _grow_naive(hits)
        got = cosmic_ray_mask(obsid, sca, rate, nside=NSIDE)
        assert got.dtype == np.bool_ and got.shape == (NSIDE, NSIDE)
        npt.assert_array_equal(got, expected)
        assert not got.all()


def test_growth_tiny_case_with_hits_on_pad_edge():
    """Exactly the hits chosen (via a high rate), checked pixel by pixel on a tiny grid."""
    nside = 3
    full = _reference_uniforms(5, nside)
    for sca in (1, 18):
        for rate in (0.05, 0.2):
            npt.assert_array_equal(
                cosmic_ray_mask(5, sca, rate, nside=nside), _grow_naive(full[sca - 1] < rate)
            )


def test_rate_zero_all_good():
    mask = cosmic_ray_mask(3, 4, 0.0, nside=NSIDE)
    assert mask.dtype == np.bool_ and mask.shape == (NSIDE, NSIDE) and mask.all()


def test_masked_fraction_statistics():
    rate = 0.002
    t0 = time.perf_counter()
    mask = cosmic_ray_mask(42, 7, rate, nside=1500)
    assert time.perf_counter() - t0 < 5.0
    masked = 1.0 - mask.mean()
    assert 0.015 <= masked <= 0.020
    assert masked == pytest.approx(1 - (1 - rate) ** 9, rel=0.05)


def test_determinism_and_independence():
    a = cosmic_ray_mask(11, 5, 0.01, nside=NSIDE)
    npt.assert_array_equal(a, cosmic_ray_mask(11, 5, 0.01, nside=NSIDE))
    assert not np.array_equal(a, cosmic_ray_mask(12, 5, 0.01, nside=NSIDE))
    assert not np.array_equal(a, cosmic_ray_mask(11, 6, 0.01, nside=NSIDE))


def test_labnoise_mask():
    lab = np.array([[0.0, 2.99, -2.99], [3.0, -3.0, np.nan]])
    npt.assert_array_equal(labnoise_mask(lab, 3.0), [[True, True, True], [False, False, False]])


def test_labnoise_applied_only_with_cr():
    """Reference quirk Q14: the lab-noise threshold is ignored when cr_rate == 0."""
    lab = np.zeros((NSIDE, NSIDE))
    lab[5, 7] = 10.0
    lab[20, 30] = -4.0
    no_cr = image_mask(1, 2, (NSIDE, NSIDE), cr_rate=0.0, labnoise=lab, labnoise_threshold=3.0)
    assert no_cr.all()
    with_cr = image_mask(1, 2, (NSIDE, NSIDE), cr_rate=0.001, labnoise=lab, labnoise_threshold=3.0)
    cr_only = cosmic_ray_mask(1, 2, 0.001, nside=NSIDE)
    npt.assert_array_equal(with_cr, cr_only & (np.abs(lab) < 3.0))
    assert not with_cr[5, 7] and not with_cr[20, 30]
    npt.assert_array_equal(image_mask(1, 2, (NSIDE, NSIDE), cr_rate=0.001), cr_only)


@pytest.mark.parametrize("goodval", [None, 0])
def test_permanent_mask_combined(tmp_path, goodval):
    cube = np.random.default_rng(3).integers(0, 2, size=(N_SCA, NSIDE, NSIDE)).astype(np.uint8)
    hdu = fits.PrimaryHDU(cube)
    if goodval is not None:
        hdu.header["GOODVAL"] = goodval
    path = tmp_path / "pmask.fits"
    hdu.writeto(path)
    sca = 6
    pgood = cube[sca - 1] == 0 if goodval == 0 else cube[sca - 1] != 0
    npt.assert_array_equal(image_mask(9, sca, (NSIDE, NSIDE), pmask_path=path), pgood)
    combined = image_mask(9, sca, (NSIDE, NSIDE), pmask_path=path, cr_rate=0.01)
    npt.assert_array_equal(combined, pgood & cosmic_ray_mask(9, sca, 0.01, nside=NSIDE))


def test_no_inputs_all_good():
    assert image_mask(0, 1, (4, 6)).all()


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "abc"])
def test_invalid_rate(rate):
    with pytest.raises(PyIMCOMValueError, match="cr_rate"):
        cosmic_ray_mask(1, 1, rate, nside=8)
    with pytest.raises(PyIMCOMValueError, match="cr_rate"):
        image_mask(1, 1, (8, 8), cr_rate=rate)


@pytest.mark.parametrize("sca", [0, 19, 1.5, True])
def test_invalid_sca(sca):
    with pytest.raises(ConfigError, match="SCA number must be an integer 1..18"):
        cosmic_ray_mask(1, sca, 0.01, nside=8)
    with pytest.raises(ConfigError, match="SCA number"):
        image_mask(1, sca, (8, 8))


def test_other_invalid_arguments():
    with pytest.raises(PyIMCOMValueError, match="obsid must be an integer >= 0; got -1"):
        cosmic_ray_mask(-1, 1, 0.01, nside=8)
    with pytest.raises(PyIMCOMValueError, match="nside must be an integer >= 1"):
        cosmic_ray_mask(1, 1, 0.01, nside=0)
    with pytest.raises(PyIMCOMValueError, match="shape must be square"):
        image_mask(1, 1, (8, 10), cr_rate=0.01)
    with pytest.raises(PyIMCOMValueError, match="labnoise must have the image shape"):
        image_mask(1, 1, (8, 8), cr_rate=0.01, labnoise=np.zeros((4, 4)))
    with pytest.raises(PyIMCOMValueError, match="labnoise_threshold must be a positive"):
        labnoise_mask(np.zeros((2, 2)), -1.0)
    with pytest.raises(PyIMCOMValueError, match="labnoise must be a 2-D"):
        labnoise_mask(np.zeros(3), 3.0)
