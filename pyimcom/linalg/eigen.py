"""Eigen kernel (``LAKERNEL = "Eigen"``, the original IMCOM method; spec §4.7).

A is diagonalised once, ``A = Q diag(lambda) Q^T``, and the target overlaps are rotated into the
eigenbasis, ``P = b Q`` (m x n).  For any kappa the solution is then diagonal:
``T = P (lambda + kappa)^-1 Q^T``, ``Sigma = sum_i P_i^2 / (lambda_i + kappa)^2`` and
``U/C = 1 - sum_i (lambda_i + 2 kappa) P_i^2 / (lambda_i + kappa)^2 / C``.

With one node kappa = KAPPAC[0] * C.  With nv >= 2 nodes every output pixel runs a 13-step log-space
bisection between kappa_min = KAPPAC[0] * C and kappa_max = KAPPAC[-1] * C: start at
sqrt(kappa_min kappa_max) with factor f = sqrt(kappa_max / kappa_min); each step takes f <- sqrt(f),
evaluates Sigma and U/C, and divides kappa by f if U/C > UCMIN and Sigma < SMAX (multiplies otherwise).
T, Sigma and U/C are evaluated at the final kappa, which is reported once in absolute units.

Departure from the reference (quirk Q8): the reference multiplies the bisection's kappa (already
absolute) by C a second time before reporting it; here the reported kappa is the one actually used.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._common import SolverSettings, StampSolution, check_system, empty_solution

__all__ = ["N_BISECTION_STEPS", "eigen_products", "solve_eigen"]

N_BISECTION_STEPS = 13  # steps of the log-space kappa bisection (reference value)


def eigen_products(lam: np.ndarray, P: np.ndarray, kappa, C: float):
    """Sigma and U/C of every output pixel at the given kappa, from the eigen-decomposition.

    Parameters
    ----------
    lam : numpy.ndarray
        Eigenvalues of A [A units], shape (n,), float64.
    P : numpy.ndarray
        Rotated target overlaps b Q, shape (m, n), float64.
    kappa : float or numpy.ndarray
        Lagrange multiplier [A units], scalar or shape (m,).
    C : float
        Target self-overlap [A units], > 0.

    Returns
    -------
    scaled : numpy.ndarray
        P / (lambda + kappa), shape (m, n), float64 (T in the eigenbasis).
    sigma : numpy.ndarray
        Shape (m,), float64.
    uc : numpy.ndarray
        Shape (m,), float64.

    Examples
    --------
    >>> _, sigma, uc = eigen_products(np.array([1.0]), np.array([[1.0]]), 0.0, 1.0)
    >>> float(sigma[0]), float(uc[0])
    (1.0, 0.0)
    """
    kappa_col = np.reshape(kappa, (-1, 1))
    scaled = P / (lam + kappa_col)
    sigma = np.einsum("ai,ai->a", scaled, scaled)
    uc = 1.0 - np.einsum("ai,ai->a", (lam + 2.0 * kappa_col) * scaled, scaled) / C
    return scaled, sigma, uc


def _bisect_kappa(lam, P, C_o, settings):
    kappa_min = settings.kappac[0] * C_o
    kappa_max = settings.kappac[-1] * C_o
    factor = np.sqrt(kappa_max / kappa_min)
    kappa = np.full(P.shape[0], np.sqrt(kappa_min * kappa_max))
    for _ in range(N_BISECTION_STEPS):
        _, sigma, uc = eigen_products(lam, P, kappa, C_o)
        factor = np.sqrt(factor)
        more_fidelity = (settings.ucmin < uc) & (settings.smax > sigma)
        kappa = np.where(more_fidelity, kappa / factor, kappa * factor)
    return kappa


def solve_eigen(A, b, C, settings: SolverSettings) -> StampSolution:
    """Eigen kernel: closed-form solutions in the eigenbasis of A, with an optional kappa bisection.

    Parameters
    ----------
    A : array_like
        System matrix, shape (n, n), float64, symmetric.
    b : array_like
        Target overlaps, shape (n_out, m, n), float64.
    C : array_like
        Target self-overlaps, shape (n_out,), float64, > 0.
    settings : SolverSettings
        Uses ``kappac`` (one node: fixed kappa; several: bisection between the first and last node),
        ``ucmin`` and ``smax``.

    Returns
    -------
    StampSolution
        T float32 (n_out, m, n); U/C, Sigma and absolute kappa (reported once, unlike the reference's
        quirk Q8), float64 (n_out, m).

    Raises
    ------
    PyIMCOMValueError
        If the shapes of A, b, C disagree or C is not > 0.

    Examples
    --------
    >>> sol = solve_eigen(np.eye(3), np.ones((1, 2, 3)), [3.0], SolverSettings(kappac=(0.0,)))
    >>> sol.T.round(6).tolist()
    [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]
    """
    A, b, C = check_system(A, b, C)
    n_out, m, n = b.shape
    if n == 0:
        return empty_solution(n_out, m)
    lam, Q = scipy.linalg.eigh(A, check_finite=False)
    T = np.empty((n_out, m, n), dtype=np.float32)
    uc, sigma, kappa = (np.empty((n_out, m)) for _ in range(3))
    for o in range(n_out):
        P = b[o] @ Q
        if settings.nv == 1:
            kappa[o] = settings.kappac[0] * C[o]
        else:
            kappa[o] = _bisect_kappa(lam, P, C[o], settings)
        scaled, sigma[o], uc[o] = eigen_products(lam, P, kappa[o], C[o])
        T[o] = scaled @ Q.T
    return StampSolution(T=T, uc=uc, sigma=sigma, kappa=kappa)
