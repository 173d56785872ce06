"""Kappa-node interpolation: the reduced kappa search shared by the Cholesky and Iterative kernels.

With ``nv >= 2`` kappa nodes kappa_p = KAPPAC[p] * C, a kernel solves T_p = (A + kappa_p I)^-1 b at every
node and looks, per output pixel, for the best combination ``T = sum_p w_p T_p`` (Cao et al. 2025,
§3.1).  In the node basis the problem is nv x nv: with ``D_p = T_p . b``, ``N_pq = T_p . T_q`` and
``E_pq = T_p A T_q^T``, the weights at a trial kappa solve ``(E/C + kappa N) w = D/C``, and then
``Sigma = w^T N w`` and ``U/C = 1 - kappa Sigma - (D/C) . w``.

The search (spec §4.7, reproduced step by step):

1. Bracket.  From node nv-2 downward, evaluate the node's own ``Sigma_p = N_pp`` and
   ``U/C_p = 1 - 2 D_p/C + E_pp/C``; stop at the first node where U/C_p <= UCMIN or Sigma_p >= SMAX,
   or at node 0.  The bracket is [kappa_p, kappa_p+1] (the top node is never tested).
2. Start at sqrt(kappa_p kappa_p+1) with step factor f = (kappa_p+1/kappa_p)^(1/4).  Twelve times:
   solve the reduced system, evaluate Sigma and U/C; if U/C > UCMIN and Sigma < SMAX, divide kappa by f
   (more fidelity), else multiply it by f; then f <- sqrt(f).
3. Report w, Sigma and U/C of the last (12th) solve and kappa *after* the last update.

Reference quirk Q9 (kept for parity): the reported kappa is therefore one half-step (a factor
f_12 = (kappa_p+1/kappa_p)^(1/2^13)) away from the kappa at which w, Sigma and U/C were computed.

All comparisons are written as in the reference (``ucmin < UC and smax > S`` means "may move to smaller
kappa"), so a NaN counts as "stop / go to larger kappa".  One guard differs from the reference: a pixel
whose reduced matrix is singular (for example b = 0 on every node) gets the minimum-norm least-squares
weights (w = 0 when everything vanishes: T = 0, U/C = 1, Sigma = 0) instead of NaN.
"""

from __future__ import annotations

import numpy as np

__all__ = ["N_SEARCH_STEPS", "combine_nodes", "node_products", "reduced_kappa_search"]

N_SEARCH_STEPS = 12  # iterations of the reduced kappa search (reference value)


