"""The Cholesky kernel that solves for the engine's sums (`pyimcom.linalg.split`) against dense solves.

The systems are those of Gaussian PSFs with analytic overlaps (`gaussian_systems`).
"""

from __future__ import annotations

import numpy as np
import pytest
from gaussian_systems import dense_solve, gaussian_system, layer_vectors

from pyimcom._kernels.narrow import narrow_lower
from pyimcom._kernels.products import column_norms2
from pyimcom.errors import PyIMCOMValueError
from pyimcom.linalg import SolverSettings, solve_cholesky
from pyimcom.linalg.split import solve_cholesky_sums


@pytest.mark.parametrize("n", [1, 2, 3, 5, 64, 257, 1000])
def test_narrow_lower_matches_a_rounded_copy(n):
    rng = np.random.default_rng(n)
    L = np.asfortranarray(rng.standard_normal((n, n)))
    expected = np.tril(L).astype(np.float32)
    L32 = narrow_lower(L)
    assert L32.dtype == np.float32 and L32.shape == (n, n) and L32.flags.f_contiguous
    assert np.shares_memory(L32, L)  # in L's own memory
    np.testing.assert_array_equal(np.tril(L32), expected)


def test_narrow_lower_rejects_what_it_cannot_narrow_in_place():
    for bad in (np.zeros((3, 3)), np.zeros((3, 4), order="F"), np.zeros((3, 3), np.float32, order="F")):
        with pytest.raises(ValueError, match="Fortran-contiguous float64"):
            narrow_lower(bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["F", "C"])
def test_column_norms2_match_float64_sums_of_squares(dtype, order):
    rng = np.random.default_rng(7)
    X = np.asarray(rng.standard_normal((513, 40)) * 10.0 ** rng.integers(-3, 4, 40), dtype=dtype, order=order)
    X = X[:, :37]  # a strided view of the solve's columns, as the engine passes them
    expected = np.sum(X.astype(np.float64) ** 2, axis=0)  # float64 squares of the stored values
    out = np.full(37, np.nan)
    assert column_norms2(X, out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def _rhs(b, V):
    return np.concatenate([b, np.broadcast_to(V, (b.shape[0],) + V.shape)], axis=1)


@pytest.mark.parametrize("targets", [(1.0,), (1.0, 1.3)])
def test_sums_are_float64_exact_and_maps_match_the_float64_kernel(targets):
    A, b, C, image, rng = gaussian_system(targets=targets)
    V = layer_vectors(rng, image)
    settings = SolverSettings(kappac=(6e-4,))
    sol, sums = solve_cholesky_sums(A.copy(), _rhs(b, V), C, settings, V.shape[0])
    ref = solve_cholesky(A, b, C, settings)
    for o in range(len(targets)):
        kappa = 6e-4 * C[o]
        T64, sums64 = dense_solve(A, b[o], kappa, V)
        # the sums come from the float64 forward solve: float64 accuracy
        assert np.max(np.abs(sums[o] - sums64) / np.max(np.abs(sums64), axis=0)) < 1e-9
        # the sums formed from the float32 T would be much worse: the sums did not come from it
        plain = sol.T[o].astype(np.float64) @ V.T
        assert np.max(np.abs(plain - sums64) / np.max(np.abs(sums64), axis=0)) > 1e-7
        # T and Sigma from the float32 back-substitution; U/C's D term is float64, so U/C moves only
        # through kappa Sigma / C
        assert np.max(np.abs(sol.T[o] - T64)) < 1e-3 * np.max(np.abs(T64))
        np.testing.assert_allclose(sol.sigma[o], ref.sigma[o], rtol=1e-4)
        np.testing.assert_allclose(sol.uc[o], ref.uc[o], rtol=1e-2)
        fid, fid_ref = -10 * np.log10(np.median(sol.uc[o])), -10 * np.log10(np.median(ref.uc[o]))
        assert abs(fid - fid_ref) < 0.01
        np.testing.assert_allclose(sol.kappa[o], kappa)


def test_a_is_destroyed_only_when_allowed_and_rhs_is_overwritten():
    A, b, C, _, rng = gaussian_system(n_per=40)
    V = rng.standard_normal((2, A.shape[0]))
    settings = SolverSettings(kappac=(1e-3,))
    keep = A.copy()
    rhs = _rhs(b, V)
    first, sums = solve_cholesky_sums(A, rhs, C, settings, 2)
    np.testing.assert_array_equal(A, keep)
    assert not np.array_equal(rhs, _rhs(b, V))  # the forward solve ran in rhs's memory
    again, sums2 = solve_cholesky_sums(A, _rhs(b, V), C, settings, 2, overwrite_a=True)
    assert not np.array_equal(A, keep)
    np.testing.assert_array_equal(sums2, sums)
    np.testing.assert_array_equal(again.uc, first.uc)


def test_a_nan_vector_gives_nan_sums_only_for_itself():
    A, b, C, _, rng = gaussian_system(n_per=40)
    V = rng.standard_normal((2, A.shape[0]))
    V[1, 3] = np.nan
    sol, sums = solve_cholesky_sums(A, _rhs(b, V), C, SolverSettings(kappac=(1e-3,)), 2)
    assert np.all(np.isfinite(sums[..., 0])) and np.all(np.isnan(sums[..., 1]))
    assert np.all(np.isfinite(sol.uc)) and np.all(np.isfinite(sol.sigma))


def test_empty_stamp_and_bad_arguments():
    settings = SolverSettings(kappac=(1e-3,))
    sol, sums = solve_cholesky_sums(np.zeros((0, 0)), np.zeros((1, 5, 0)), [1.0], settings, 2)
    assert sums.shape == (1, 3, 2) and np.all(sol.uc == 1.0)
    A, b, C, _, _ = gaussian_system(n_per=10)
    rhs = _rhs(b, np.ones((1, A.shape[0])))
    with pytest.raises(PyIMCOMValueError, match="one kappa node"):
        solve_cholesky_sums(A, rhs, C, SolverSettings(kappac=(1e-4, 1e-3)), 1)
    with pytest.raises(PyIMCOMValueError, match="n_vec = 99"):
        solve_cholesky_sums(A, rhs, C, settings, 99)
    with pytest.raises(PyIMCOMValueError, match="rhs must be float64"):
        solve_cholesky_sums(A, rhs.astype(np.float32), C, settings, 1)
    with pytest.raises(PyIMCOMValueError, match="A must have shape"):
        solve_cholesky_sums(A[1:, 1:], rhs, C, settings, 1)
