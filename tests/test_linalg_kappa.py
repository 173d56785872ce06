"""Tests of the kappa-node interpolation (reduced kappa search) against a plain per-pixel rewrite."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from test_linalg import physical_system, windowed_direct

from pyimcom.linalg import SolverSettings, reduced_kappa_search, solve_cholesky, solve_iterative


def search_naive(T_nodes, b_a, A, C_o, kappac, ucmin, smax):
    """Spec §4.7 reduced search for one pixel, written plainly; E = T_p A T_q^T computed exactly."""
    nv = len(kappac)
    N = np.array([[T_nodes[p] @ T_nodes[q] for q in range(nv)] for p in range(nv)])
    D = np.array([T_nodes[p] @ b_a for p in range(nv)]) / C_o
    E = np.array([[T_nodes[p] @ A @ T_nodes[q] for q in range(nv)] for p in range(nv)]) / C_o
    out = search_naive_products(N, D, E, kappac, ucmin, smax)
    out["T"] = out["w"] @ T_nodes
    return out


def search_naive_products(N, D, E, kappac, ucmin, smax):
    """The search itself, on one pixel's N (nv, nv), D/C (nv,) and E/C (nv, nv)."""
    nv = len(kappac)
    p = nv - 2  # the top node is never tested
    while p > 0 and not (1 - 2 * D[p] + E[p, p] <= ucmin or N[p, p] >= smax):
        p -= 1
    kappa, factor = np.sqrt(kappac[p] * kappac[p + 1]), (kappac[p + 1] / kappac[p]) ** 0.25
    for _ in range(12):
        w = np.linalg.solve(E + kappa * N, D)
        sigma = w @ N @ w
        uc = 1 - kappa * sigma - D @ w
        kappa_used = kappa
        kappa = kappa / factor if (uc > ucmin and sigma < smax) else kappa * factor
        factor = np.sqrt(factor)
    return dict(w=w, kappa_c=kappa, kappa_used=kappa_used, sigma=sigma, uc=uc, bracket=p)


def naive_all_pixels(A, b_o, C_o, kappac, ucmin, smax, window=None):
    """Run `search_naive` on every pixel with node solutions from direct dense solves."""
    eye = np.eye(len(A))
    results = []
    for a in range(len(b_o)):
        if window is None:
            nodes = np.array([np.linalg.solve(A + k * C_o * eye, b_o[a]) for k in kappac])
        else:
            nodes = np.array(
                [windowed_direct(A, b_o[a : a + 1], window[a : a + 1], k * C_o)[0] for k in kappac]
            )
        results.append(search_naive(nodes, b_o[a], A, C_o, kappac, ucmin, smax))
    return {key: np.array([r[key] for r in results]) for key in results[0]}


@pytest.fixture(scope="module")
def system2():
    return physical_system(n_out=2, seed=1)


CASES = [
    ((1e-5, 1e-4, 1e-3), 1e-6, 0.5),
    ((1e-5, 1e-4, 1e-3, 1e-2), 1e-4, 0.5),
    ((1e-5, 1e-4, 1e-3, 1e-2), 5e-5, 0.3),
    ((1e-6, 1e-3), 1e-5, 1.0),
]


@pytest.mark.parametrize("kappac, ucmin, smax", CASES)
def test_cholesky_multi_kappa_matches_naive_search(system2, kappac, ucmin, smax):
    A, b, C = system2["A"], system2["b"], system2["C"]
    sol = solve_cholesky(A, b, C, SolverSettings(kappac=kappac, ucmin=ucmin, smax=smax))
    for o in range(2):
        ref = naive_all_pixels(A, b[o], C[o], kappac, ucmin, smax)
        npt.assert_allclose(sol.T[o], ref["T"], rtol=1e-5, atol=1e-6 * abs(ref["T"]).max())
        npt.assert_allclose(sol.kappa[o], ref["kappa_c"] * C[o], rtol=1e-12)
        npt.assert_allclose(sol.sigma[o], ref["sigma"], rtol=1e-7)
        npt.assert_allclose(sol.uc[o], ref["uc"], rtol=1e-6, atol=1e-10)
        # U/C of the combined T agrees with the definition ||T G - Gamma||^2 / C
        resid = ref["T"] @ system2["G"] - system2["Gamma"][o]
        npt.assert_allclose(sol.uc[o], np.sum(resid**2, axis=1) / C[o], rtol=1e-5, atol=1e-10)


