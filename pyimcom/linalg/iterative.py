"""Iterative kernel (``LAKERNEL = "Iterative"``, conjugate gradient; Cao et al. 2025; spec §4.7).

Every output pixel a uses only its relevant input pixels R_a = {i : |r_i - r_a| < rho} (a circular
window of radius rho = INPAD / dtheta output pixels) and solves ``(A_RR + kappa I) t = b_a,R`` by plain
conjugate gradient from x0 = 0.  Iteration k (k = 0 .. ITERMAX-1) first tests ``||r|| < ITERRTOL ||b||``
and stops if it holds; otherwise it takes one CG step.  T is zero outside the window.

* One node: D = T . b, N = T . T, Sigma = N and ``U/C = 1 - (kappa N + D)/C`` (approximate because CG is
  inexact); U/C and Sigma are then floored at 1e-32.
* nv >= 2 nodes: T_p per node, E_pq = T_p A T_q^T computed exactly (CG solutions do not satisfy the
  Cholesky identity), then `pyimcom.linalg.kappa_search.reduced_kappa_search`.

Implementation: the output pixels are processed in chunks; within a chunk all CG iterations run as
matrix products restricted to the union of the chunk's windows, with each pixel's vectors kept zero
outside its own window, which is the same arithmetic as one CG per pixel on A_RR.  A pixel whose
residual is exactly zero (for example an empty window, or b = 0 there) stops at once with T = 0 where
the reference would divide 0 by 0.
"""

from __future__ import annotations

import numpy as np

from ..errors import PyIMCOMValueError
from ._common import SolverSettings, StampSolution, check_system, empty_solution, relevance_mask
from .kappa_search import combine_nodes, node_products, reduced_kappa_search

__all__ = ["UC_SIGMA_FLOOR", "solve_iterative", "windowed_cg"]

UC_SIGMA_FLOOR = 1e-32  # floor of U/C and Sigma in the one-node Iterative kernel
CHUNK_PIXELS = 64  # output pixels per batched CG chunk


def _cg_chunk(A_sub, B, mask, rtol, maxiter):
    """Batched windowed CG; rows of B and mask are pixels, columns the chunk's input pixels."""
    X = np.zeros_like(B)
    R = B.copy()
    P = np.zeros_like(B)
    atol = rtol * np.sqrt(np.einsum("ai,ai->a", B, B))
    rho_prev = np.ones(len(B))
    active = np.ones(len(B), dtype=bool)
    for iteration in range(maxiter):
        rho = np.einsum("ai,ai->a", R, R)
        active &= ~(np.sqrt(rho) < atol) & (rho > 0)
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        beta = rho[idx] / rho_prev[idx] if iteration > 0 else 0.0
        P[idx] = R[idx] + np.reshape(beta, (-1, 1)) * P[idx]
        Q = (P[idx] @ A_sub) * mask[idx]
        alpha = rho[idx] / np.einsum("ai,ai->a", P[idx], Q)
        X[idx] += alpha[:, None] * P[idx]
        R[idx] -= alpha[:, None] * Q
        rho_prev[idx] = rho[idx]
    return X


def windowed_cg(AA: np.ndarray, b_o: np.ndarray, window: np.ndarray, rtol: float, maxiter: int) -> np.ndarray:
    """Solve ``AA_RR t_a = b_a,R`` by conjugate gradient for every output pixel a on its window R_a.

    Parameters
    ----------
    AA : numpy.ndarray
        Symmetric positive-definite matrix (A + kappa I), shape (n, n), float64.
    b_o : numpy.ndarray
        Right-hand sides, shape (m, n), float64.
    window : numpy.ndarray
        Relevance mask R[a, i], shape (m, n), bool.
    rtol : float
        Relative tolerance: pixel a stops once ``||r|| < rtol ||b_a,R||``.
    maxiter : int
        Maximum number of CG iterations per pixel, >= 1.

    Returns
    -------
    numpy.ndarray
        T, shape (m, n), float64, zero outside each window.

    Examples
    --------
    >>> windowed_cg(2 * np.eye(2), np.ones((1, 2)), np.array([[True, False]]), 1e-9, 10).tolist()
    [[0.5, 0.0]]
    """
    m, n = b_o.shape
    T = np.zeros((m, n))
    for start in range(0, m, CHUNK_PIXELS):
        rows = slice(start, min(start + CHUNK_PIXELS, m))
        cols = np.flatnonzero(window[rows].any(axis=0))
        if cols.size == 0:
            continue
        mask = window[rows][:, cols].astype(np.float64)
        B = b_o[rows][:, cols] * mask
        T[rows, cols] = _cg_chunk(AA[np.ix_(cols, cols)], B, mask, rtol, maxiter)
    return T


