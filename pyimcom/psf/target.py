"""Target (output) PSFs and the per-PSF knobs applied to sampled PSFs.

Units and grid conventions
--------------------------
Every length in this module is in **oversampled pixels**: one unit is ``s_in / ov``, where ``s_in``
is the native input pixel (`pyimcom.instrument.PIXSCALE_ARCSEC`) and ``ov`` is the PSF
oversampling factor.  Arrays are indexed ``[..., y, x]`` (0-based, integer index = sample centre).
A target PSF built by `target_psf` is centred at ``((n - 1) / 2, (n - 1) / 2)`` in (x, y) and is
normalised to unit integral over the plane, with one oversampled pixel as the unit of area, so its
sum over a large enough grid is close to 1.

Kinds (configuration keyword ``OUTPSF``)
----------------------------------------
``GAUSSIAN``
    ``exp(-r^2 / 2 sigma^2) / (2 pi sigma^2)``, ``sigma = EXTRASMOOTH * ov``.
``AIRYOBSC``
    Airy pattern of an annular pupil with linear obscuration ``eps``,
    ``pi / (4 lam^2 (1 - eps^2)) * [2 J1(v)/v - eps^2 * 2 J1(eps v)/(eps v)]^2``, ``v = pi r / lam``,
    ``lam = (lambda/D) * ov``, convolved with the Gaussian of ``sigma = EXTRASMOOTH * ov`` in Fourier
    space.
``AIRYUNOBSC``
    The same with ``eps = 0``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import j1

from ..errors import PyIMCOMValueError
from ..instrument import OBSCURATION

__all__ = [
    "TARGET_KINDS",
    "target_psf",
    "airy_annular",
    "gaussian_smooth",
    "target_overlap_c",
    "apply_psf_knobs",
]

TARGET_KINDS = ("GAUSSIAN", "AIRYOBSC", "AIRYUNOBSC")  # allowed values of OUTPSF


def airy_annular(r, lam, eps):
    """Unit-integral Airy pattern of an annular pupil.

    Parameters
    ----------
    r : float or ndarray of float64, any shape
        Distance from the centre [oversampled pixels]; ``r >= 0``.
    lam : float
        lambda/D [oversampled pixels]; must be > 0.
    eps : float
        Linear central obscuration of the pupil [dimensionless], ``0 <= eps < 1``.

    Returns
    -------
    ndarray of float64, shape of ``r``
        ``pi / (4 lam^2 (1 - eps^2)) * [2 J1(v)/v - eps^2 * 2 J1(eps v)/(eps v)]^2`` with
        ``v = pi r / lam`` [per oversampled pixel area]; ``2 J1(x)/x`` is 1 at ``x = 0``.

    Examples
    --------
    >>> float(airy_annular(0.0, 2.0, 0.0)) == np.pi / 16
    True
    """
    v = np.pi * np.asarray(r, dtype=np.float64) / lam
    amplitude = _jinc(v) - eps**2 * _jinc(eps * v)
    return np.pi / (4.0 * lam**2 * (1.0 - eps**2)) * amplitude**2


def _jinc(x):
    """``2 J1(x) / x`` with the limit 1 at ``x = 0``."""
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, 2.0 * j1(safe) / safe)


def _smooth_periodic(image, sigma):
    """Multiply the DFT of ``image`` (last two axes) by ``exp(-2 pi^2 sigma^2 |f|^2)``."""
    ny, nx = image.shape[-2:]
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.rfftfreq(nx)[None, :]
    transfer = np.exp(-2.0 * np.pi**2 * sigma**2 * (fx**2 + fy**2))
    return np.fft.irfft2(np.fft.rfft2(image, axes=(-2, -1)) * transfer, s=(ny, nx), axes=(-2, -1))


def _smoothing_pad(sigma):
    """Return the padding per side for Fourier smoothing by ``sigma`` [pixels]: ``1 + ceil(6 sigma)``."""
    return 1 + math.ceil(6.0 * sigma)


def gaussian_smooth(image, sigma):
    """Convolve an image with a unit-integral Gaussian in Fourier space.

    The image is zero-padded by ``1 + ceil(6 sigma)`` samples on every side, its DFT multiplied by
    ``exp(-2 pi^2 sigma^2 |f|^2)`` (f in cycles per sample) and the result cropped back, so there is
    no wrap-around.  The sum is preserved except for the light smoothed past the edges, which the
    crop discards.

    Parameters
    ----------
    image : ndarray of float64, shape (..., ny, nx)
        Image(s) to smooth, indexed ``[..., y, x]``.
    sigma : float
        Gaussian standard deviation [samples of ``image``]; ``sigma = 0`` returns a copy.

    Returns
    -------
    ndarray of float64, shape (..., ny, nx)
        Smoothed image(s).

    Raises
    ------
    PyIMCOMValueError
        If ``sigma`` is negative or not finite, or ``image`` has fewer than 2 dimensions.

    Examples
    --------
    >>> img = np.zeros((21, 21)); img[10, 10] = 1.0
    >>> out = gaussian_smooth(img, 2.0)
    >>> round(float(out.sum()), 6), round(float(out[10, 10] * 2 * np.pi * 4), 3)
    (1.0, 1.0)
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim < 2:
        raise PyIMCOMValueError(
            f"image must have at least 2 dimensions (..., ny, nx); got shape {image.shape}"
        )
    if not (np.isfinite(sigma) and sigma >= 0.0):
        raise PyIMCOMValueError(f"sigma must be finite and >= 0 [samples]; got {sigma}")
    if sigma == 0.0:
        return image.copy()
    pad = _smoothing_pad(sigma)
    widths = [(0, 0)] * (image.ndim - 2) + [(pad, pad), (pad, pad)]
    smoothed = _smooth_periodic(np.pad(image, widths), sigma)
    return smoothed[..., pad:-pad, pad:-pad]


