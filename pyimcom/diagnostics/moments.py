"""Shape measurements of star postage stamps: HSM adaptive moments and related statistics.

For each stamp (a small image indexed ``[y, x]`` with the star near its central pixel) the report
measures, as the reference's star cube does (layers spec §4.5.2):

* GalSim HSM adaptive moments (`galsim.hsm.FindAdaptiveMom`, default settings, unit pixel scale):
  amplitude, centroid, size ``sigma = det(M)**(1/4)`` [px] and the shape ``(g1, g2)`` in the
  reduced-shear convention ``g = (Mxx - Myy + 2i Mxy) / (Mxx + Myy + 2 sqrt(det M))``;
* the spin-2 fourth moments ``M42`` of Zhang et al. (2023, MNRAS 525, 2441) in the frame whitened
  by the adaptive second-moment matrix;
* the fixed-window ellipticity ``(e+, ex)``: second moments under a round Gaussian weight of width
  ``sigma_w`` about the HSM centroid, divided by ``sigma_w**2``.

A failed HSM fit is reported through ``ok = False`` and NaN values, never zeros.  Coordinates are
0-based pixel coordinates of the stamp, ``(x, y)`` order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import galsim
import numpy as np

__all__ = [
    "StarShape",
    "adaptive_moments",
    "moment_matrix",
    "m42",
    "fixed_window_ellipticity",
    "measure_stamp",
]


@dataclass(frozen=True)
class StarShape:
    """Shape measurements of one stamp (NaN everywhere when ``ok`` is False).

    Attributes
    ----------
    ok : bool
        True if the HSM adaptive-moment fit converged.
    status : int
        HSM ``moments_status`` (0 = success; -1 if HSM raised an error).
    amplitude : float
        HSM ``moments_amp`` [flux units of the stamp].
    x0, y0 : float
        HSM centroid, 0-based stamp pixel coordinates [px].
    sigma : float
        Adaptive size ``det(M)**(1/4)`` [px].
    g1, g2 : float
        Adaptive shape, reduced-shear convention.
    e1, e2 : float
        Adaptive shape, distortion convention ``(Mxx - Myy, 2 Mxy) / (Mxx + Myy)``.
    m42_re, m42_im : float
        Spin-2 fourth moments in the whitened frame.
    eplus, ecross : float
        Fixed-window ellipticity components.
    """

    ok: bool
    status: int
    amplitude: float = math.nan
    x0: float = math.nan
    y0: float = math.nan
    sigma: float = math.nan
    g1: float = math.nan
    g2: float = math.nan
    e1: float = math.nan
    e2: float = math.nan
    m42_re: float = math.nan
    m42_im: float = math.nan
    eplus: float = math.nan
    ecross: float = math.nan


def adaptive_moments(stamp: np.ndarray):
    """Run GalSim HSM adaptive moments on a stamp.

    Parameters
    ----------
    stamp : numpy.ndarray
        2-D image indexed ``[y, x]``; unit pixel scale.

    Returns
    -------
    galsim.hsm.ShapeData or None
        The HSM result, or None if the fit failed (``moments_status != 0``, an HSM error, or a
        non-positive or non-finite size).
    """
    image = galsim.Image(np.ascontiguousarray(stamp, dtype=np.float64), copy=True)
    try:
        res = galsim.hsm.FindAdaptiveMom(image, strict=False)
    except galsim.GalSimError:
        return None
    if res.moments_status != 0 or not (np.isfinite(res.moments_sigma) and res.moments_sigma > 0):
        return None
    return res


def moment_matrix(sigma: float, e1: float, e2: float) -> np.ndarray:
    """Second-moment matrix from an adaptive size and distortion.

    ``Mxx = s^2 (1 + e1) / sqrt(1 - e^2)``, ``Myy = s^2 (1 - e1) / sqrt(1 - e^2)``,
    ``Mxy = s^2 e2 / sqrt(1 - e^2)`` with ``e^2 = e1^2 + e2^2`` (so ``det M = s^4``).

    Parameters
    ----------
    sigma : float
        Size ``det(M)**(1/4)`` [px].
    e1, e2 : float
        Distortion components, ``e1^2 + e2^2 < 1``.

    Returns
    -------
    numpy.ndarray
        float64 ``[[Mxx, Mxy], [Mxy, Myy]]`` [px^2].

    Examples
    --------
    >>> moment_matrix(2.0, 0.0, 0.0).tolist()
    [[4.0, 0.0], [0.0, 4.0]]
    """
    f = sigma**2 / math.sqrt(1.0 - e1 * e1 - e2 * e2)
    return np.array([[f * (1.0 + e1), f * e2], [f * e2, f * (1.0 - e1)]])


def _offsets(shape, x0: float, y0: float) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    return np.arange(nx)[None, :] - x0, np.arange(ny)[:, None] - y0


def m42(stamp: np.ndarray, x0: float, y0: float, mmat: np.ndarray) -> tuple[float, float]:
    """Spin-2 fourth moments in the frame whitened by ``mmat``.

    With ``(u, v) = M^(-1/2) (x - x0, y - y0)`` and weight ``w = I exp(-(u^2 + v^2)/2)``:
    ``Re M42 = sum w (u^4 - v^4) / sum w`` and ``Im M42 = 2 sum w (u^3 v + u v^3) / sum w``.
    Both vanish for any elliptical Gaussian whose moments are ``mmat``.

    Parameters
    ----------
    stamp : numpy.ndarray
        Image indexed ``[y, x]``.
    x0, y0 : float
        Centre, 0-based stamp pixel coordinates [px].
    mmat : numpy.ndarray
        Second-moment matrix ``[[Mxx, Mxy], [Mxy, Myy]]`` [px^2].

    Returns
    -------
    tuple of float
        ``(Re M42, Im M42)``.
    """
    x, y = _offsets(stamp.shape, x0, y0)
    mxx, mxy, myy = mmat[0, 0], mmat[0, 1], mmat[1, 1]
    det = mxx * myy - mxy * mxy
    sqrt_det = math.sqrt(det)
    zeta = math.sqrt(det * (mxx + myy + 2.0 * sqrt_det))
    u = ((myy + sqrt_det) * x - mxy * y) / zeta
    v = ((mxx + sqrt_det) * y - mxy * x) / zeta
    w = stamp * np.exp(-0.5 * (u * u + v * v))
    wsum = w.sum()
    return float((w * (u**4 - v**4)).sum() / wsum), float(2.0 * (w * (u**3 * v + u * v**3)).sum() / wsum)


def fixed_window_ellipticity(stamp: np.ndarray, x0: float, y0: float, sigma_w: float) -> tuple[float, float]:
    """Ellipticity under a fixed round Gaussian window.

    ``w = I exp(-(x^2 + y^2) / (2 sigma_w^2))`` about ``(x0, y0)``;
    ``e+ = sum w (x^2 - y^2) / sum w / sigma_w^2``, ``ex = sum w 2xy / sum w / sigma_w^2``.

    Parameters
    ----------
    stamp : numpy.ndarray
        Image indexed ``[y, x]``.
    x0, y0 : float
        Window centre, 0-based stamp pixel coordinates [px].
    sigma_w : float
        Window width [px].

    Returns
    -------
    tuple of float
        ``(e+, ex)``.
    """
    x, y = _offsets(stamp.shape, x0, y0)
    w = stamp * np.exp(-(x * x + y * y) / (2.0 * sigma_w**2))
    wsum = w.sum() * sigma_w**2
    return float((w * (x * x - y * y)).sum() / wsum), float((w * 2.0 * x * y).sum() / wsum)


def measure_stamp(stamp: np.ndarray, sigma_w: float) -> StarShape:
    """Measure every shape statistic of one stamp.

    Parameters
    ----------
    stamp : numpy.ndarray
        Image indexed ``[y, x]`` (any real dtype).
    sigma_w : float
        Fixed-window width [px].

    Returns
    -------
    StarShape
        ``ok = False`` with NaN values if HSM fails.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:31, 0:31]
    >>> s = measure_stamp(np.exp(-((xx - 15) ** 2 + (yy - 15) ** 2) / 8.0), 3.0)
    >>> s.ok, round(s.sigma, 4), abs(s.g1) < 1e-6
    (True, 2.0, True)
    """
    stamp = np.asarray(stamp, dtype=np.float64)
    res = adaptive_moments(stamp)
    if res is None:
        return StarShape(ok=False, status=-1)
    shape = res.observed_shape
    x0, y0 = res.moments_centroid.x - 1.0, res.moments_centroid.y - 1.0  # GalSim images start at 1
    sigma = float(res.moments_sigma)
    mmat = moment_matrix(sigma, shape.e1, shape.e2)
    m_re, m_im = m42(stamp, x0, y0, mmat)
    ep, ex = fixed_window_ellipticity(stamp, x0, y0, sigma_w)
    return StarShape(
        ok=True,
        status=int(res.moments_status),
        amplitude=float(res.moments_amp),
        x0=float(x0),
        y0=float(y0),
        sigma=sigma,
        g1=float(shape.g1),
        g2=float(shape.g2),
        e1=float(shape.e1),
        e2=float(shape.e2),
        m42_re=m_re,
        m42_im=m_im,
        eplus=ep,
        ecross=ex,
    )
