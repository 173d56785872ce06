"""Shared types and argument checks of the linear-algebra kernels.

This module holds the two small dataclasses that every kernel uses (`SolverSettings` in,
`StampSolution` out), the validation of the ``(A, b, C)`` system of one postage stamp, the
``n = 0`` guard and the circular relevance window used by the Iterative and Empirical kernels.
Positions follow the pixel contract stated in `pyimcom.geometry` (0-based, ``(x, y)`` order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import PyIMCOMValueError

__all__ = [
    "SolverSettings",
    "StampSolution",
    "check_system",
    "distances",
    "empty_solution",
    "relevance_mask",
]


@dataclass(frozen=True)
class SolverSettings:
    """Settings of the linear-algebra kernels (config Section VIII, reference keywords in brackets).

    Parameters
    ----------
    kappac : tuple of float
        Lagrange-multiplier nodes kappa/C [dimensionless], strictly ascending (``KAPPAC``).  One value
        fixes kappa = kappac[0] * C (must be >= 0); several select the kappa-node interpolation (Cholesky,
        Iterative) or bisection (Eigen) and must then all be > 0.  Default: (1e-5, 1e-4, 1e-3).
    ucmin : float
        Target (floor) leakage U/C [dimensionless] (``UCMIN``).  Default: 1e-6.
    smax : float
        Maximum allowed noise Sigma [input-noise variance units] (``SMAX``).  Default: 0.5.
    iter_rtol : float
        Iterative kernel: conjugate-gradient relative tolerance, >= 0 (``ITERRTOL``).  Default: 1.5e-3.
    iter_max : int
        Iterative kernel: maximum number of CG iterations, >= 1 (``ITERMAX``).  Default: 30.
    empirnqc : bool
        Empirical kernel: skip all quality control (no A, b, C needed) (``EMPIRNQC``).  Default: False.

    Raises
    ------
    PyIMCOMValueError
        If a value is outside the allowed range.

    Examples
    --------
    >>> SolverSettings(kappac=(1e-4,)).nv
    1
    """

    kappac: tuple[float, ...] = (1e-5, 1e-4, 1e-3)
    ucmin: float = 1e-6
    smax: float = 0.5
    iter_rtol: float = 1.5e-3
    iter_max: int = 30
    empirnqc: bool = False

    def __post_init__(self):
        kappac = tuple(float(k) for k in np.atleast_1d(np.asarray(self.kappac, dtype=float)))
        if not kappac or not all(math.isfinite(k) and k >= 0 for k in kappac):
            raise PyIMCOMValueError(f"KAPPAC must be a non-empty list of finite values >= 0; got {kappac}")
        if any(k1 <= k0 for k0, k1 in zip(kappac[:-1], kappac[1:], strict=True)):
            raise PyIMCOMValueError(f"KAPPAC must be strictly ascending; got {kappac}")
        if len(kappac) > 1 and kappac[0] <= 0:
            raise PyIMCOMValueError(
                f"KAPPAC with several nodes must be all > 0 (the kappa search works in log space); got "
                f"{kappac}. Use a single node [0] for an unregularised solve."
            )
        for name, value in (("UCMIN", self.ucmin), ("SMAX", self.smax), ("ITERRTOL", self.iter_rtol)):
            if not math.isfinite(float(value)):
                raise PyIMCOMValueError(f"{name} must be finite; got {value}")
        if float(self.iter_rtol) < 0:
            raise PyIMCOMValueError(f"ITERRTOL must be >= 0; got {self.iter_rtol}")
        if int(self.iter_max) != self.iter_max or int(self.iter_max) < 1:
            raise PyIMCOMValueError(f"ITERMAX must be an integer >= 1; got {self.iter_max}")
        object.__setattr__(self, "kappac", kappac)
        object.__setattr__(self, "ucmin", float(self.ucmin))
        object.__setattr__(self, "smax", float(self.smax))
        object.__setattr__(self, "iter_rtol", float(self.iter_rtol))
        object.__setattr__(self, "iter_max", int(self.iter_max))
        object.__setattr__(self, "empirnqc", bool(self.empirnqc))

    @property
    def nv(self) -> int:
        """Number of kappa nodes, ``len(kappac)``."""
        return len(self.kappac)


@dataclass(frozen=True)
class StampSolution:
    """Result of one linear-algebra kernel call for one postage stamp.

    Parameters
    ----------
    T : numpy.ndarray
        Coaddition matrix, shape (n_out, m, n), float32: ``out[o, a] = sum_i T[o, a, i] d[i]``.
    uc : numpy.ndarray
        Leakage U/C [dimensionless], shape (n_out, m), float64.
    sigma : numpy.ndarray
        Noise Sigma = sum_i T[o, a, i]**2 [input-noise variance units], shape (n_out, m), float64.
    kappa : numpy.ndarray
        Lagrange multiplier kappa in absolute units (kappa/C times C), shape (n_out, m), float64.
    """

    T: np.ndarray
    uc: np.ndarray
    sigma: np.ndarray
    kappa: np.ndarray


def check_system(A, b, C, need_a: bool = True):
    """Validate and convert the linear system of one stamp.

    Parameters
    ----------
    A : array_like
        System matrix A_ij, shape (n, n), converted to float64.  May be None if ``need_a`` is False.
    b : array_like
        Target overlaps b[o, a, i], shape (n_out, m, n), converted to float64.
    C : array_like
        Target self-overlaps, shape (n_out,), converted to float64; must be finite and > 0.
    need_a : bool
        Whether A is required.  Default: True.

    Returns
    -------
    A, b, C : numpy.ndarray
        The float64 arrays (A is None when not given and not needed).

    Raises
    ------
    PyIMCOMValueError
        If a shape is inconsistent or a value not finite.

    Examples
    --------
    >>> A, b, C = check_system(np.eye(2), np.ones((1, 3, 2)), [1.0])
    >>> b.shape
    (1, 3, 2)
    """
    if b is None or C is None or (need_a and A is None):
        raise PyIMCOMValueError("this kernel needs the system A, b and C; got None for one of them")
    b = np.asarray(b, dtype=np.float64)
    C = np.atleast_1d(np.asarray(C, dtype=np.float64))
    if b.ndim != 3:
        raise PyIMCOMValueError(f"b must have shape (n_out, m, n); got shape {b.shape}")
    n_out, _, n = b.shape
    if C.shape != (n_out,):
        raise PyIMCOMValueError(f"C must have shape (n_out,) = ({n_out},); got shape {C.shape}")
    if not np.all(np.isfinite(C)) or np.any(C <= 0):
        raise PyIMCOMValueError(f"C (target self-overlap) must be finite and > 0; got {C}")
    if A is not None:
        A = np.asarray(A, dtype=np.float64)
        if A.shape != (n, n):
            raise PyIMCOMValueError(f"A must have shape (n, n) = ({n}, {n}) to match b; got shape {A.shape}")
    return A, b, C


def empty_solution(n_out: int, m: int) -> StampSolution:
    """The ``n = 0`` guard: no input pixel, so U/C = 1, Sigma = 0 and kappa = 1 (keeps logs finite).

    Parameters
    ----------
    n_out : int
        Number of target PSFs.
    m : int
        Number of output pixels.

    Returns
    -------
    StampSolution
        T of shape (n_out, m, 0), float32; uc ones, sigma zeros, kappa ones, shape (n_out, m).

    Examples
    --------
    >>> empty_solution(2, 4).T.shape
    (2, 4, 0)
    """
    shape = (n_out, m)
    return StampSolution(
        T=np.zeros((n_out, m, 0), dtype=np.float32),
        uc=np.ones(shape),
        sigma=np.zeros(shape),
        kappa=np.ones(shape),
    )


def relevance_mask(pos_in, pos_out, rho: float) -> np.ndarray:
    """Circular relevance window ``|r_i - r_a| < rho`` of every output pixel.

    Parameters
    ----------
    pos_in : array_like
        Input-pixel positions (x, y) [output pixels], shape (n, 2).
    pos_out : array_like
        Output-pixel positions (x, y) [output pixels], shape (m, 2).
    rho : float
        Window radius [output pixels], finite and > 0 (``INPAD / dtheta``).

    Returns
    -------
    numpy.ndarray
        Boolean mask R[a, i], shape (m, n).

    Raises
    ------
    PyIMCOMValueError
        If a shape is wrong or rho is not finite and > 0.

    Examples
    --------
    >>> relevance_mask([[0.0, 0.0], [3.0, 0.0]], [[0.0, 1.0]], 2.0)
    array([[ True, False]])
    """
    return distances(pos_in, pos_out, rho) < float(rho)


def distances(pos_in, pos_out, rho: float) -> np.ndarray:
    """Distances |r_i - r_a| [output pixels], shape (m, n), float64, after validating the arguments.

    Parameters
    ----------
    pos_in : array_like
        Input-pixel positions (x, y) [output pixels], shape (n, 2).
    pos_out : array_like
        Output-pixel positions (x, y) [output pixels], shape (m, 2).
    rho : float
        Window radius [output pixels], finite and > 0; only validated here.

    Returns
    -------
    numpy.ndarray
        Distance matrix, shape (m, n), float64.

    Raises
    ------
    PyIMCOMValueError
        If a shape is wrong or rho is not finite and > 0.

    Examples
    --------
    >>> distances([[0.0, 0.0]], [[3.0, 4.0]], 1.0)
    array([[5.]])
    """
    pos_in, pos_out = (np.asarray(p, dtype=np.float64) for p in (pos_in, pos_out))
    pos_in, pos_out = (p.reshape(0, 2) if p.size == 0 else p for p in (pos_in, pos_out))
    for name, pos in (("pos_in", pos_in), ("pos_out", pos_out)):
        if pos.ndim != 2 or pos.shape[1] != 2:
            raise PyIMCOMValueError(f"{name} must have shape (npix, 2) with (x, y) rows; got {pos.shape}")
    if rho is None or not math.isfinite(float(rho)) or float(rho) <= 0:
        raise PyIMCOMValueError(f"rho (window radius, output pixels) must be finite and > 0; got {rho}")
    return np.hypot(pos_out[:, None, 0] - pos_in[None, :, 0], pos_out[:, None, 1] - pos_in[None, :, 1])
