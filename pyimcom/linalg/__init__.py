"""Linear-algebra kernels: from the system (A, b, C) of one postage stamp to the coaddition matrix T.

For one stamp with n input pixels, m output pixels and n_out target PSFs (spec §4.1), the optimal
weights minimise leakage U plus kappa times noise Sigma, ``T_a = (A + kappa I)^-1 b_a``.  Four kernels
(config keyword ``LAKERNEL``) compute T together with the per-pixel maps U/C, Sigma and kappa:

* ``"Cholesky"`` (`solve_cholesky`): exact LAPACK solves; default and production kernel.
* ``"Iterative"`` (`solve_iterative`): conjugate gradient on a circular window of radius rho.
* ``"Eigen"`` (`solve_eigen`): eigen-decomposition of A, closed forms and a kappa bisection.
* ``"Empirical"`` (`solve_empirical`): cone weights, no linear solve.

With several kappa nodes (``KAPPAC``), Cholesky and Iterative share the reduced kappa search of
`pyimcom.linalg.kappa_search`.  Every kernel returns a `StampSolution`; with n = 0 it is the guard
solution (T of shape (n_out, m, 0), U/C = 1, Sigma = 0, kappa = 1).

Departures from the reference, all documented in the kernel modules: the Eigen kernel reports kappa
once (quirk Q8); the reduced search keeps quirk Q9; zero right-hand sides and empty windows give T = 0
instead of NaN (quirk Q18 and its CG/reduced-search analogues).
"""

from __future__ import annotations

from ..errors import PyIMCOMValueError
from ._common import SolverSettings, StampSolution
from .cholesky import solve_cholesky
from .eigen import solve_eigen
from .empirical import cone_weights, solve_empirical
from .iterative import solve_iterative
from .kappa_search import reduced_kappa_search

__all__ = [
    "KERNEL_NAMES",
    "SolverSettings",
    "StampSolution",
    "cone_weights",
    "reduced_kappa_search",
    "solve_cholesky",
    "solve_eigen",
    "solve_empirical",
    "solve_iterative",
    "solve_stamp",
]

KERNEL_NAMES = ("Cholesky", "Iterative", "Eigen", "Empirical")  # accepted LAKERNEL values


def _positions(kernel_name, positions, rho):
    if positions is None or rho is None:
        raise PyIMCOMValueError(
            f"the {kernel_name} kernel needs positions=(pos_in, pos_out) [output pixels] and the window "
            f"radius rho [output pixels]; got positions={'None' if positions is None else 'given'}, "
            f"rho={rho}"
        )
    if len(positions) != 2:
        raise PyIMCOMValueError(f"positions must be a pair (pos_in, pos_out); got {len(positions)} items")
    return positions[0], positions[1]


def solve_stamp(
    kernel_name: str,
    A,
    b,
    C,
    settings: SolverSettings,
    positions=None,
    rho: float | None = None,
    n_out: int | None = None,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
) -> StampSolution:
    """Solve the linear system of one postage stamp with the named kernel.

    Parameters
    ----------
    kernel_name : str
        ``LAKERNEL``: one of "Cholesky", "Iterative", "Eigen", "Empirical".
    A : array_like or None
        System matrix A_ij, shape (n, n), float64, symmetric positive (semi-)definite [PSF overlap units].
        May be None for Empirical with ``settings.empirnqc``.
    b : array_like or None
        Target overlaps b[o, a, i], shape (n_out, m, n), float64.  May be None as A.
    C : array_like or None
        Target self-overlaps, shape (n_out,), float64, > 0.  May be None as A.
    settings : SolverSettings
        Solver settings (KAPPAC, UCMIN, SMAX, ITERRTOL, ITERMAX, EMPIRNQC).
    positions : tuple of array_like or None
        ``(pos_in, pos_out)``: input-pixel positions, shape (n, 2), and output-pixel positions, shape
        (m, 2), as (x, y) [output pixels] in one frame (pixel contract: `pyimcom.geometry`).  Required
        by Iterative and Empirical, ignored otherwise.  Default: None.
    rho : float or None
        Window radius [output pixels] (INPAD / dtheta); required by Iterative and Empirical.
        Default: None.
    n_out : int or None
        Number of target PSFs, only needed by Empirical when b and C are None.  Default: None.
    overwrite_a : bool
        Allow the kernel to destroy A (Cholesky factors in A's memory; the others ignore it).
        Default: False.
    overwrite_b : bool
        Allow the kernel to destroy b (Cholesky with one kappa node solves in b's memory; the others
        ignore it).  Default: False.

    Returns
    -------
    StampSolution
        T float32 (n_out, m, n); U/C, Sigma, absolute kappa float64 (n_out, m).

    Raises
    ------
    PyIMCOMValueError
        If the kernel name is unknown, positions/rho are missing where needed, or the kernel rejects
        its arguments.
    PyIMCOMError
        If the Cholesky factorisation fails even after the positive-definiteness repair.

    Examples
    --------
    >>> import numpy as np
    >>> sol = solve_stamp("Cholesky", np.eye(2), np.ones((1, 1, 2)), [2.0], SolverSettings(kappac=(0.0,)))
    >>> sol.T.tolist()
    [[[1.0, 1.0]]]
    """
    if kernel_name == "Cholesky":
        return solve_cholesky(A, b, C, settings, overwrite_a=overwrite_a, overwrite_b=overwrite_b)
    if kernel_name == "Eigen":
        return solve_eigen(A, b, C, settings)
    if kernel_name == "Iterative":
        pos_in, pos_out = _positions(kernel_name, positions, rho)
        return solve_iterative(A, b, C, settings, pos_in, pos_out, rho)
    if kernel_name == "Empirical":
        pos_in, pos_out = _positions(kernel_name, positions, rho)
        return solve_empirical(A, b, C, settings, pos_in, pos_out, rho, n_out=n_out)
    raise PyIMCOMValueError(
        f"unknown linear-algebra kernel LAKERNEL = {kernel_name!r}; allowed: {KERNEL_NAMES}"
    )