def test_reduced_search_on_stacked_products(system2):
    A, b, C = system2["A"], system2["b"][1], system2["C"][1]
    kappac = (1e-5, 1e-4, 1e-3, 1e-2)
    nodes = np.stack([np.linalg.solve(A + k * C * np.eye(len(A)), b.T).T for k in kappac])  # (nv, m, n)
    N = np.einsum("pai,qai->apq", nodes, nodes)
    d = np.einsum("pai,ai->ap", nodes, b) / C
    E = np.einsum("pai,ij,qaj->apq", nodes, A, nodes) / C
    w, kappa_c, sigma, uc = reduced_kappa_search(N, d, E, kappac, 1e-4, 0.5)
    ref = [search_naive_products(N[a], d[a], E[a], kappac, 1e-4, 0.5) for a in range(len(b))]
    npt.assert_allclose(w, [r["w"] for r in ref], rtol=1e-9, atol=1e-12)
    npt.assert_allclose(kappa_c, [r["kappa_c"] for r in ref], rtol=1e-14)
    npt.assert_allclose(sigma, [r["sigma"] for r in ref], rtol=1e-9)
    npt.assert_allclose(uc, [r["uc"] for r in ref], rtol=1e-9)


@pytest.mark.parametrize(
    "ucmin, smax, expected",
    [
        (1.0, 0.5, {2}),  # every node already reaches UCMIN: stop at node nv-2
        (0.0, 1e-6, {2}),  # every node already exceeds SMAX: stop at node nv-2
        (0.0, 1e6, {0}),  # no node stops the walk: fall through to node 0
        (1.5e-4, 1e6, None),  # UCMIN between the nodes' leakages: a mixture of brackets
        (0.0, 0.2, None),  # SMAX between the nodes' noises: a mixture of brackets
    ],
)
def test_bracket_selection(system2, ucmin, smax, expected):
    A, b, C = system2["A"], system2["b"], system2["C"]
    kappac = (1e-5, 1e-4, 1e-3, 1e-2)
    sol = solve_cholesky(A, b[:1], C[:1], SolverSettings(kappac=kappac, ucmin=ucmin, smax=smax))
    ref = naive_all_pixels(A, b[0], C[0], kappac, ucmin, smax)
    brackets = set(ref["bracket"].tolist())
    if expected is None:
        assert len(brackets) >= 2
    else:
        assert brackets == expected
    # the search never leaves its bracket (total travel < half the bracket in log kappa)
    lo, hi = np.array(kappac)[ref["bracket"]], np.array(kappac)[ref["bracket"] + 1]
    kappa_c = sol.kappa[0] / C[0]
    assert np.all((kappa_c > lo) & (kappa_c < hi))
    npt.assert_allclose(kappa_c, ref["kappa_c"], rtol=1e-12)


def test_reported_kappa_is_after_last_update_quirk_q9(system2):
    A, b, C = system2["A"], system2["b"], system2["C"]
    kappac = (1e-5, 1e-4, 1e-3)
    sol = solve_cholesky(A, b[:1], C[:1], SolverSettings(kappac=kappac))
    ref = naive_all_pixels(A, b[0], C[0], kappac, 1e-6, 0.5)
    ratio = sol.kappa[0] / C[0] / ref["kappa_used"]
    half_step = (np.array(kappac)[ref["bracket"] + 1] / np.array(kappac)[ref["bracket"]]) ** (1 / 2**13)
    assert np.all(np.isclose(ratio, half_step, rtol=1e-12) | np.isclose(ratio, 1 / half_step, rtol=1e-12))


def test_iterative_multi_kappa_matches_naive_search(system2):
    A, b, C = system2["A"], system2["b"], system2["C"]
    kappac, rho = (1e-4, 1e-3, 1e-2), 3.0
    settings = SolverSettings(kappac=kappac, ucmin=1e-4, smax=0.5, iter_rtol=1e-13, iter_max=3000)
    sol = solve_iterative(A, b[:1], C[:1], settings, system2["pos_in"], system2["pos_out"], rho)
    dist = np.linalg.norm(system2["pos_out"][:, None, :] - system2["pos_in"][None, :, :], axis=2)
    ref = naive_all_pixels(A, b[0], C[0], kappac, 1e-4, 0.5, window=dist < rho)
    npt.assert_allclose(sol.T[0], ref["T"], rtol=1e-4, atol=1e-5 * abs(ref["T"]).max())
    npt.assert_allclose(sol.kappa[0], ref["kappa_c"] * C[0], rtol=1e-12)
    npt.assert_allclose(sol.uc[0], ref["uc"], rtol=1e-5, atol=1e-10)
    npt.assert_allclose(sol.sigma[0], ref["sigma"], rtol=1e-5)


def test_zero_right_hand_side_gives_zero_weights(system2):
    A, b, C = system2["A"], system2["b"][:1].copy(), system2["C"][:1]
    b[0, 3] = 0.0
    sol = solve_cholesky(A, b, C, SolverSettings(kappac=(1e-5, 1e-4, 1e-3)))
    assert np.all(sol.T[0, 3] == 0) and sol.uc[0, 3] == 1.0 and sol.sigma[0, 3] == 0.0
    assert np.all(np.isfinite(sol.T)) and np.all(np.isfinite(sol.kappa))
