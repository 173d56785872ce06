"""Empirical kernel (``LAKERNEL = "Empirical"``, quick look without a linear solve; spec §4.7).

The weights are a cone of radius rho around each output pixel,
``T_ai = max(rho - |r_i - r_a|, 0)``, normalised so that ``sum_i T_ai = 1``.  An output pixel with no
input pixel inside the cone keeps T = 0 (the reference would divide 0 by 0; quirk Q18) and reports
U/C = 1, Sigma = 0.

Unless EMPIRNQC is set, the quality of these weights is measured exactly: D = T . b, N = T . T,
E = T A T^T, Sigma = N and ``U/C = 1 + (E - 2 D)/C``; kappa = KAPPAC[0] * C is reported (cosmetic).
With EMPIRNQC no A, b or C is needed and U/C, Sigma and kappa are returned as zeros.
"""

from __future__ import annotations

import numpy as np

from ..errors import PyIMCOMValueError
from ._common import SolverSettings, StampSolution, check_system, distances, empty_solution

__all__ = ["cone_weights", "solve_empirical"]


def cone_weights(pos_in, pos_out, rho: float) -> np.ndarray:
    """Normalised cone weights ``T_ai = max(rho - |r_i - r_a|, 0) / sum_j max(rho - |r_j - r_a|, 0)``.

    Parameters
    ----------
    pos_in : array_like
        Input-pixel positions (x, y) [output pixels], shape (n, 2) (pixel contract: `pyimcom.geometry`).
    pos_out : array_like
        Output-pixel positions (x, y) [output pixels], shape (m, 2).
    rho : float
        Cone radius [output pixels], > 0.

    Returns
    -------
    numpy.ndarray
        Weights, shape (m, n), float64; each row sums to 1, or is all zero when no input pixel lies
        within rho of that output pixel.

    Raises
    ------
    PyIMCOMValueError
        If a shape is wrong or rho is not finite and > 0.

    Examples
    --------
    >>> cone_weights([[0.0, 0.0], [1.0, 0.0], [9.0, 0.0]], [[0.0, 0.0]], 2.0).tolist()
    [[0.6666666666666666, 0.3333333333333333, 0.0]]
    """
    T = np.maximum(float(rho) - distances(pos_in, pos_out, rho), 0.0)
    total = T.sum(axis=1)
    nonempty = total > 0
    T[nonempty] /= total[nonempty, None]
    return T


def _infer_n_out(b, C, n_out):
    if b is not None:
        return np.shape(b)[0]
    if C is not None:
        return np.size(C)
    if n_out is None:
        raise PyIMCOMValueError(
            "solve_empirical needs n_out (number of target PSFs) when b and C are both None; got None"
        )
    return int(n_out)


def solve_empirical(
    A, b, C, settings: SolverSettings, pos_in, pos_out, rho: float, n_out: int | None = None
) -> StampSolution:
    """Empirical kernel: cone weights, with exact U/C and Sigma unless ``settings.empirnqc``.

    Parameters
    ----------
    A : array_like or None
        System matrix, shape (n, n), float64; may be None when ``settings.empirnqc``.
    b : array_like or None
        Target overlaps, shape (n_out, m, n), float64; may be None when ``settings.empirnqc``.
    C : array_like or None
        Target self-overlaps, shape (n_out,), float64, > 0; may be None when ``settings.empirnqc``.
    settings : SolverSettings
        Uses ``empirnqc`` and ``kappac[0]``.
    pos_in : array_like
        Input-pixel positions (x, y) [output pixels], shape (n, 2).
    pos_out : array_like
        Output-pixel positions (x, y) [output pixels], shape (m, 2).
    rho : float
        Cone radius [output pixels], > 0 (INPAD / dtheta).
    n_out : int or None
        Number of target PSFs; only needed when both b and C are None.  Default: None.

    Returns
    -------
    StampSolution
        T float32 (n_out, m, n) (the same cone for every target PSF); U/C, Sigma and kappa float64
        (n_out, m), zeros when ``settings.empirnqc``.

    Raises
    ------
    PyIMCOMValueError
        If shapes disagree, C is not > 0, rho is not > 0, or n_out cannot be determined.

    Examples
    --------
    >>> sol = solve_empirical(None, None, None, SolverSettings(kappac=(0.0,), empirnqc=True),
    ...                       [[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0]], 2.0, n_out=1)
    >>> sol.T.astype(float).round(4).tolist(), sol.uc.tolist()
    ([[[0.6667, 0.3333]]], [[0.0]])
    """
    T_cone = cone_weights(pos_in, pos_out, rho)
    m, n = T_cone.shape
    if not settings.empirnqc:
        A, b, C = check_system(A, b, C)
        if b.shape[1:] != (m, n):
            raise PyIMCOMValueError(
                f"positions give {n} input and {m} output pixels but b has shape {b.shape} (n_out, m, n)"
            )
    n_out = _infer_n_out(b, C, n_out)
    if n == 0:
        return empty_solution(n_out, m)
    T = np.broadcast_to(T_cone.astype(np.float32), (n_out, m, n)).copy()
    if settings.empirnqc:
        zeros = np.zeros((n_out, m))
        return StampSolution(T=T, uc=zeros, sigma=zeros.copy(), kappa=zeros.copy())
    N = np.einsum("ai,ai->a", T_cone, T_cone)
    E = np.einsum("ai,ai->a", T_cone @ A, T_cone)
    D = np.einsum("oai,ai->oa", b, T_cone)
    uc = 1.0 + (E[None, :] - 2.0 * D) / C[:, None]
    sigma = np.broadcast_to(N, (n_out, m)).copy()
    kappa = np.broadcast_to(settings.kappac[0] * C[:, None], (n_out, m)).copy()
    return StampSolution(T=T, uc=uc, sigma=sigma, kappa=kappa)