def _check_kind(kind):
    if kind not in TARGET_KINDS:
        raise PyIMCOMValueError(f"target PSF kind (OUTPSF) must be one of {TARGET_KINDS}; got {kind!r}")


def target_psf(kind, sigma_native, ov, n, lambda_over_d_native=None, obscuration=OBSCURATION):
    """Evaluate a target PSF analytically on an ``n x n`` grid of oversampled pixels.

    Parameters
    ----------
    kind : str
        One of `TARGET_KINDS`: ``"GAUSSIAN"``, ``"AIRYOBSC"`` or ``"AIRYUNOBSC"`` (keyword OUTPSF).
    sigma_native : float
        Gaussian width (EXTRASMOOTH) [native pixels]; must be > 0 for GAUSSIAN and >= 0 for the
        Airy kinds (0 = no smoothing).
    ov : int or float
        Oversampling factor: oversampled pixels per native pixel; must be > 0.
    n : int
        Side of the output grid [oversampled pixels]; must be >= 1.
    lambda_over_d_native : float or None
        lambda/D [native pixels], e.g. ``pyimcom.instrument.LAMBDA_OVER_D_NATIVE[FILTER]``.
        Required (> 0) for the Airy kinds, ignored for GAUSSIAN. Default: None.
    obscuration : float
        Linear central obscuration for AIRYOBSC [dimensionless], ``0 <= eps < 1``; AIRYUNOBSC
        always uses 0. Default: `pyimcom.instrument.OBSCURATION` (0.31).

    Returns
    -------
    ndarray of float64, shape (n, n)
        PSF indexed ``[y, x]``, centred at ``((n - 1) / 2, (n - 1) / 2)``, unit integral over the
        plane [per oversampled pixel area].

    Raises
    ------
    PyIMCOMValueError
        If ``kind`` is unknown or a numerical argument is outside its allowed range.

    Examples
    --------
    >>> psf = target_psf("GAUSSIAN", 0.934254, 8, 129)
    >>> psf.shape, round(float(psf.sum()), 10)
    ((129, 129), 1.0)
    """
    _check_kind(kind)
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise PyIMCOMValueError(f"target PSF grid side n must be an integer >= 1; got {n!r}")
    if not (np.isfinite(ov) and ov > 0):
        raise PyIMCOMValueError(f"oversampling factor ov must be > 0; got {ov}")
    if not (np.isfinite(sigma_native) and sigma_native >= 0.0):
        raise PyIMCOMValueError(
            f"EXTRASMOOTH sigma_native must be finite and >= 0 [native px]; got {sigma_native}"
        )
    sigma = float(sigma_native) * ov
    if kind == "GAUSSIAN":
        if sigma == 0.0:
            raise PyIMCOMValueError("EXTRASMOOTH sigma_native must be > 0 for a GAUSSIAN target PSF; got 0")
        r2 = _radius_squared(n, 0)
        return np.exp(-r2 / (2.0 * sigma**2)) / (2.0 * np.pi * sigma**2)
    if lambda_over_d_native is None or not (np.isfinite(lambda_over_d_native) and lambda_over_d_native > 0):
        raise PyIMCOMValueError(
            f"lambda_over_d_native must be > 0 [native px] for target PSF {kind};"
            f" got {lambda_over_d_native!r} (use pyimcom.instrument.LAMBDA_OVER_D_NATIVE[FILTER])"
        )
    eps = 0.0 if kind == "AIRYUNOBSC" else float(obscuration)
    if not 0.0 <= eps < 1.0:
        raise PyIMCOMValueError(f"obscuration must be in [0, 1); got {obscuration}")
    lam = float(lambda_over_d_native) * ov
    pad = _smoothing_pad(sigma) if sigma > 0 else 0
    image = airy_annular(np.sqrt(_radius_squared(n, pad)), lam, eps)
    if pad == 0:
        return image
    return _smooth_periodic(image, sigma)[pad:-pad, pad:-pad]


