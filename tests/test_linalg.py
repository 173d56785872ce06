"""Tests of pyimcom.linalg: single-kappa kernels, guards and the dispatcher, against dense numpy."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import numpy.testing as npt
import pytest

from pyimcom.errors import PyIMCOMValueError, PyIMCOMWarning
from pyimcom.linalg import (
    SolverSettings,
    cone_weights,
    solve_cholesky,
    solve_eigen,
    solve_empirical,
    solve_iterative,
    solve_stamp,
)
from pyimcom.linalg.cholesky import solve_shifted

SAMPLE_STEP = 0.5  # sampling-grid step [output pixels]


def physical_system(n=80, side=5, n_out=1, seed=0, sigma_out=(1.4, 1.7)):
    """A small stamp: Gaussian input PSFs (two 'images') and Gaussian targets sampled on a grid.

    Returns a dict with A (n, n), b (n_out, m, n), C (n_out,), the sampled PSFs G (n, ns) and
    Gamma (n_out, m, ns), and the positions pos_in (n, 2), pos_out (m, 2) [output pixels].
    """
    rng = np.random.default_rng(seed)
    axis = np.arange(-10.0, side + 9.0 + 1e-9, SAMPLE_STEP)
    gx, gy = (g.ravel() for g in np.meshgrid(axis, axis))
    pos_in = rng.uniform(-2.0, side + 1.0, size=(n, 2))
    sigma_in = np.where(rng.integers(0, 2, size=n) == 0, 0.8, 1.0)
    oy, ox = np.mgrid[0:side, 0:side]
    pos_out = np.column_stack([ox.ravel(), oy.ravel()]).astype(float)

    def gauss(pos, sigma):
        r2 = (gx[None, :] - pos[:, 0, None]) ** 2 + (gy[None, :] - pos[:, 1, None]) ** 2
        sigma = np.reshape(sigma, (-1, 1))
        return np.exp(-r2 / (2 * sigma**2)) * SAMPLE_STEP**2 / (2 * np.pi * sigma**2)

    G = gauss(pos_in, sigma_in)
    Gamma = np.stack([gauss(pos_out, sigma_out[o]) for o in range(n_out)])
    A = G @ G.T
    b = np.einsum("oas,is->oai", Gamma, G)
    C = np.einsum("os,os->o", Gamma[:, 0], Gamma[:, 0])
    return dict(A=A, b=b, C=C, G=G, Gamma=Gamma, pos_in=pos_in, pos_out=pos_out)


def direct_uc(T, G, Gamma_o, C_o):
    """Leakage ||T G - Gamma||^2 / C of every output pixel, straight from its definition."""
    resid = T @ G - Gamma_o
    return np.einsum("as,as->a", resid, resid) / C_o


@pytest.fixture(scope="module")
def system():
    return physical_system()


def test_solve_shifted_matches_dense_solve(system):
    A, b, C = system["A"], system["b"], system["C"]
    kappa = 1e-4 * C[0]
    expected = np.linalg.solve(A + kappa * np.eye(len(A)), b[0].T).T
    npt.assert_allclose(solve_shifted(A, b[0], kappa), expected, rtol=1e-10, atol=1e-10 * abs(expected).max())


def test_cholesky_single_kappa_matches_direct_leakage(system):
    A, b, C = system["A"], system["b"], system["C"]
    settings = SolverSettings(kappac=(1e-4,))
    sol = solve_cholesky(A, b, C, settings)
    kappa = 1e-4 * C[0]
    T64 = np.linalg.solve(A + kappa * np.eye(len(A)), b[0].T).T
    npt.assert_allclose(sol.T[0], T64, rtol=1e-6, atol=1e-6 * abs(T64).max())
    npt.assert_allclose(
        sol.uc[0], direct_uc(T64, system["G"], system["Gamma"][0], C[0]), rtol=1e-8, atol=1e-12
    )
    npt.assert_allclose(sol.sigma[0], np.sum(T64**2, axis=1), rtol=1e-10)
    npt.assert_array_equal(sol.kappa, kappa)


def test_cholesky_kappa_zero_is_plain_solve():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(12, 12))
    A = M @ M.T + 12 * np.eye(12)
    b = rng.normal(size=(1, 4, 12))
    sol = solve_cholesky(A, b, [2.0], SolverSettings(kappac=(0.0,)))
    npt.assert_allclose(sol.T[0], np.linalg.solve(A, b[0].T).T, rtol=1e-6, atol=1e-7)
    npt.assert_array_equal(sol.kappa, 0.0)


def test_non_positive_definite_fallback_warns(system):
    A, b, C = system["A"], system["b"], system["C"]
    lam_min = np.linalg.eigvalsh(A)[0]
    A_bad = A - (lam_min + 1e-3 * C[0]) * np.eye(len(A))  # smallest eigenvalue -1e-3 C
    with pytest.warns(PyIMCOMWarning, match="smallest eigenvalue"):
        sol = solve_cholesky(A_bad, b, C, SolverSettings(kappac=(1e-4,)))
    assert np.all(np.isfinite(sol.T)) and np.all(np.isfinite(sol.uc))
    shift = 1e-4 * C[0] + abs(np.linalg.eigvalsh(A_bad)[0]) + 1e-16
    expected = np.linalg.solve(A_bad + shift * np.eye(len(A)), b[0].T).T
    npt.assert_allclose(sol.T[0], expected, rtol=1e-4, atol=1e-5 * abs(expected).max())


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("kappac", [(1e-4,), (1e-5, 1e-4, 1e-3)])
def test_overwrite_a_gives_the_same_solution(order, kappac):
    s = physical_system(n=40, side=3, n_out=2, seed=6)
    settings = SolverSettings(kappac=kappac)
    expected = solve_cholesky(s["A"], s["b"], s["C"], settings)
    A = np.array(s["A"], order=order)
    sol = solve_stamp("Cholesky", A, s["b"], s["C"], settings, overwrite_a=True)
    for name in ("T", "uc", "sigma", "kappa"):
        npt.assert_array_equal(getattr(sol, name), getattr(expected, name))
    assert not np.array_equal(A, s["A"])  # the last factorisation used A's memory


@pytest.mark.parametrize("kappac", [(1e-4,), (1e-5, 1e-4, 1e-3)])
def test_overwrite_b_gives_the_same_solution(kappac):
    s = physical_system(n=40, side=3, n_out=2, seed=7)
    settings = SolverSettings(kappac=kappac)
    expected = solve_cholesky(s["A"], s["b"], s["C"], settings)
    b = s["b"].copy()
    sol = solve_stamp("Cholesky", s["A"].copy(), b, s["C"], settings, overwrite_a=True, overwrite_b=True)
    for name in ("T", "uc", "sigma", "kappa"):
        npt.assert_array_equal(getattr(sol, name), getattr(expected, name))
    if len(kappac) == 1:  # the solves ran in b's memory: b now holds T
        npt.assert_allclose(b, expected.T, rtol=1e-6, atol=1e-6 * abs(expected.T).max())
    else:  # several nodes need b for every node: b is left alone
        npt.assert_array_equal(b, s["b"])


def test_single_node_products_match_a_dense_solve(system):
    """D = |L^-1 b|^2 and N = |T|^2 give U/C and Sigma as the dense solve's T . b and T . T."""
    A, b, C = system["A"], system["b"], system["C"]
    kappa = 1e-4 * C[0]
    T = np.linalg.solve(A + kappa * np.eye(len(A)), b[0].T).T
    D, N = np.einsum("ai,ai->a", T, b[0]), np.einsum("ai,ai->a", T, T)
    sol = solve_cholesky(A, b, C, SolverSettings(kappac=(1e-4,)))
    npt.assert_allclose(sol.sigma[0], N, rtol=1e-9)
    npt.assert_allclose(sol.uc[0], 1.0 - (kappa * N + D) / C[0], rtol=1e-6, atol=1e-12)


