"""The mixed-precision Cholesky kernel against dense float64 solves (core §4.7, `pyimcom.linalg.mixed`).

The systems are those of Gaussian PSFs with analytic overlaps (`gaussian_systems`).
"""

from __future__ import annotations

import numpy as np
import pytest
from gaussian_systems import dense_solve as _dense
from gaussian_systems import gaussian_system as _system
from gaussian_systems import layer_vectors

import pyimcom.linalg.mixed as mixed
from pyimcom.errors import PyIMCOMValueError
from pyimcom.linalg import SolverSettings, solve_cholesky
from pyimcom.linalg.mixed import MixedPrecisionError, solve_cholesky_mixed


@pytest.mark.parametrize("targets", [(1.0,), (1.0, 1.3)])
def test_refined_sums_match_a_float64_solve_and_maps_are_close(targets):
    A, b, C, image, rng = _system(targets=targets)
    V = layer_vectors(rng, image)
    settings = SolverSettings(kappac=(6e-4,))
    sol, sums, steps = solve_cholesky_mixed(A.astype(np.float32), b, C, settings, V, lambda Z: Z @ A)
    ref = solve_cholesky(A, b, C, settings)
    assert steps >= 1
    for o in range(len(targets)):
        kappa = 6e-4 * C[o]
        T64, sums64 = _dense(A, b[o], kappa, V)
        # the weighted sums: float64 accuracy (float32 alone is some 1e-3 off, see below)
        assert np.max(np.abs(sums[o] - sums64) / np.max(np.abs(sums64), axis=0)) < 1e-6
        plain = sol.T[o].astype(np.float64) @ V.T
        assert np.max(np.abs(plain - sums64) / np.max(np.abs(sums64), axis=0)) > 1e-6  # refinement mattered
        # T, Sigma and U/C come from the float32 solves
        assert np.max(np.abs(sol.T[o] - T64)) < 1e-2 * np.max(np.abs(T64))
        np.testing.assert_allclose(sol.sigma[o], ref.sigma[o], rtol=1e-2)
        np.testing.assert_allclose(sol.kappa[o], kappa)
        # U/C = 1 - (kappa Sigma + D)/C is a difference of nearly equal numbers: its float32 error is first
        # order.  This dense, ill-conditioned system is a bad case (~1 dB; 0.03 dB on the benchmark
        # block), which is why LAPRECISION defaults to "double".
        fid, fid_ref = -10 * np.log10(np.median(sol.uc[o])), -10 * np.log10(np.median(ref.uc[o]))
        assert 0.01 < abs(fid - fid_ref) < 1.5


def test_a32_is_destroyed_only_when_allowed():
    A, b, C, _, rng = _system()
    V = rng.standard_normal((1, A.shape[0]))
    A32 = np.asfortranarray(A, dtype=np.float32)
    keep = A32.copy()
    solve_cholesky_mixed(A32, b, C, SolverSettings(kappac=(6e-4,)), V, lambda Z: Z @ A)
    np.testing.assert_array_equal(A32, keep)
    solve_cholesky_mixed(A32, b, C, SolverSettings(kappac=(6e-4,)), V, lambda Z: Z @ A, overwrite_a=True)
    assert not np.array_equal(A32, keep)


def test_nan_vector_stays_nan_and_others_converge():
    A, b, C, _, rng = _system()
    V = rng.standard_normal((2, A.shape[0]))
    V[1, 5] = np.nan
    _, sums, _ = solve_cholesky_mixed(A.astype(np.float32), b, C, SolverSettings(kappac=(6e-4,)), V,
                                      lambda Z: Z @ A)  # fmt: skip
    _, sums64 = _dense(A, b[0], 6e-4 * C[0], V[:1])
    assert np.all(np.isnan(sums[0, :, 1]))
    np.testing.assert_allclose(sums[0, :, 0], sums64[:, 0], rtol=0, atol=1e-6 * np.abs(sums64).max())


def test_wrong_residual_operator_fails_instead_of_returning_garbage():
    A, b, C, _, rng = _system()
    V = rng.standard_normal((1, A.shape[0]))
    with pytest.raises(MixedPrecisionError, match="stalls"):
        solve_cholesky_mixed(A.astype(np.float32), b, C, SolverSettings(kappac=(6e-4,)), V,
                             lambda Z: 3.0 * (Z @ A))  # fmt: skip


def test_indefinite_matrix_fails_in_float32():
    A, b, C, _, rng = _system()
    A = A - 2.0 * np.eye(A.shape[0]) * A.diagonal().max()
    with pytest.raises(MixedPrecisionError, match="factorisation"):
        solve_cholesky_mixed(A.astype(np.float32), b, C, SolverSettings(kappac=(6e-4,)),
                             rng.standard_normal((1, A.shape[0])), lambda Z: Z @ A)  # fmt: skip


def test_step_limit(monkeypatch):
    A, b, C, _, rng = _system()
    monkeypatch.setattr(mixed, "REFINE_MAX_STEPS", 1)
    monkeypatch.setattr(mixed, "REFINE_RTOL", 0.0)
    with pytest.raises(MixedPrecisionError, match="1 steps"):
        solve_cholesky_mixed(A.astype(np.float32), b, C, SolverSettings(kappac=(6e-4,)),
                             rng.standard_normal((1, A.shape[0])), lambda Z: Z @ A)  # fmt: skip


def test_empty_stamp_and_bad_arguments():
    empty = np.zeros((0, 0), np.float32)
    sol, sums, steps = solve_cholesky_mixed(empty, np.zeros((1, 4, 0)), [1.0], SolverSettings(kappac=(1e-3,)),
                                            np.zeros((2, 0)), None)  # fmt: skip
    assert sol.T.shape == (1, 4, 0) and sums.shape == (1, 4, 2) and steps == 0
    np.testing.assert_array_equal(sol.uc, 1.0)
    A, b, C, _, _ = _system()
    with pytest.raises(PyIMCOMValueError, match="one kappa node"):
        solve_cholesky_mixed(A.astype(np.float32), b, C, SolverSettings(kappac=(1e-4, 1e-3)), b[0], None)
    with pytest.raises(PyIMCOMValueError, match="float32"):
        solve_cholesky_mixed(A, b, C, SolverSettings(kappac=(1e-4,)), b[0], None)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_vector_at_the_noise_floor_does_not_fail_one_still_converging(seed):
    """Per-vector stopping: an easy vector stalls at rounding level while a hard one still contracts.

    A is block diagonal: a well-conditioned diagonal block (float32 is nearly exact there: the first
    vector reaches float64 rounding in two steps and then its corrections stop shrinking) and an
    ill-conditioned block (the second vector needs ~5 steps).  Judging the contraction over all vectors
    at once failed this stamp.
    """
    rng = np.random.default_rng(seed)
    n = 150
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = np.zeros((2 * n, 2 * n))
    A[:n, :n] = np.diag(rng.uniform(1, 2, n))
    A[n:, n:] = (Q * np.logspace(0, -7, n)) @ Q.T
    A = (A + A.T) / 2
    kappa = 3e-8
    L32 = mixed.factor32(np.asfortranarray(A + kappa * np.eye(2 * n), dtype=np.float32))
    V = np.zeros((2, 2 * n))
    V[0, :n], V[1, n:] = rng.standard_normal(n), rng.standard_normal(n)
    Z, steps = mixed.refine(L32, V, kappa, lambda Z: Z @ A)
    exact = np.linalg.solve(A + kappa * np.eye(2 * n), V.T).T
    assert steps >= 4
    np.testing.assert_allclose(Z, exact, rtol=0, atol=1e-6 * np.abs(exact).max())