def _shifted(A, kappa):
    if not kappa:
        return A
    AA = A.copy()
    AA[np.diag_indices_from(AA)] += kappa
    return AA


def _exact_e(A, T_nodes):
    nv, m, _ = T_nodes.shape
    E = np.empty((m, nv, nv))
    for p in range(nv):
        AT_p = T_nodes[p] @ A
        for q in range(p + 1):
            E[:, p, q] = E[:, q, p] = np.einsum("ai,ai->a", AT_p, T_nodes[q])
    return E


def solve_iterative(A, b, C, settings: SolverSettings, pos_in, pos_out, rho: float) -> StampSolution:
    """Iterative kernel: windowed conjugate gradient at one or several kappa nodes.

    Parameters
    ----------
    A : array_like
        System matrix, shape (n, n), float64, symmetric positive (semi-)definite.
    b : array_like
        Target overlaps, shape (n_out, m, n), float64.
    C : array_like
        Target self-overlaps, shape (n_out,), float64, > 0.
    settings : SolverSettings
        Uses ``kappac``, ``ucmin``, ``smax``, ``iter_rtol`` and ``iter_max``.
    pos_in : array_like
        Input-pixel positions (x, y) [output pixels], shape (n, 2) (pixel contract: `pyimcom.geometry`).
    pos_out : array_like
        Output-pixel positions (x, y) [output pixels], shape (m, 2).
    rho : float
        Window radius [output pixels], > 0 (INPAD / dtheta).

    Returns
    -------
    StampSolution
        T float32 (n_out, m, n); U/C, Sigma and absolute kappa, float64 (n_out, m).

    Raises
    ------
    PyIMCOMValueError
        If shapes disagree, C is not > 0 or rho is not > 0.

    Examples
    --------
    >>> sol = solve_iterative(np.eye(2), np.ones((1, 1, 2)), [2.0], SolverSettings(kappac=(0.0,)),
    ...                       [[0.0, 0.0], [5.0, 0.0]], [[0.0, 0.0]], 2.0)
    >>> sol.T.tolist(), sol.uc.tolist()
    ([[[1.0, 0.0]]], [[0.5]])
    """
    A, b, C = check_system(A, b, C)
    n_out, m, n = b.shape
    window = relevance_mask(pos_in, pos_out, rho)
    if window.shape != (m, n):
        raise PyIMCOMValueError(
            f"positions give {window.shape[1]} input and {window.shape[0]} output pixels but b has shape "
            f"{b.shape} (n_out, m, n); pos_in must be (n, 2) and pos_out (m, 2)"
        )
    if n == 0:
        return empty_solution(n_out, m)
    T = np.empty((n_out, m, n), dtype=np.float32)
    uc, sigma, kappa = (np.empty((n_out, m)) for _ in range(3))
    rtol, maxiter = settings.iter_rtol, settings.iter_max
    for o in range(n_out):
        kappas = np.asarray(settings.kappac) * C[o]
        T_nodes = np.stack([windowed_cg(_shifted(A, k), b[o], window, rtol, maxiter) for k in kappas])
        D, N = node_products(T_nodes, b[o])
        if settings.nv == 1:
            T[o] = T_nodes[0]
            kappa[o] = kappas[0]
            sigma[o] = np.maximum(N[:, 0, 0], UC_SIGMA_FLOOR)
            uc[o] = np.maximum(1.0 - (kappas[0] * N[:, 0, 0] + D[:, 0]) / C[o], UC_SIGMA_FLOOR)
            continue
        w, kappa_c, sigma[o], uc[o] = reduced_kappa_search(
            N, D / C[o], _exact_e(A, T_nodes) / C[o], settings.kappac, settings.ucmin, settings.smax
        )
        T[o] = combine_nodes(T_nodes, w)
        kappa[o] = kappa_c * C[o]
    return StampSolution(T=T, uc=uc, sigma=sigma, kappa=kappa)
