"""Single-node Cholesky kernel that solves for the coadd's products (``LAPRECISION = "double"``, core §4.7).

The Cholesky kernel factors ``A + kappa I = L L^T`` (n^3/3 flop) and applies ``T = L^-T L^-1 b`` to the
m target rows of b (2 n^2 m flop).  The engine never needs T itself, only

* the coadded layers and per-image weight sums, ``b_a . (A + kappa I)^-1 v = (L^-1 b_a) . (L^-1 v)``
  for a few vectors v (layer values, image indicators),
* ``D_a = b_a . T_a = |L^-1 b_a|^2``, the main term of U/C,
* ``Sigma_a = |T_a|^2``, the noise, which also enters U/C as ``kappa Sigma / C``.

So the vectors ride along as extra right-hand sides of the forward solve ``Y = L^-1 [b | v]``, and the
layers, the weight sums and D come from that float64 ``Y``.  Only Sigma needs the back-substitution
``T = L^-T Y``, and it runs in float32 -- at twice the float64 speed, with L narrowed to float32 in its
own memory (`pyimcom._kernels.narrow`): T then carries relative errors of about ``sqrt(cond(A + kappa I))
* 6e-8`` (the condition number of L), which Sigma, a sum of squares, inherits.  On the performance
benchmark's stamps Sigma is off by 2e-7 (median; 2e-6 at most) and U/C, through the ``kappa Sigma``
term, by 2e-5 of itself (median; 2e-4 at most) -- far below anything a fidelity map resolves, while
the layers, weight sums and D are exact float64 results.  The returned T (float32, as every kernel's)
is the float32 back-substitution's.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .._kernels.narrow import narrow_columns, narrow_lower
from .._kernels.products import column_norms2
from ..errors import PyIMCOMValueError
from ._common import SolverSettings, StampSolution, empty_solution
from .cholesky import factor_shifted

__all__ = ["solve_cholesky_sums"]


def solve_cholesky_sums(A, rhs, C, settings: SolverSettings, n_vec: int, overwrite_a: bool = False):
    """Single-node Cholesky solve for the sums ``b_a . (A + kappa I)^-1 v``, D and the maps.

    Parameters
    ----------
    A : numpy.ndarray
        System matrix A_ij = G_i . G_j, shape (n, n), float64, symmetric positive (semi-)definite.
    rhs : numpy.ndarray
        Shape (n_out, m + n_vec, n), float64, each ``rhs[o]`` C-contiguous: rows ``[0, m)`` are the
        target overlaps ``b[o, a, i]``, rows ``[m, m + n_vec)`` the vectors v (the same for every
        target).  Overwritten (the forward solves run in its memory).
    C : array_like
        Target self-overlaps, shape (n_out,), float64, > 0.
    settings : SolverSettings
        Must have one kappa node: kappa = ``kappac[0] * C``.
    n_vec : int
        Number of vectors (the last ``n_vec`` rows of every ``rhs[o]``).
    overwrite_a : bool
        Factor (and narrow) in A's memory for the last target (see `factor_shifted`); A is then
        destroyed.  Default: False.

    Returns
    -------
    sol : StampSolution
        T float32 (n_out, m, n) from the float32 back-substitution (with one target, a view of rhs's
        memory); U/C, Sigma and kappa float64 (n_out, m).
    sums : numpy.ndarray
        float64 (n_out, m, n_vec): ``sums[o, a, j] = b[o, a] . (A + kappa_o I)^-1 v_j``.

    Raises
    ------
    PyIMCOMValueError
        If there are several kappa nodes or the shapes disagree.
    PyIMCOMError
        If A + kappa I cannot be factored even after the positive-definiteness repair.

    Warns
    -----
    PyIMCOMWarning
        When a factorisation needed the repair (see `factor_shifted`).

    Examples
    --------
    >>> rhs = np.array([[[1.0, 1.0], [3.0, 5.0]]])  # b = (1, 1); one vector v = (3, 5)
    >>> sol, sums = solve_cholesky_sums(np.eye(2), rhs, [3.0], SolverSettings(kappac=(1.0,)), 1)
    >>> float(sums[0, 0, 0]), float(sol.sigma[0, 0]), round(float(sol.uc[0, 0]), 6)  # kappa = 3: T = b / 4
    (2.0, 0.125, 0.708333)
    """
    if settings.nv != 1:
        raise PyIMCOMValueError(f"this Cholesky path needs one kappa node; got KAPPAC = {settings.kappac}")
    C = np.atleast_1d(np.asarray(C, dtype=np.float64))
    n_out = C.shape[0]
    if rhs.ndim != 3 or rhs.shape[0] != n_out or rhs.dtype != np.float64 or not 0 <= n_vec <= rhs.shape[1]:
        raise PyIMCOMValueError(
            f"rhs must be float64 (n_out = {n_out}, m + n_vec, n) with n_vec = {n_vec} vector rows; got "
            f"{rhs.dtype} {rhs.shape}"
        )
    m, n = rhs.shape[1] - n_vec, rhs.shape[2]
    if A.shape != (n, n):
        raise PyIMCOMValueError(f"A must have shape ({n}, {n}) to match rhs; got {A.shape}")
    if n == 0:
        return empty_solution(n_out, m), np.zeros((n_out, m, n_vec))
    T = []
    uc, sigma, kappa = (np.empty((n_out, m)) for _ in range(3))
    sums = np.empty((n_out, m, n_vec))
    for o in range(n_out):
        k_o = settings.kappac[0] * C[o]
        L = factor_shifted(A, k_o, overwrite_a and o == n_out - 1)  # earlier targets still need A
        work = rhs[o] if rhs[o].flags.c_contiguous else np.ascontiguousarray(rhs[o])
        Y = scipy.linalg.solve_triangular(L, work.T, lower=True, overwrite_b=True, check_finite=False)
        Yb, Yv = Y[:, :m], Y[:, m:]
        D = column_norms2(Yb, np.empty(m))
        sums[o] = Yb.T @ Yv
        # the float32 back-substitution, in place: L and Y narrowed in their own memory
        X = scipy.linalg.solve_triangular(narrow_lower(L), narrow_columns(Y, m), lower=True, trans="T",
                                          overwrite_b=True, check_finite=False)  # fmt: skip
        N = column_norms2(X, np.empty(m))
        uc[o], sigma[o], kappa[o] = 1.0 - (k_o * N + D) / C[o], N, k_o
        T.append(X.T)
        del L, Y
    # one target (the usual case): T stays in rhs's memory
    T = T[0][None] if n_out == 1 else np.stack(T)
    return StampSolution(T=T, uc=uc, sigma=sigma, kappa=kappa), sums
