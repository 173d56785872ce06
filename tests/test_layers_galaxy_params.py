"""Tests of pyimcom.layers.galaxy_params (gsext parameter stream, options, sky-frame shape matrices)."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest
from scipy import stats
from scipy.linalg import expm

from pyimcom.errors import ConfigError, PyIMCOMValueError
from pyimcom.layers.galaxy_params import (
    GALAXY_DTYPE,
    GsextOptions,
    final_ellipticity,
    galaxy_params,
    reduced_shear,
    shear_matrix,
    sky_shape_matrix,
    uniform_rows,
)
from pyimcom.layers.recipes import parse_recipe


def _direct(seed, lenpix, nrows):
    return np.random.Generator(np.random.PCG64(seed)).random(nrows * lenpix).reshape(nrows, lenpix)


# --- uniform_rows --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, lenpix, nrows", [(4096, 1000, 3), (100, 12 * 4**4, 3), (0, 7, 5), (3, 1, 2)])
def test_uniform_rows_bit_identical_to_a_direct_draw(seed, lenpix, nrows):
    direct = _direct(seed, lenpix, nrows)
    rng = np.random.default_rng(1)
    ipix = np.concatenate([rng.integers(0, lenpix, 200), [0, lenpix - 1, lenpix - 1, 0]])
    got = uniform_rows(seed, lenpix, ipix, nrows)
    assert got.shape == (nrows, len(ipix)) and got.dtype == np.float64
    npt.assert_array_equal(got, direct[:, ipix])
    npt.assert_array_equal(uniform_rows(seed, lenpix, np.arange(lenpix), nrows), direct)  # all, contiguous


def test_uniform_rows_large_lenpix_chunked_check():
    lenpix = 12 * 4**9  # 3.1e6 per row: compare with a chunked direct draw
    ipix = np.array([5, 0, lenpix - 1, 123457, 123456, 2_000_001])
    gen = np.random.Generator(np.random.PCG64(4096))
    want = np.empty((3, len(ipix)))
    for row in range(3):
        values = gen.random(lenpix)
        want[row] = values[ipix]
    npt.assert_array_equal(uniform_rows(4096, lenpix, ipix), want)


def test_uniform_rows_huge_lenpix_is_cheap_and_consistent():
    lenpix = 12 * 4**14  # 3.2e9 per row (n = 14): advance() only
    ipix = np.array([lenpix - 1, 17, 1511867059, 17])
    got = uniform_rows(4096, lenpix, ipix)
    assert np.all((got >= 0) & (got < 1))
    npt.assert_array_equal(got[:, 1], got[:, 3])
    # entry (row 0, p = 17) is the 18th double of the stream
    npt.assert_array_equal(got[0, 1], _direct(4096, 18, 1)[0, 17])
    # the same entries requested one at a time give the same values
    for k, p in enumerate(ipix):
        npt.assert_array_equal(uniform_rows(4096, lenpix, [p])[:, 0], got[:, k])


def test_uniform_rows_empty_and_errors():
    assert uniform_rows(1, 10, []).shape == (3, 0)
    with pytest.raises(PyIMCOMValueError, match="ipix"):
        uniform_rows(1, 10, [10])
    with pytest.raises(PyIMCOMValueError, match="ipix"):
        uniform_rows(1, 10, [-1])
    with pytest.raises(PyIMCOMValueError, match="ipix"):
        uniform_rows(1, 10, [1.5])
    with pytest.raises(PyIMCOMValueError, match="seed"):
        uniform_rows(-1, 10, [1])
    with pytest.raises(PyIMCOMValueError, match="lenpix"):
        uniform_rows(1, 0, [])
    with pytest.raises(PyIMCOMValueError, match="nrows"):
        uniform_rows(1, 10, [1], nrows=0)


# --- galaxy_params -----------------------------------------------------------------------------


def test_exp1_formulas_and_distributions():
    n = 14
    ipix = np.random.default_rng(5).integers(0, 12 * 4**n, 20000)
    p = galaxy_params(n, ipix, GsextOptions())
    assert p.dtype == GALAXY_DTYPE
    npt.assert_array_equal(p["ipix_nest"], ipix)
    u0, u1, u2 = uniform_rows(4096, 12 * 4**n, ipix)
    npt.assert_allclose(p["hlr_arcsec"], 0.5 / 4**u0, rtol=1e-15)
    npt.assert_allclose(np.hypot(p["g1"], p["g2"]), 0.5 * np.sqrt(u1), rtol=1e-12, atol=1e-15)
    npt.assert_allclose(p["g1"], 0.5 * np.sqrt(u1) * np.cos(2 * np.pi * u2), atol=1e-15)
    npt.assert_allclose(p["g2"], 0.5 * np.sqrt(u1) * np.sin(2 * np.pi * u2), atol=1e-15)
    npt.assert_array_equal(p["sersic_n"], 1.0)
    # hlr log-uniform on (0.125, 0.5]; (g1, g2) uniform over the disc |g| < 0.5
    assert p["hlr_arcsec"].min() > 0.125 and p["hlr_arcsec"].max() <= 0.5
    assert stats.kstest(np.log(0.5 / p["hlr_arcsec"]) / np.log(4), "uniform").pvalue > 1e-3
    gsq = (p["g1"] ** 2 + p["g2"] ** 2) / 0.25
    assert gsq.max() < 1 and stats.kstest(gsq, "uniform").pvalue > 1e-3
    phase = (np.arctan2(p["g2"], p["g1"]) / (2 * np.pi)) % 1.0
    assert stats.kstest(phase, "uniform").pvalue > 1e-3
    assert abs(p["g1"].mean()) < 0.01 and abs(p["g2"].mean()) < 0.01


def test_same_nested_index_same_parameters_in_any_call():
    n = 14
    a = galaxy_params(n, [1511867059, 17, 42, 1000000007], GsextOptions())
    b = galaxy_params(n, [42, 999, 1511867059], GsextOptions())  # another "SCA": other neighbours
    npt.assert_array_equal(a[a["ipix_nest"] == 42], b[b["ipix_nest"] == 42])
    npt.assert_array_equal(a[0], b[2])
    c = galaxy_params(n, [42], GsextOptions(seed=5))  # another seed: other values
    assert c["hlr_arcsec"][0] != b["hlr_arcsec"][0]


def test_overrides_replace_the_random_values():
    ipix = np.arange(50, 60)
    opts = GsextOptions(sersic_n=0.5, hlr_arcsec=0.1, shape=(0.2, 0.1))
    p = galaxy_params(14, ipix, opts)
    npt.assert_array_equal(p["hlr_arcsec"], 0.1)
    npt.assert_array_equal(p["g1"], 0.2)
    npt.assert_array_equal(p["g2"], 0.1)
    npt.assert_array_equal(p["sersic_n"], 0.5)
    only_hlr = galaxy_params(14, ipix, GsextOptions(hlr_arcsec=0.2))
    free = galaxy_params(14, ipix, GsextOptions())
    npt.assert_array_equal(only_hlr["g1"], free["g1"])
    npt.assert_array_equal(only_hlr["hlr_arcsec"], 0.2)


def test_galaxy_params_errors():
    with pytest.raises(PyIMCOMValueError, match="resolution_n"):
        galaxy_params(30, [0], GsextOptions())
    with pytest.raises(PyIMCOMValueError, match="ipix"):
        galaxy_params(1, [48], GsextOptions())


# --- options -----------------------------------------------------------------------------------


def _opts(text):
    r = parse_recipe(text)
    return GsextOptions.from_recipe(r.args[-1], r.text)


def test_options_from_recipes():
    assert _opts("gsext14") == GsextOptions()
    o = _opts("GSEXT14,seed=100,shear=-.01:0.017320508075688773")
    assert o == GsextOptions(seed=100, shear=(-0.01, 0.017320508075688773))
    o = _opts("gsext14,n=0.5,hlr=0.1,shape=0.2:0.1,shear=0.05:-0.12,rot=30")
    assert o == GsextOptions(
        rot_deg=30.0, shear=(0.05, -0.12), sersic_n=0.5, hlr_arcsec=0.1, shape=(0.2, 0.1)
    )
    assert _opts("gsextchrom14,/some/Dir,n=0.5").sersic_n == 0.5


@pytest.mark.parametrize(
    "text, match",
    [
        ("gsext14,foo=1", r"'gsext14,foo=1'.*option foo='1': unknown option"),
        ("gsext14,seed=-3", r"option seed='-3': must be a non-negative integer"),
        ("gsext14,seed=1.5", r"option seed='1.5'"),
        ("gsext14,rot=abc", r"option rot='abc': must be a finite number"),
        ("gsext14,shear=0.1", r"option shear='0.1': must be two numbers g1:g2"),
        ("gsext14,shape=0.8:0.7", r"option shape='0.8:0.7': ellipticity"),
        ("gsext14,hlr=0", r"option hlr='0': half-light radius must be > 0"),
        ("gsext14,n=7", r"option n='7': Sersic index"),
        ("gsext14,n=nan", r"option n='nan'"),
        ("gsext14,n=1,n=2", r"option n='2': option given more than once"),
    ],
)
def test_option_errors_name_recipe_and_option(text, match):
    with pytest.raises(ConfigError, match=match):
        _opts(text)


# --- shape matrices ----------------------------------------------------------------------------


@pytest.mark.parametrize("s1, s2", [(0.0, 0.0), (0.05, -0.12), (-0.7, 0.3), (1e-9, 0.0)])
def test_shear_matrix_is_the_matrix_exponential(s1, s2):
    npt.assert_allclose(shear_matrix(s1, s2), expm(np.array([[s1, s2], [s2, -s1]])), rtol=0, atol=1e-14)
    assert math.isclose(np.linalg.det(shear_matrix(s1, s2)), 1.0, rel_tol=1e-13)


def test_sky_shape_matrix_composition():
    g1, g2 = 0.2, 0.1
    jg = np.array([[1 + g1, g2], [g2, 1 - g1]]) / math.sqrt(1 - g1**2 - g2**2)
    npt.assert_allclose(sky_shape_matrix(g1, g2, GsextOptions()), jg, atol=1e-15)
    th = math.radians(30.0)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    js = expm(np.array([[0.05, -0.12], [-0.12, -0.05]]))
    opts = GsextOptions(rot_deg=30.0, shear=(0.05, -0.12))
    npt.assert_allclose(sky_shape_matrix(g1, g2, opts), js @ rot @ jg, atol=1e-14)
    # broadcasting over arrays of ellipticities
    m = sky_shape_matrix(np.array([0.0, 0.2]), np.array([0.0, 0.1]), opts)
    assert m.shape == (2, 2, 2)
    npt.assert_allclose(m[1], js @ rot @ jg, atol=1e-14)
    npt.assert_allclose(np.linalg.det(m), 1.0, rtol=1e-13)
    # the rotation is counter-clockwise West -> North: it maps X = West onto (cos, sin)
    npt.assert_allclose(sky_shape_matrix(0.0, 0.0, GsextOptions(rot_deg=90.0)) @ [1, 0], [0, 1], atol=1e-15)


def test_axis_ratio_and_positive_g2_direction():
    m = sky_shape_matrix(0.0, 0.3, GsextOptions())
    q = m @ m.T
    w, v = np.linalg.eigh(q)
    assert math.isclose(math.sqrt(w[0] / w[1]), 0.7 / 1.3, rel_tol=1e-12)
    # major axis along the X = Y diagonal, i.e. NW-SE with X = West, Y = North
    assert abs(abs(v[:, 1] @ np.array([1, 1]) / math.sqrt(2)) - 1) < 1e-12


def test_reduced_shear_and_final_ellipticity():
    # intrinsic shape is recovered
    g1, g2 = reduced_shear(sky_shape_matrix(np.array([0.2, -0.3]), np.array([0.1, 0.05]), GsextOptions()))
    npt.assert_allclose(g1, [0.2, -0.3], atol=1e-14)
    npt.assert_allclose(g2, [0.1, 0.05], atol=1e-14)
    # rotation: g -> g exp(2 i theta)
    p = galaxy_params(14, [3, 4], GsextOptions(rot_deg=25.0))
    f1, f2 = final_ellipticity(p, GsextOptions(rot_deg=25.0))
    want = (p["g1"] + 1j * p["g2"]) * np.exp(2j * math.radians(25.0))
    npt.assert_allclose(f1 + 1j * f2, want, atol=1e-14)
    # logarithmic shear of a round object: reduced shear tanh(|s|) s/|s| (0.02 -> 0.019997)
    f1, f2 = final_ellipticity(galaxy_params(14, [0], GsextOptions(shape=(0.0, 0.0), shear=(0.02, 0.0))),
                               GsextOptions(shape=(0.0, 0.0), shear=(0.02, 0.0)))  # fmt: skip
    npt.assert_allclose(f1, math.tanh(0.02), rtol=1e-13)
    assert round(float(f1[0]), 6) == 0.019997 and abs(f2[0]) < 1e-16


def test_forced_shape_moments_reproduce_the_reference_test_numbers():
    """sigma_g^2 J J^T + sigma_psf^2 I with the reference test's recipe gives its measured moments."""
    opts = _opts("gsext14,n=0.5,hlr=0.1,shape=0.2:0.1,shear=0.05:-0.12")
    m = sky_shape_matrix(*opts.shape, opts)
    sig_g2 = (0.1 / math.sqrt(2 * math.log(2))) ** 2
    cov = sig_g2 * m @ m.T + (0.9265328730414752 * 0.11) ** 2 * np.eye(2)
    npt.assert_allclose([cov[0, 0], cov[0, 1], cov[1, 1]], [0.02242, -0.00042, 0.01473], atol=3e-5)