def test_overwrite_a_failed_factorisation_restores_a(system):
    from pyimcom.linalg.cholesky import factor_shifted

    A, C = system["A"], system["C"]
    lam_min = np.linalg.eigvalsh(A)[0]
    A_bad = A - (lam_min + 1e-3 * C[0]) * np.eye(len(A))
    work = A_bad.copy()
    with pytest.warns(PyIMCOMWarning, match="smallest eigenvalue"):
        L_in_place = factor_shifted(work, 1e-4 * C[0], overwrite_a=True)
    with pytest.warns(PyIMCOMWarning, match="smallest eigenvalue"):
        L_copy = factor_shifted(A_bad, 1e-4 * C[0])
    npt.assert_array_equal(work, A_bad)  # restored before the repair, which worked on a copy
    npt.assert_array_equal(np.tril(L_in_place), np.tril(L_copy))


def test_no_warning_for_positive_definite(system):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_cholesky(system["A"], system["b"], system["C"], SolverSettings(kappac=(1e-4,)))


@pytest.mark.parametrize("kappac", [(1e-4,), (1e-3,)])
def test_eigen_single_kappa_equals_cholesky(system, kappac):
    args = (system["A"], system["b"], system["C"], SolverSettings(kappac=kappac))
    chol, eig = solve_cholesky(*args), solve_eigen(*args)
    npt.assert_allclose(eig.uc, chol.uc, rtol=1e-8, atol=1e-8)
    npt.assert_allclose(eig.sigma, chol.sigma, rtol=1e-8)
    npt.assert_allclose(eig.kappa, chol.kappa, rtol=1e-15)
    npt.assert_allclose(eig.T, chol.T, rtol=1e-5, atol=1e-6 * abs(chol.T).max())


