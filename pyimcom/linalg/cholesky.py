"""Cholesky kernel (``LAKERNEL = "Cholesky"``, the default and production kernel; spec §4.7).

For kappa = kappa/C * C the coaddition matrix is ``T = (A + kappa I)^-1 b`` for all m output pixels at
once: one LAPACK ``dpotrf`` factorisation of the n x n matrix and one ``dpotrs`` solve with m right-hand
sides (cost n^3/3 + 2 n^2 m flop).  With one node, ``D = T . b`` and ``N = T . T`` give Sigma = N and
``U/C = 1 - (kappa N + D)/C`` (spec §4.1).  With nv >= 2 nodes every node is factored and solved, the
node products use the identity ``E_pq = T_p A T_q^T = D_q - kappa_p N_pq`` (q <= p, symmetrised), and
`pyimcom.linalg.kappa_search.reduced_kappa_search` picks the per-pixel weights.

If A + kappa I is not numerically positive definite, the smallest eigenvalue w0 of A is computed and
``|w0| + 1e-16`` is added to the diagonal before factoring again, with a `PyIMCOMWarning`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from ..errors import PyIMCOMError, PyIMCOMWarning
from ._common import SolverSettings, StampSolution, check_system, empty_solution
from .kappa_search import combine_nodes, node_products, reduced_kappa_search

__all__ = ["factor_shifted", "solve_cholesky", "solve_shifted"]

PD_REPAIR_EPS = 1e-16  # extra diagonal increment of the positive-definiteness repair [A units]


def _smallest_eigenvalue(A: np.ndarray) -> float:
    return float(scipy.linalg.eigvalsh(A, subset_by_index=[0, 0], check_finite=False)[0])


def _restore_from_upper(M: np.ndarray, diag: np.ndarray) -> None:
    """Undo a failed in-place ``dpotrf(lower=1)`` on a symmetric F-ordered ``M`` (upper triangle intact)."""
    M[...] = np.triu(M, 1)
    M += M.T
    M[np.diag_indices_from(M)] = diag


def factor_shifted(A: np.ndarray, kappa: float, overwrite_a: bool = False) -> np.ndarray:
    """Lower Cholesky factor of ``A + kappa I``, with the positive-definiteness repair.

    Parameters
    ----------
    A : numpy.ndarray
        Symmetric system matrix, shape (n, n), float64.
    kappa : float
        Diagonal shift [A units]; the addition is skipped when kappa = 0.
    overwrite_a : bool
        Factor in A's own memory when A is contiguous (C or Fortran order; A is symmetric, so a
        C-ordered A is its own Fortran-ordered transpose): saves a copy of n^2 doubles, and A's
        content is then destroyed.  If the first factorisation fails, A is restored (from the
        untouched triangle and the saved diagonal) before the repair.  Default: False (A is not
        modified).

    Returns
    -------
    numpy.ndarray
        Factor L (lower triangle valid; the strict upper triangle holds garbage), shape (n, n),
        float64, Fortran order, for use with ``scipy.linalg.cho_solve((L, True), ...)``.

    Raises
    ------
    PyIMCOMError
        If even the repaired matrix cannot be factored.

    Warns
    -----
    PyIMCOMWarning
        When the first factorisation fails and the diagonal is repaired.

    Examples
    --------
    >>> L = factor_shifted(np.array([[4.0, 2.0], [2.0, 3.0]]), 0.0)
    >>> float(L[0, 0]), float(L[1, 0])
    (2.0, 1.0)
    """
    diag = np.arange(A.shape[0])
    source = A.T if A.flags.c_contiguous else A  # A is symmetric: copy without transposing memory
    in_place = overwrite_a and source.flags.f_contiguous and source.dtype == np.float64
    shifts = [kappa]
    for attempt in range(2):
        if in_place and attempt == 0:
            M, saved = source, source.diagonal().copy()
        else:
            M = np.array(source, dtype=np.float64, order="F")
        if shifts[-1]:
            M[diag, diag] += shifts[-1]
        L, info = lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
        if info == 0:
            return L
        if attempt == 0:
            if in_place:
                _restore_from_upper(source, saved)
            w0 = _smallest_eigenvalue(A)
            repair = abs(w0) + PD_REPAIR_EPS
            shifts.append(kappa + repair)
            warnings.warn(
                f"Cholesky factorisation of A + kappa I failed (kappa = {kappa:.6e}, LAPACK info = {info}); "
                f"smallest eigenvalue of A is w0 = {w0:.12e}, added |w0| + 1e-16 = {repair:.6e} to the "
                "diagonal and factored again",
                PyIMCOMWarning,
                stacklevel=3,
            )
    raise PyIMCOMError(
        f"Cholesky factorisation of A + kappa I failed even after the diagonal repair (kappa = {kappa:.6e}, "
        f"total shift {shifts[-1]:.6e}); A is far from positive definite -- check the PSF overlaps or "
        "use a larger KAPPAC"
    )


def solve_shifted(A: np.ndarray, rhs: np.ndarray, kappa: float, overwrite_a: bool = False) -> np.ndarray:
    """Solve ``T = (A + kappa I)^-1 rhs`` for all rows of ``rhs`` (one factorisation, one solve).

    Parameters
    ----------
    A : numpy.ndarray
        Symmetric system matrix, shape (n, n), float64.
    rhs : numpy.ndarray
        Right-hand sides (e.g. b of one target PSF), shape (m, n), float64.
    kappa : float
        Diagonal shift [A units].
    overwrite_a : bool
        Let the factorisation destroy A (see `factor_shifted`).  Default: False.

    Returns
    -------
    numpy.ndarray
        T, shape (m, n), float64.

    Raises
    ------
    PyIMCOMError
        If A + kappa I cannot be factored even after the repair (see `factor_shifted`).

    Examples
    --------
    >>> solve_shifted(np.eye(2), np.array([[2.0, 4.0]]), 1.0).round(12).tolist()
    [[1.0, 2.0]]
    """
    L = factor_shifted(A, kappa, overwrite_a)
    return scipy.linalg.cho_solve((L, True), rhs.T, check_finite=False).T


def _single_kappa(A, b_o, C_o, kappac0, overwrite_a, overwrite_b=False):
    """One node: ``T = L^-T Y`` with ``Y = L^-1 b`` (two triangular solves, as ``dpotrs``).

    ``D = b . T = |Y|^2`` per output pixel comes from the intermediate ``Y``, so b is not needed after
    the first solve and may be overwritten (``overwrite_b``: Y and then T live in b's memory when
    ``b_o`` is C-contiguous).
    """
    kappa = kappac0 * C_o
    L = factor_shifted(A, kappa, overwrite_a)
    Y = scipy.linalg.solve_triangular(L, b_o.T, lower=True, overwrite_b=overwrite_b, check_finite=False)
    D = np.einsum("ia,ia->a", Y, Y)
    T = scipy.linalg.solve_triangular(L, Y, lower=True, trans="T", overwrite_b=True, check_finite=False).T
    N = np.einsum("ai,ai->a", T, T)
    return T, 1.0 - (kappa * N + D) / C_o, N, np.full(len(D), kappa)


def _multi_kappa(A, b_o, C_o, settings, overwrite_a):
    kappas = np.asarray(settings.kappac) * C_o
    last = len(kappas) - 1
    T_nodes = np.stack([solve_shifted(A, b_o, k, overwrite_a and p == last) for p, k in enumerate(kappas)])
    D, N = node_products(T_nodes, b_o)
    E = np.empty_like(N)
    for p in range(len(kappas)):
        for q in range(p + 1):
            E[:, p, q] = E[:, q, p] = D[:, q] - kappas[p] * N[:, p, q]
    w, kappa_c, sigma, uc = reduced_kappa_search(
        N, D / C_o, E / C_o, settings.kappac, settings.ucmin, settings.smax
    )
    return combine_nodes(T_nodes, w), uc, sigma, kappa_c * C_o


def solve_cholesky(A, b, C, settings: SolverSettings, overwrite_a: bool = False,
                   overwrite_b: bool = False) -> StampSolution:  # fmt: skip
    """Cholesky kernel: exact solves at one or several kappa nodes.

    Parameters
    ----------
    A : array_like
        System matrix A_ij = G_i . G_j, shape (n, n), float64, symmetric positive (semi-)definite.
    b : array_like
        Target overlaps b[o, a, i] = G_i . Gamma_a, shape (n_out, m, n), float64.
    C : array_like
        Target self-overlaps Gamma . Gamma, shape (n_out,), float64, > 0.
    settings : SolverSettings
        Uses ``kappac`` (one node: fixed kappa; several: node interpolation), ``ucmin``, ``smax``.
    overwrite_a : bool
        Let the last factorisation destroy A (saves a copy of n^2 doubles; see `factor_shifted`).
        Default: False.
    overwrite_b : bool
        With one kappa node, let the solves work in b's memory (saves a copy of n m doubles per
        target; b's content is then destroyed).  Ignored with several nodes.  Default: False.

    Returns
    -------
    StampSolution
        T float32 (n_out, m, n); U/C, Sigma and absolute kappa, float64 (n_out, m).  For nv >= 2 the
        reported kappa follows reference quirk Q9 (see `pyimcom.linalg.kappa_search`).

    Raises
    ------
    PyIMCOMValueError
        If the shapes of A, b, C disagree or C is not > 0.
    PyIMCOMError
        If a matrix cannot be factored even after the positive-definiteness repair.

    Warns
    -----
    PyIMCOMWarning
        When a factorisation needed the positive-definiteness repair.

    Examples
    --------
    >>> sol = solve_cholesky(np.eye(3), np.ones((1, 2, 3)), [3.0], SolverSettings(kappac=(0.0,)))
    >>> sol.T.dtype, sol.T.shape, sol.uc.round(12).tolist()
    (dtype('float32'), (1, 2, 3), [[0.0, 0.0]])
    """
    A, b, C = check_system(A, b, C)
    n_out, m, n = b.shape
    if n == 0:
        return empty_solution(n_out, m)
    T = np.empty((n_out, m, n), dtype=np.float32)
    uc, sigma, kappa = (np.empty((n_out, m)) for _ in range(3))
    for o in range(n_out):
        last = overwrite_a and o == n_out - 1  # earlier targets still need A
        if settings.nv == 1:
            T_o, uc[o], sigma[o], kappa[o] = _single_kappa(A, b[o], C[o], settings.kappac[0], last,
                                                           overwrite_b)  # fmt: skip
        else:
            T_o, uc[o], sigma[o], kappa[o] = _multi_kappa(A, b[o], C[o], settings, last)
        T[o] = T_o
    return StampSolution(T=T, uc=uc, sigma=sigma, kappa=kappa)
