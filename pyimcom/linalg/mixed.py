"""Mixed-precision Cholesky kernel: float32 factorisation, float64 answers where they matter (core §4.7).

The Cholesky kernel's cost is one factorisation of the n x n matrix ``A + kappa I`` (n^3/3 flop) and two
triangular solves with the m target rows of b (2 n^2 m flop).  In float32 both run about twice as fast
and need half the memory, but the weights ``T = (A + kappa I)^-1 b`` then carry relative errors of
order ``cond(A + kappa I) * 6e-8``, a few per cent on the stamps of a survey, in the directions of
A's smallest eigenvalues -- which are exactly those that noise layers excite (a white-noise layer
coadded with such a T differs by ~1 % of its peak).

So the products are not formed from that T.  A coadded layer is ``out_a = b_a . (A + kappa I)^-1 v``
for the layer's pixel values v, and an image's weight sum is the same with v its indicator vector.
`solve_cholesky_mixed` solves ``(A + kappa I) z = v`` for those few vectors by iterative refinement:
the float32 factor solves the corrections, and the residuals ``v - (A + kappa I) z`` are computed in
float64 by a caller-supplied product with the float64 A (the engine forms it from its cached
sub-matrices, `pyimcom.engine.operator`).  Each refinement step shrinks the error by the factor's
relative accuracy (~1e-2 to 1e-3), and two or three steps reach float64 accuracy.

The maps come from the float32 quantities, accumulated in float64: Sigma = |T_a|^2 (relative error of
~1e-4, at most ~1e-3) and U/C = 1 - (kappa Sigma + |L^-1 b_a|^2)/C.  U/C is a difference of nearly
equal numbers, and its float32 error is first order in the factor's error: on the benchmark block the
median fidelity moves by 0.01-0.03 dB but single pixels' U/C by ~16 % (median), and on a dense, more
ill-conditioned system the median moves by ~1 dB.  Exact maps would need the full float64 solve, so
the mode is opt-in (``LAPRECISION = "mixed"``): layers and weight maps as float64, at ~0.75x the time of
``"double"`` (`pyimcom.linalg.split`), whose U/C keeps a float64 ``|L^-1 b_a|^2``.

If the float32 factorisation fails or the refinement does not converge, `MixedPrecisionError` is
raised; the caller then solves the stamp in float64 (`pyimcom.linalg.cholesky`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from .._kernels.products import column_norms2
from ..errors import PyIMCOMValueError
from ._common import SolverSettings, StampSolution, empty_solution

__all__ = [
    "MixedPrecisionError",
    "REFINE_RTOL",
    "REFINE_MAX_RHO",
    "REFINE_MAX_STEPS",
    "solve_cholesky_mixed",
]


class MixedPrecisionError(Exception):
    """The float32 factorisation or the refinement failed: solve the stamp in float64 instead."""


#: Iterative refinement: a step's correction ``dz`` estimates the error before the step; with the
#: contraction ``rho = |dz_k| / |dz_(k-1)|`` the error left after step k is about ``rho |dz_k|``.
#: Refinement stops when that is at most ``REFINE_RTOL |z|`` for every vector, and fails when
#: ``rho > REFINE_MAX_RHO`` or after ``REFINE_MAX_STEPS`` steps.
REFINE_RTOL = 1e-7
REFINE_MAX_RHO = 0.5
REFINE_MAX_STEPS = 8


def factor32(M: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the float32 Fortran-ordered ``M``, in M's memory (upper triangle: garbage).

    Raises `MixedPrecisionError` if ``M`` is not numerically positive definite in float32.
    """
    L, info = lapack.spotrf(M, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise MixedPrecisionError(f"float32 Cholesky factorisation failed (LAPACK info = {info})")
    return L


def _row_norms(X: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ji,ji->j", X, X))


def refine(L32, V, kappa, matvec, Z0=None) -> tuple[np.ndarray, int]:
    """Solve ``(A + kappa I) Z^T = V^T`` (rows of V are vectors) to float64 accuracy; returns (Z, steps).

    ``Z0`` is the float32 factor's solution when already known (shape of V), else it is computed.
    """

    def correction(R):
        R32 = np.array(R.T, dtype=np.float32, order="F")
        X, info = lapack.spotrs(L32, R32, lower=1, overwrite_b=1)
        if info != 0:
            raise MixedPrecisionError(f"spotrs failed (info = {info})")
        return X.T.astype(np.float64)

    Z = correction(V) if Z0 is None else np.array(Z0, dtype=np.float64)
    prev = None
    for step in range(1, REFINE_MAX_STEPS + 1):
        R = V - matvec(Z)
        R -= kappa * Z
        dZ = correction(R)
        Z += dZ
        size, scale = _row_norms(dZ), _row_norms(Z)
        live = np.isfinite(size) & np.isfinite(scale) & (scale > 0)  # NaN layers stay NaN, as in float64
        if not live.any():
            return Z, step
        if prev is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = np.where(prev > 0, size / prev, 0.0)[live]
            done = rho * size[live] <= REFINE_RTOL * scale[live]
            if done.all():
                return Z, step
            if np.any(rho[~done] > REFINE_MAX_RHO):  # a vector neither converged nor contracting
                raise MixedPrecisionError(f"refinement stalls (contraction {rho[~done].max():.2g})")
        elif np.all(size[live] == 0):
            return Z, step
        prev = size
    raise MixedPrecisionError(f"refinement did not converge in {REFINE_MAX_STEPS} steps")


def solve_cholesky_mixed(A32, b, C, settings: SolverSettings, vectors, matvec, overwrite_a: bool = False):
    """Single-node Cholesky kernel in mixed precision, with the layer sums refined to float64.

    Parameters
    ----------
    A32 : numpy.ndarray
        System matrix A_ij = G_i . G_j, shape (n, n), float32, symmetric (C or Fortran order).
    b : array_like
        Target overlaps b[o, a, i], shape (n_out, m, n), float64.
    C : array_like
        Target self-overlaps, shape (n_out,), float64, > 0.
    settings : SolverSettings
        Must have one kappa node (``kappac``): kappa = kappac[0] * C.
    vectors : array_like
        Shape (k, n): the vectors v (layer values, image indicators) whose weighted sums
        ``b_a . (A + kappa I)^-1 v`` are wanted.
    matvec : callable
        ``matvec(Z) -> A Z`` for Z of shape (k, n), float64 (rows are vectors), with the float64 A.
    overwrite_a : bool
        Factor in A32's memory (with one target; with several, the last target does).  Default: False.

    Returns
    -------
    sol : StampSolution
        T float32 (n_out, m, n) from the float32 solves; U/C, Sigma and kappa float64 (n_out, m).
    sums : numpy.ndarray
        float64 (n_out, m, k): ``sums[o, a, j] = b[o, a] . (A + kappa_o I)^-1 vectors[j]``.
    steps : int
        Most refinement steps any target needed.

    Raises
    ------
    PyIMCOMValueError
        If there are several kappa nodes or the shapes disagree.
    MixedPrecisionError
        If a float32 factorisation fails or the refinement does not converge.
    """
    if settings.nv != 1:
        raise PyIMCOMValueError(
            f"the mixed-precision kernel needs one kappa node; got KAPPAC = {settings.kappac}"
        )
    b = np.asarray(b, dtype=np.float64)
    C = np.atleast_1d(np.asarray(C, dtype=np.float64))
    V = np.ascontiguousarray(vectors, dtype=np.float64)
    n_out, m, n = b.shape
    if (
        A32.shape != (n, n)
        or A32.dtype != np.float32
        or V.ndim != 2
        or V.shape[1] != n
        or C.shape != (n_out,)
    ):
        raise PyIMCOMValueError(
            f"mixed solve: need A32 float32 ({n}, {n}), vectors (k, {n}), C ({n_out},); got A32 "
            f"{A32.dtype} {A32.shape}, vectors {V.shape}, C {C.shape}"
        )
    if n == 0:
        return empty_solution(n_out, m), np.zeros((n_out, m, V.shape[0])), 0
    T = np.empty((n_out, m, n), dtype=np.float32) if n_out > 1 else None
    uc, sigma, kappa = (np.empty((n_out, m)) for _ in range(3))
    sums = np.empty((n_out, m, V.shape[0]))
    source = A32.T if A32.flags.c_contiguous else A32  # symmetric: the Fortran-ordered view is A itself
    steps = 0
    for o in range(n_out):
        k_o = settings.kappac[0] * C[o]
        last = overwrite_a and o == n_out - 1 and source.flags.f_contiguous
        M = source if last else np.array(source, order="F")
        M[np.diag_indices(n)] += np.float32(k_o)
        L32 = factor32(M)
        # the vectors ride along as extra right-hand sides: their first solve costs no extra pass over L
        rhs = np.empty((n, m + V.shape[0]), dtype=np.float32, order="F")
        rhs[:, :m], rhs[:, m:] = b[o].T, V.T
        Y = scipy.linalg.solve_triangular(L32, rhs, lower=True, overwrite_b=True, check_finite=False)
        D = column_norms2(Y[:, :m], np.empty(m))
        X = scipy.linalg.solve_triangular(L32, Y, lower=True, trans="T", overwrite_b=True, check_finite=False)
        T_o = X[:, :m].T
        N = column_norms2(X[:, :m], np.empty(m))
        if T is None:
            T = T_o[None]  # one target: T stays in the solve's buffer (no copy)
        else:
            T[o] = T_o
        uc[o], sigma[o], kappa[o] = 1.0 - (k_o * N + D) / C[o], N, k_o
        Z, used = refine(L32, V, k_o, matvec, X[:, m:].T)
        steps = max(steps, used)
        sums[o] = b[o] @ Z.T
        del L32, M
    return StampSolution(T=T, uc=uc, sigma=sigma, kappa=kappa), sums, steps