def _radius_squared(n, pad):
    """Squared distance from the centre of the n x n grid, on the grid padded by ``pad`` per side."""
    offsets = np.arange(-pad, n + pad, dtype=np.float64) - (n - 1) / 2.0
    return offsets[:, None] ** 2 + offsets[None, :] ** 2


def target_overlap_c(psf_samples):
    """Self-overlap ``C = sum_q Gamma[q]^2`` of a sampled target PSF.

    Parameters
    ----------
    psf_samples : ndarray of float64, shape (..., nsamp, nsamp)
        Target PSF(s) sampled on the common grid, indexed ``[..., q_y, q_x]`` [per sample area].

    Returns
    -------
    float or ndarray of float64, shape (...)
        ``C`` for each target PSF [per sample area].

    Examples
    --------
    >>> float(target_overlap_c(np.full((3, 3), 0.5)))
    2.25
    """
    samples = np.asarray(psf_samples, dtype=np.float64)
    c = np.sum(samples**2, axis=(-2, -1))
    return float(c) if c.ndim == 0 else c


def apply_psf_knobs(samples, psfcirc, psfnorm, nc):
    """Apply the PSFCIRC and PSFNORM knobs to sampled PSFs.

    PSFCIRC multiplies every PSF by the disc ``[|q| < nc + 0.5]``, with ``q`` the sample offset from
    index ``nc`` along each axis; PSFNORM then divides every PSF by its own sum.

    Parameters
    ----------
    samples : ndarray of float64, shape (..., nsamp, nsamp)
        Sampled PSFs indexed ``[..., q_y + nc, q_x + nc]``; not modified.
    psfcirc : bool
        Apply the circular cut (keyword PSFCIRC).
    psfnorm : bool
        Normalise each PSF to unit sum (keyword PSFNORM).
    nc : int
        Index of the centre sample along each axis, ``nsamp // 2``.

    Returns
    -------
    ndarray of float64, shape (..., nsamp, nsamp)
        New array with the knobs applied (a copy even if both are off).

    Raises
    ------
    PyIMCOMValueError
        If ``samples`` has fewer than 2 dimensions, ``nc`` is negative, or PSFNORM meets a PSF with
        zero sum.

    Examples
    --------
    >>> out = apply_psf_knobs(np.ones((5, 5)), True, True, 2)
    >>> int(np.count_nonzero(out)), round(float(out.sum()), 6)
    (21, 1.0)
    """
    out = np.array(samples, dtype=np.float64, copy=True)
    if out.ndim < 2:
        raise PyIMCOMValueError(f"samples must have shape (..., nsamp, nsamp); got shape {out.shape}")
    if nc < 0:
        raise PyIMCOMValueError(f"centre index nc must be >= 0; got {nc}")
    if psfcirc:
        qy = np.arange(out.shape[-2]) - nc
        qx = np.arange(out.shape[-1]) - nc
        out *= (qy[:, None] ** 2 + qx[None, :] ** 2) < (nc + 0.5) ** 2
    if psfnorm:
        total = out.sum(axis=(-2, -1), keepdims=True)
        if np.any(total == 0.0):
            raise PyIMCOMValueError("PSFNORM cannot normalise a sampled PSF whose sum is 0; check its inputs")
        out /= total
    return out
