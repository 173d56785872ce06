"""Tests of pyimcom.interp: kernel weight properties (core Appendix A) and the three call patterns."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from naive import interp2d_naive, interp_weights_naive

from pyimcom.errors import PyIMCOMValueError
from pyimcom.interp import (
    KERNELS,
    interp_weights,
    interpolate_grid,
    interpolate_pair_lags,
    interpolate_points,
    interpolate_symmetric,
    kernel_half_width,
)

# Tolerances of the weight properties.  The spec quotes 1e-9 / 1e-8 for the sum; the published G4460
# coefficients reach 1.07e-8 at f = 1/2 (and 1.7e-8 off the unit vector at f = 0), so G4460 gets a
# slightly looser bound.
WEIGHT_TOL = {"D5512": 1e-9, "G4460": 1.1e-8}
UNIT_TOL = {"D5512": 2e-9, "G4460": 2e-8}
NTAP = {"D5512": 10, "G4460": 8}
F_SAMPLES = np.concatenate([np.linspace(0.0, 1.0, 1001, endpoint=False), [0.5, 1e-12, 1.0 - 1e-12]])


def edge_points(kernel, nx, ny, rng, n_random=60):
    """Random points over and beyond the grid, plus points just inside and outside the valid edges."""
    h = kernel_half_width(kernel)
    x_hi = nx - NTAP[kernel] + h + 1  # first invalid x: floor(x) must stay below it
    y_hi = ny - NTAP[kernel] + h + 1
    eps = 1e-9
    x_edge = [h, h - eps, h + 0.5, x_hi - eps, x_hi, x_hi + 0.5, -3.0, np.nan, np.inf, h + 1.25]
    y_edge = [h + 1.5, h + 2.5, h - eps, y_hi - eps, h + 2.0, y_hi, h + 2.0, h + 2.0, h + 2.0, -np.inf]
    x = np.concatenate([rng.uniform(-2.0, nx + 1.0, n_random), x_edge])
    y = np.concatenate([rng.uniform(-2.0, ny + 1.0, n_random), y_edge])
    return x, y


def is_valid(kernel, x, y, nx, ny):
    """Expected validity from the spec (core §4.6) on the integer parts."""
    h = kernel_half_width(kernel)
    with np.errstate(invalid="ignore"):
        x0 = np.floor(np.nan_to_num(x, nan=-1e9, posinf=1e9, neginf=-1e9))
        y0 = np.floor(np.nan_to_num(y, nan=-1e9, posinf=1e9, neginf=-1e9))
    big = NTAP[kernel] - h - 1
    return (x0 >= h) & (x0 < nx - big) & (y0 >= h) & (y0 < ny - big)


# --- weights ---------------------------------------------------------------------------------------


def test_kernel_names_and_half_widths():
    assert KERNELS == ("D5512", "G4460")
    assert kernel_half_width("D5512") == 4
    assert kernel_half_width("G4460") == 3


@pytest.mark.parametrize("kernel", KERNELS)
def test_weights_sum_to_one_and_first_moment(kernel):
    w = interp_weights(kernel, F_SAMPLES)
    assert w.shape == (F_SAMPLES.size, NTAP[kernel])
    k_rel = np.arange(NTAP[kernel]) - kernel_half_width(kernel)
    npt.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=WEIGHT_TOL[kernel])
    npt.assert_allclose(w @ k_rel, F_SAMPLES, rtol=0, atol=WEIGHT_TOL[kernel])


@pytest.mark.parametrize("kernel", KERNELS)
def test_weights_interpolate_exactly_at_samples(kernel):
    h = kernel_half_width(kernel)
    unit = np.eye(NTAP[kernel])
    npt.assert_allclose(interp_weights(kernel, 0.0), unit[h], rtol=0, atol=UNIT_TOL[kernel])
    npt.assert_allclose(interp_weights(kernel, 1.0), unit[h + 1], rtol=0, atol=UNIT_TOL[kernel])


@pytest.mark.parametrize("kernel", KERNELS)
def test_weights_mirror_symmetry(kernel):
    w = interp_weights(kernel, F_SAMPLES)
    w_mirror = interp_weights(kernel, 1.0 - F_SAMPLES)[:, ::-1]
    npt.assert_allclose(w, w_mirror, rtol=0, atol=1e-15)


@pytest.mark.parametrize("kernel", KERNELS)
def test_weights_match_naive_polynomials(kernel):
    f = F_SAMPLES[::37]
    expected = np.array([interp_weights_naive(kernel, fi) for fi in f])
    npt.assert_allclose(interp_weights(kernel, f), expected, rtol=1e-13, atol=1e-15)
    assert interp_weights(kernel, 0.3).shape == (NTAP[kernel],)


# --- pattern 1: scattered points ---------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("shape", [(23, 29), (3, 17, 21)])
def test_points_match_naive(kernel, shape):
    rng = np.random.default_rng(11)
    grid = rng.uniform(0.5, 1.5, shape)
    ny, nx = shape[-2:]
    x, y = edge_points(kernel, nx, ny, rng)
    values = interpolate_points(grid, x, y, kernel)
    assert values.shape == shape[:-2] + x.shape
    npt.assert_allclose(values, interp2d_naive(grid, x, y, kernel), rtol=1e-12, atol=0)
    valid = is_valid(kernel, x, y, nx, ny)
    assert np.all(values[..., ~valid] == 0.0)
    assert np.all(values[..., valid] != 0.0)


def test_points_accepts_any_point_shape_and_integer_grids():
    yy, xx = np.mgrid[0:20, 0:20]
    grid = 3 * xx - yy  # integer dtype is converted
    x = np.array([[8.25, 9.5], [10.0, 11.75]])
    y = x[::-1] + 0.5
    values = interpolate_points(grid, x, y)
    assert values.shape == (2, 2)
    npt.assert_allclose(values, 3 * x - y, rtol=1e-8)
    npt.assert_allclose(interpolate_points(grid, 9.5, 9.5), 19.0, rtol=1e-8)


@pytest.mark.parametrize(
    ("kernel", "sigma", "freq", "tol"),
    [("D5512", 4.0, 0.1, 1e-6), ("G4460", 4.0, 0.05, 1e-5)],
)
def test_band_limited_functions_are_reproduced(kernel, sigma, freq, tol):
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:48, 0:48].astype(float)
    x = rng.uniform(12.0, 35.0, 300)
    y = rng.uniform(12.0, 35.0, 300)
    xc, yc = 23.3, 24.1

    def gaussian(x, y):
        return np.exp(-((x - xc) ** 2 + (y - yc) ** 2) / (2 * sigma**2))

    def cosine(x, y):
        return np.cos(2 * np.pi * freq * x + 0.3) * np.cos(2 * np.pi * 0.7 * freq * y - 0.2)

    for func in (gaussian, cosine):  # both have peak amplitude 1: the error is relative to it
        values = interpolate_points(func(xx, yy), x, y, kernel)
        npt.assert_allclose(values, func(x, y), rtol=0, atol=tol)


# --- pattern 2: symmetric matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [1, 6, 9])
def test_symmetric_matches_points_and_naive(kernel, n):
    rng = np.random.default_rng(n)
    grid = rng.uniform(0.5, 1.5, (31, 27))
    pos_x = rng.uniform(-4.0, 4.0, n)
    pos_y = rng.uniform(-4.0, 4.0, n)
    # lags around the grid centre, shifted so that some reach past the valid edges
    dx = 13.0 + 2.5 * (pos_x[:, None] - pos_x[None, :])
    dy = 15.0 + 2.5 * (pos_y[:, None] - pos_y[None, :])
    dx[np.tril_indices(n, -1)] = np.nan  # below the diagonal is never read
    values = interpolate_symmetric(grid, dx, dy, kernel)
    assert values.shape == (n, n)
    assert np.array_equal(values, values.T)
    iu = np.triu_indices(n)
    upper = interpolate_points(grid, dx[iu], dy[iu], kernel)
    npt.assert_allclose(values[iu], upper, rtol=1e-13, atol=0)  # scattered points: fused path, same math
    npt.assert_allclose(values[iu], interp2d_naive(grid, dx[iu], dy[iu], kernel), rtol=1e-12, atol=0)
    assert np.all(values[iu][~is_valid(kernel, dx[iu], dy[iu], 27, 31)] == 0.0)


# --- pattern 3: grid mode ----------------------------------------------------------------------------


def outer_points(xs, ys):
    """Points of the grid mode in output order (x fastest): arrays of shape (npi, nyo * nxo)."""
    npi, nxo = xs.shape
    nyo = ys.shape[1]
    x = np.broadcast_to(xs[:, None, :], (npi, nyo, nxo)).reshape(npi, -1)
    y = np.broadcast_to(ys[:, :, None], (npi, nyo, nxo)).reshape(npi, -1)
    return x, y


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_grid_matches_points_and_naive(kernel, layout):
    rng = np.random.default_rng(3)
    ny, nx = 26, 90
    grid = rng.uniform(0.5, 1.5, (ny, nx))
    npi, nxo, nyo = 4, 7, 5
    if layout == "dense":  # closely spaced columns: the separable summation is used
        xs = rng.uniform(-3.0, nx - 5.0, (npi, 1)) + 1.3 * np.arange(nxo)
    else:  # columns spread over the grid: the direct summation is used
        xs = np.array([-1.0, 5.5, 20.3, 41.7, 60.2, 84.9, 95.0]) + rng.uniform(-1.0, 1.0, (npi, nxo))
    ys = rng.uniform(-3.0, ny, (npi, 1)) + 1.1 * np.arange(nyo)
    xs[0, 2], ys[1, 1] = np.nan, np.inf
    values = interpolate_grid(grid, xs, ys, kernel)
    assert values.shape == (npi, nyo * nxo)
    x, y = outer_points(xs, ys)
    npt.assert_allclose(values, interpolate_points(grid, x, y, kernel), rtol=1e-12, atol=0)
    expected = interp2d_naive(grid, x.ravel(), y.ravel(), kernel).reshape(npi, -1)
    npt.assert_allclose(values, expected, rtol=1e-12, atol=0)
    valid = is_valid(kernel, x, y, nx, ny)
    assert np.all(values[~valid] == 0.0)
    assert 0 < np.count_nonzero(valid) < valid.size


def test_grid_writes_into_a_strided_out():
    rng = np.random.default_rng(4)
    grid = rng.uniform(0.5, 1.5, (40, 40))
    xs = rng.uniform(5.0, 30.0, (6, 3))
    ys = rng.uniform(5.0, 30.0, (6, 4))
    big = np.full((12, 20), np.nan)
    view = big[:, 2:8].T  # (6, 12), strided
    result = interpolate_grid(grid, xs, ys, out=view)
    assert result is view
    npt.assert_array_equal(big[:, 2:8].T, interpolate_grid(grid, xs, ys))
    assert np.all(np.isnan(big[:, :2])) and np.all(np.isnan(big[:, 8:]))
    with pytest.raises(PyIMCOMValueError, match="out must be a float64 array of shape"):
        interpolate_grid(grid, xs, ys, out=np.empty((6, 11)))


def test_grid_all_columns_invalid_gives_zeros():
    grid = np.ones((20, 20))
    values = interpolate_grid(grid, [[0.5, 30.0], [-1.0, 2.0]], [[9.0], [10.0]])
    npt.assert_array_equal(values, np.zeros((2, 2)))


# --- pattern 4: lags between two point sets, one grid per pair ---------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_pair_lags_match_naive_per_pair_grid(kernel):
    rng = np.random.default_rng(11)
    grids = rng.uniform(0.5, 1.5, (2, 3, 31, 27))
    na, nb = 13, 17
    la, lb = rng.integers(0, 2, na), rng.integers(0, 3, nb)
    xa, ya = rng.uniform(-4.0, 4.0, na), rng.uniform(-4.0, 4.0, na)
    xb, yb = rng.uniform(-4.0, 4.0, nb), rng.uniform(-4.0, 4.0, nb)
    xa[3], yb[5] = np.nan, np.inf  # invalid lags give 0
    scale, offset = 0.4, 14.0  # lags reach past the valid edges on both sides
    values = interpolate_pair_lags(grids, la, lb, (xa, ya), (xb, yb), scale, offset, kernel)
    assert values.shape == (na, nb)
    dx = (xa[:, None] - xb[None, :]) / scale + offset
    dy = (ya[:, None] - yb[None, :]) / scale + offset
    expected = np.empty((na, nb))
    for i in range(na):
        for j in range(nb):
            at = (dx[i, j : j + 1], dy[i, j : j + 1])
            expected[i, j] = interp2d_naive(grids[la[i], lb[j]], *at, kernel)[0]
    npt.assert_allclose(values, expected, rtol=1e-12, atol=1e-15)
    valid = is_valid(kernel, dx, dy, 27, 31)
    assert np.all(values[~valid] == 0.0)
    assert 0 < np.count_nonzero(valid) < valid.size


@pytest.mark.parametrize("kernel", KERNELS)
def test_pair_lags_symmetric_mirrors_the_upper_triangle(kernel):
    rng = np.random.default_rng(12)
    raw = rng.uniform(0.5, 1.5, (2, 2, 29, 29))
    grids = 0.5 * (raw + raw.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])  # F[k, l](s) = F[l, k](-s)
    n = 15
    la = rng.integers(0, 2, n)
    x, y = rng.uniform(-5.0, 5.0, n), rng.uniform(-5.0, 5.0, n)
    values = interpolate_pair_lags(grids, la, la, (x, y), (x, y), 0.5, 14.0, kernel, symmetric=True)
    assert np.array_equal(values, values.T)
    full = interpolate_pair_lags(grids, la, la, (x, y), (x, y), 0.5, 14.0, kernel)
    iu = np.triu_indices(n)
    npt.assert_array_equal(values[iu], full[iu])
    npt.assert_allclose(values, full, rtol=1e-12, atol=1e-15)  # the mirror is the transposed lag
    assert np.count_nonzero(values == 0.0) > 0  # some lags leave the grid


def test_pair_lags_errors():
    grids = np.ones((1, 2, 20, 20))
    pts = (np.zeros(3), np.zeros(3))
    with pytest.raises(PyIMCOMValueError, match="lb must index axis of length 2"):
        interpolate_pair_lags(grids, [0, 0, 0], [0, 2, 1], pts, pts, 1.0, 10.0)
    with pytest.raises(PyIMCOMValueError, match="la and its positions"):
        interpolate_pair_lags(grids, [0, 0], [0, 1, 1], pts, pts, 1.0, 10.0)
    with pytest.raises(PyIMCOMValueError, match="scale must be finite and > 0"):
        interpolate_pair_lags(grids, [0, 0, 0], [0, 1, 1], pts, pts, 0.0, 10.0)
    with pytest.raises(PyIMCOMValueError, match="symmetric=True needs the same points"):
        interpolate_pair_lags(grids, [0, 0, 0], [0, 1, 1], pts, pts, 1.0, 10.0, symmetric=True)
    with pytest.raises(PyIMCOMValueError, match="grids must be 4-D"):
        interpolate_pair_lags(grids[0], [0, 0, 0], [0, 1, 1], pts, pts, 1.0, 10.0)


# --- errors ------------------------------------------------------------------------------------------


G20 = np.ones((20, 20))  # a valid grid
ONE = [1.0]  # a valid position list
M22 = np.ones((2, 2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: interp_weights("D5513", 0.5), r"kernel must be one of .*'D5513'"),
        (lambda: interpolate_points(G20, ONE, ONE, kernel=5), "kernel must be one of"),
        (lambda: interp_weights("D5512", 1.5), r"f must lie in \[0, 1\].*1.5"),
        (lambda: interp_weights("D5512", [np.nan]), r"f must lie in \[0, 1\].*nan"),
        (lambda: interp_weights("G4460", M22), r"f must be 0-D or 1-D; got shape \(2, 2\)"),
        (lambda: interpolate_points(np.ones(20), ONE, ONE), r"grid must be 2-D or 3-D; got shape \(20,\)"),
        (lambda: interpolate_points(G20, [1.0, 2.0], ONE), "x and y must have the same shape"),
        (lambda: interpolate_points(G20.astype(complex), ONE, ONE), "grid must be a real.*complex"),
        (lambda: interpolate_points(G20, [True], ONE), "x must be a real.*bool"),
        (lambda: interpolate_points(G20, ONE, ["a"]), "y must be a real"),
        (lambda: interpolate_symmetric(np.ones((2, 20, 20)), M22, M22), "grid must be 2-D"),
        (lambda: interpolate_symmetric(G20, np.ones((2, 3)), np.ones((2, 3))), "dx must be a square"),
        (lambda: interpolate_symmetric(G20, M22, np.ones((3, 3))), r"dy must have the shape of dx \(2, 2\)"),
        (lambda: interpolate_grid(G20, np.ones(3), np.ones((1, 3))), r"xs must be 2-D; got shape \(3,\)"),
        (lambda: interpolate_grid(G20, np.ones((2, 3)), np.ones((1, 3))), "same number of sets"),
    ],
)
def test_bad_inputs_raise(call, match):
    with pytest.raises(PyIMCOMValueError, match=match):
        call()


def test_kernels_generic_tap_count_path():
    """Tables of other sizes (not reachable through the public API) take the generic loops."""
    from pyimcom._kernels.interp import _tap_sum, _weights_1d

    rng = np.random.default_rng(2)
    even, odd = rng.normal(size=(2, 3, 2))
    w = np.empty(6)
    _weights_1d(0.3, even, odd, w)
    t, u = -0.2, 0.04
    first = even[:, 0] + even[:, 1] * u + t * (odd[:, 0] + odd[:, 1] * u)
    mirror = even[:, 0] + even[:, 1] * u - t * (odd[:, 0] + odd[:, 1] * u)
    npt.assert_allclose(w, np.concatenate([first, mirror[::-1]]), rtol=1e-13)
    grid = rng.normal(size=(9, 9))
    wy = rng.normal(size=6)
    npt.assert_allclose(_tap_sum(grid, 2, 1, w, wy), wy @ grid[2:8, 1:7] @ w, rtol=1e-12)