def eigen_bisection_naive(A, b_o, C_o, kappac, ucmin, smax, nbis=13):
    """Per-pixel log-space bisection with direct dense solves (spec §4.7, Eigen nv >= 2)."""
    kappas = np.empty(len(b_o))
    eye = np.eye(len(A))
    for a in range(len(b_o)):
        kmin, kmax = kappac[0] * C_o, kappac[-1] * C_o
        kappa, factor = np.sqrt(kmin * kmax), np.sqrt(kmax / kmin)
        for _ in range(nbis):
            t = np.linalg.solve(A + kappa * eye, b_o[a])
            sigma, uc = t @ t, 1 - (t @ b_o[a] + kappa * (t @ t)) / C_o
            factor = np.sqrt(factor)
            kappa = kappa / factor if (uc > ucmin and sigma < smax) else kappa * factor
        kappas[a] = kappa
    return kappas


@pytest.mark.parametrize("ucmin, smax", [(1e-6, 0.5), (1e-4, 0.5), (1e-5, 1.0), (1e-3, 0.5)])
def test_eigen_multi_kappa_bisection(system, ucmin, smax):
    A, b, C = system["A"], system["b"], system["C"]
    settings = SolverSettings(kappac=(1e-5, 1e-4, 1e-3), ucmin=ucmin, smax=smax)
    sol = solve_eigen(A, b, C, settings)
    expected_kappa = eigen_bisection_naive(A, b[0], C[0], settings.kappac, ucmin, smax)
    npt.assert_allclose(sol.kappa[0], expected_kappa, rtol=1e-10)  # kappa reported once (not Q8)
    for a in range(0, b.shape[1], 7):  # T, U/C, Sigma evaluated at the reported kappa
        t = np.linalg.solve(A + sol.kappa[0, a] * np.eye(len(A)), b[0, a])
        npt.assert_allclose(sol.T[0, a], t, rtol=1e-5, atol=1e-6 * abs(t).max())
        npt.assert_allclose(sol.sigma[0, a], t @ t, rtol=1e-8)


def windowed_direct(A, b_o, window, kappa):
    T = np.zeros_like(b_o)
    for a in range(len(b_o)):
        sel = np.flatnonzero(window[a])
        T[a, sel] = np.linalg.solve(A[np.ix_(sel, sel)] + kappa * np.eye(sel.size), b_o[a, sel])
    return T


def cg_naive(M, rhs, rtol, maxiter):
    """Plain conjugate gradient from x0 = 0, testing ||r|| < rtol ||b|| before each step."""
    x, r = np.zeros_like(rhs), rhs.copy()
    p, rho_prev = r.copy(), 0.0
    for it in range(maxiter):
        rho = r @ r
        if np.sqrt(rho) < rtol * np.linalg.norm(rhs):
            break
        if it > 0:
            p = r + (rho / rho_prev) * p
        q = M @ p
        alpha = rho / (p @ q)
        x, r, rho_prev = x + alpha * p, r - alpha * q, rho
    return x