def node_products(T_nodes: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel node products D_p = T_p . b and N_pq = T_p . T_q.

    Parameters
    ----------
    T_nodes : numpy.ndarray
        Node solutions T_p, shape (nv, m, n), float64.
    b : numpy.ndarray
        Target overlaps of one target PSF, shape (m, n), float64.

    Returns
    -------
    D : numpy.ndarray
        Shape (m, nv), float64.
    N : numpy.ndarray
        Shape (m, nv, nv), float64, symmetric.

    Examples
    --------
    >>> D, N = node_products(np.ones((2, 1, 3)), np.ones((1, 3)))
    >>> D.tolist(), N.tolist()
    ([[3.0, 3.0]], [[[3.0, 3.0], [3.0, 3.0]]])
    """
    nv, m, _ = T_nodes.shape
    D = np.einsum("ai,pai->ap", b, T_nodes)
    N = np.empty((m, nv, nv))
    for p in range(nv):
        for q in range(p + 1):
            N[:, p, q] = N[:, q, p] = np.einsum("ai,ai->a", T_nodes[p], T_nodes[q])
    return D, N


def combine_nodes(T_nodes: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Coaddition matrix ``T[a] = sum_p w[a, p] T_p[a]``.

    Parameters
    ----------
    T_nodes : numpy.ndarray
        Node solutions, shape (nv, m, n), float64.
    w : numpy.ndarray
        Node weights, shape (m, nv), float64.

    Returns
    -------
    numpy.ndarray
        Shape (m, n), float64.

    Examples
    --------
    >>> combine_nodes(np.ones((2, 1, 2)), np.array([[0.25, 0.5]])).tolist()
    [[0.75, 0.75]]
    """
    return np.einsum("pai,ap->ai", T_nodes, w)


def _select_bracket(N, d, E, ucmin, smax):
    """Lower node index p of the bracket [p, p+1] of every pixel (step 1), shape (m,), int."""
    nv = N.shape[-1]
    diag = np.arange(nv - 1)
    sigma_p = N[:, diag, diag]
    uc_p = 1.0 - 2.0 * d[:, : nv - 1] + E[:, diag, diag]
    stop = ~((ucmin < uc_p) & (smax > sigma_p))  # (m, nv - 1); NaN counts as stop
    last_true_from_top = np.argmax(stop[:, ::-1], axis=1)
    return np.where(stop.any(axis=1), nv - 2 - last_true_from_top, 0)


def _solve_reduced(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the stack of nv x nv systems M w = rhs; singular members get least-squares weights."""
    try:
        return np.linalg.solve(M, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        w = np.empty_like(rhs)
        for a in range(M.shape[0]):
            try:
                w[a] = np.linalg.solve(M[a], rhs[a])
            except np.linalg.LinAlgError:
                w[a] = np.linalg.lstsq(M[a], rhs[a], rcond=None)[0]
        return w


def reduced_kappa_search(N, d, E, kappac, ucmin: float, smax: float):
    """Reduced kappa search of every output pixel (spec §4.7; see the module docstring).

    Parameters
    ----------
    N : numpy.ndarray
        Node noise products N_pq = T_p . T_q, shape (m, nv, nv), float64, symmetric.
    d : numpy.ndarray
        D_p / C [dimensionless], shape (m, nv), float64.
    E : numpy.ndarray
        E_pq / C = T_p A T_q^T / C [dimensionless], shape (m, nv, nv), float64, symmetric.
    kappac : array_like
        The kappa/C nodes [dimensionless], shape (nv,), strictly ascending, all > 0, nv >= 2.
    ucmin : float
        Target leakage U/C [dimensionless].
    smax : float
        Maximum noise Sigma.

    Returns
    -------
    w : numpy.ndarray
        Node weights of the last solve, shape (m, nv), float64.
    kappa_c : numpy.ndarray
        kappa/C after the last update (quirk Q9), shape (m,), float64; multiply by C for kappa.
    sigma : numpy.ndarray
        Sigma of the last solve, shape (m,), float64.
    uc : numpy.ndarray
        U/C of the last solve, shape (m,), float64.

    Examples
    --------
    >>> N = np.array([[[1.0, 0.5], [0.5, 0.3]]]); E = np.array([[[0.9, 0.8], [0.8, 0.7]]])
    >>> w, kc, s, uc = reduced_kappa_search(N, np.array([[0.95, 0.85]]), E, [1e-3, 1e-1], 1e-6, 0.5)
    >>> bool(1e-3 < kc[0] < 1e-1)
    True
    """
    kappac = np.asarray(kappac, dtype=np.float64)
    p = _select_bracket(N, d, E, ucmin, smax)
    kappa = np.sqrt(kappac[p] * kappac[p + 1])
    factor = (kappac[p + 1] / kappac[p]) ** 0.25
    for _ in range(N_SEARCH_STEPS):
        w = _solve_reduced(E + kappa[:, None, None] * N, d)
        sigma = np.einsum("ap,apq,aq->a", w, N, w)
        uc = 1.0 - kappa * sigma - np.einsum("ap,ap->a", d, w)
        more_fidelity = (ucmin < uc) & (smax > sigma)
        kappa = np.where(more_fidelity, kappa / factor, kappa * factor)
        factor = np.sqrt(factor)
    return w, kappa, sigma, uc