def test_iterative_converges_to_windowed_direct_solve(system):
    A, b, C = system["A"], system["b"], system["C"]
    rho = 2.5
    settings = SolverSettings(kappac=(1e-3,), iter_rtol=1e-13, iter_max=2000)
    sol = solve_iterative(A, b, C, settings, system["pos_in"], system["pos_out"], rho)
    window = (
        np.hypot(*(system["pos_out"][:, None, :] - system["pos_in"][None, :, :]).transpose(2, 0, 1)) < rho
    )
    expected = windowed_direct(A, b[0], window, 1e-3 * C[0])
    npt.assert_allclose(sol.T[0], expected, rtol=1e-5, atol=1e-6 * abs(expected).max())
    assert np.all(sol.T[0][~window] == 0)
    N, D = np.sum(expected**2, axis=1), np.sum(expected * b[0], axis=1)
    npt.assert_allclose(sol.uc[0], 1 - (1e-3 * C[0] * N + D) / C[0], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("iter_max, iter_rtol", [(1, 1e-3), (4, 0.2), (7, 1e-2)])
def test_iterative_matches_naive_cg(system, iter_max, iter_rtol):
    A, b, C = system["A"], system["b"], system["C"]
    rho, kappa = 3.0, 1e-4 * C[0]
    settings = SolverSettings(kappac=(1e-4,), iter_rtol=iter_rtol, iter_max=iter_max)
    sol = solve_iterative(A, b, C, settings, system["pos_in"], system["pos_out"], rho)
    dist = np.linalg.norm(system["pos_out"][:, None, :] - system["pos_in"][None, :, :], axis=2)
    for a in range(b.shape[1]):
        sel = np.flatnonzero(dist[a] < rho)
        M, rhs = A[np.ix_(sel, sel)] + kappa * np.eye(sel.size), b[0, a, sel]
        if iter_max == 1:  # one CG step by hand: x = (r.r / r.M r) r with r = b
            expected = (rhs @ rhs) / (rhs @ M @ rhs) * rhs
        else:
            expected = cg_naive(M, rhs, iter_rtol, iter_max)
        npt.assert_allclose(sol.T[0, a, sel], expected, rtol=1e-5, atol=1e-6 * abs(expected).max())


def test_iterative_empty_window_is_floored(system):
    pos_out = np.vstack([system["pos_out"][:-1], [[100.0, 100.0]]])  # last output pixel far away
    sol = solve_iterative(
        system["A"], system["b"], system["C"], SolverSettings(kappac=(0.0,)), system["pos_in"], pos_out, 2.0
    )
    assert np.all(sol.T[0, -1] == 0)
    assert sol.sigma[0, -1] == 1e-32 and sol.uc[0, -1] == 1.0
    assert np.all(sol.sigma >= 1e-32) and np.all(sol.uc >= 1e-32)


def test_cone_weights_sum_to_one_and_empty_window(system):
    pos_out = np.vstack([system["pos_out"], [[100.0, 100.0]]])
    T = cone_weights(system["pos_in"], pos_out, 2.0)
    npt.assert_allclose(T[:-1].sum(axis=1), 1.0, rtol=1e-14)
    assert np.all(T[-1] == 0) and np.all(T >= 0)
    dist = np.linalg.norm(pos_out[:, None, :] - system["pos_in"][None, :, :], axis=2)
    assert np.all(T[dist >= 2.0] == 0)


def test_empirical_quality_maps(system):
    A, b, C = system["A"], system["b"], system["C"]
    pos_out = np.vstack([system["pos_out"][:-1], [[100.0, 100.0]]])
    settings = SolverSettings(kappac=(2e-4,))
    sol = solve_empirical(A, b, C, settings, system["pos_in"], pos_out, 2.0)
    T = cone_weights(system["pos_in"], pos_out, 2.0)
    npt.assert_allclose(sol.T[0], T, rtol=1e-6)
    uc = direct_uc(T[:-1], system["G"], system["Gamma"][0, :-1], C[0])
    npt.assert_allclose(sol.uc[0, :-1], uc, rtol=1e-8)
    npt.assert_allclose(sol.sigma[0], np.sum(T**2, axis=1), rtol=1e-12)
    assert sol.uc[0, -1] == 1.0 and sol.sigma[0, -1] == 0.0
    npt.assert_array_equal(sol.kappa, 2e-4 * C[0])


def test_empirical_no_quality_control_needs_no_system(system):
    settings = SolverSettings(kappac=(0.0,), empirnqc=True)
    sol = solve_empirical(None, None, None, settings, system["pos_in"], system["pos_out"], 2.0, n_out=2)
    assert sol.T.shape == (2, 25, 80) and sol.T.dtype == np.float32
    assert not sol.uc.any() and not sol.sigma.any() and not sol.kappa.any()
    with pytest.raises(PyIMCOMValueError, match="n_out"):
        solve_empirical(None, None, None, settings, system["pos_in"], system["pos_out"], 2.0)


KERNELS = ["Cholesky", "Iterative", "Eigen", "Empirical"]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("kappac", [(1e-4,), (1e-5, 1e-4, 1e-3)])
def test_shapes_and_dtypes_two_targets(kernel, kappac):
    s = physical_system(n=40, side=3, n_out=2, seed=5)
    sol = solve_stamp(
        kernel, s["A"], s["b"], s["C"], SolverSettings(kappac=kappac), (s["pos_in"], s["pos_out"]), 3.0
    )
    assert sol.T.shape == (2, 9, 40) and sol.T.dtype == np.float32
    for arr in (sol.uc, sol.sigma, sol.kappa):
        assert arr.shape == (2, 9) and arr.dtype == np.float64 and np.all(np.isfinite(arr))
    assert not np.allclose(sol.T[0], sol.T[1]) or kernel == "Empirical"


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("kappac", [(1e-4,), (1e-5, 1e-3)])
def test_no_input_pixels_guard(kernel, kappac):
    b, pos_in, pos_out = np.zeros((2, 4, 0)), np.zeros((0, 2)), np.zeros((4, 2))
    sol = solve_stamp(
        kernel, np.zeros((0, 0)), b, [1.0, 2.0], SolverSettings(kappac=kappac), (pos_in, pos_out), 2.0
    )
    assert sol.T.shape == (2, 4, 0) and sol.T.dtype == np.float32
    npt.assert_array_equal(sol.uc, 1.0)
    npt.assert_array_equal(sol.sigma, 0.0)
    npt.assert_array_equal(sol.kappa, 1.0)


def test_dispatcher_errors(system):
    args = (system["A"], system["b"], system["C"], SolverSettings())
    with pytest.raises(PyIMCOMValueError, match="'LU'"):
        solve_stamp("LU", *args)
    with pytest.raises(PyIMCOMValueError, match="Iterative kernel needs positions"):
        solve_stamp("Iterative", *args)
    with pytest.raises(PyIMCOMValueError, match="A must have shape"):
        solve_stamp("Cholesky", system["A"][:-1], *args[1:])
    with pytest.raises(PyIMCOMValueError, match="C .* > 0"):
        solve_stamp("Eigen", system["A"], system["b"], [0.0], SolverSettings())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kappac=(1e-3, 1e-4)), "strictly ascending"),
        (dict(kappac=(0.0, 1e-4)), "all > 0"),
        (dict(kappac=()), "non-empty"),
        (dict(iter_max=0), "ITERMAX"),
        (dict(iter_rtol=-1.0), "ITERRTOL"),
    ],
)
def test_settings_validation(kwargs, match):
    with pytest.raises(PyIMCOMValueError, match=match):
        SolverSettings(**kwargs)


def test_settings_pickle_and_repr_round_trip():
    settings = SolverSettings(kappac=[1e-5, 1e-4], ucmin=1e-5, smax=0.3, iter_rtol=1e-3, iter_max=10)
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert eval(repr(settings), {"SolverSettings": SolverSettings}) == settings
    assert settings.kappac == (1e-5, 1e-4) and settings.nv == 2
