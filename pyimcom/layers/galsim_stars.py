"""GalSim point-source input layer: ``gsstar<n>``.

``gsstar<n>`` places a unit-flux star at the centre of every HEALPix pixel (resolution ``n``,
``nside = 2**n``, NESTED ordering) that falls on the SCA or within 16 native pixels of its edge
(reference layers report §1.3.9, §1.5.1), and draws each one with GalSim: the pixel-convolved
drawing PSF array (§1.6) is wrapped as a `galsim.InterpolatedImage` with a Lanczos(32)
x-interpolant and rendered with ``method="no_pixel"`` (the pixel tophat is already in the PSF).
Mathematically this is the ``cstar<n>`` layer (`pyimcom.layers.points`) up to the interpolator.

Pixel positions follow the package pixel contract (see `pyimcom.wcs`): 0-based, an integer value is
a pixel centre, coordinates are ordered ``(x, y)`` and images are indexed ``[y, x]``.  GalSim images
are 1-based by default; here every GalSim image is built with 0-based bounds
(``BoundsI(0, nx - 1, 0, ny - 1)``), so a GalSim image coordinate *is* a package pixel coordinate,
and each star is drawn with ``center=PositionD(x, y)`` (no ``offset``).  GalSim works in "pixel
units": the canvas has pixel scale 1 and one PSF sample is ``1/ov`` of a native pixel; no WCS
distortion is applied to the stars (as in the reference).

Differences from the reference (not copied): the PSF array is interpolated with the drawing PSF's
*own* oversampling factor ``ov`` (§1.6 quirk); each star is drawn on a sub-image just large enough
for the PSF plus the interpolant support instead of a fixed 280x280 stamp on a padded canvas
(identical pixel values, less work); the disc radius scales with the image width ``nx``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import galsim
import healpy as hp
import numpy as np

from ..errors import PyIMCOMValueError
from ..instrument import PIXSCALE_ARCSEC
from .points import _check_resolution, _check_shape, _finite_float

__all__ = [
    "GSSTAR_MARGIN_PIX",
    "LANCZOS_ORDER",
    "NEST_SOURCE_DTYPE",
    "nested_candidates",
    "draw_stars",
    "gsstar_layer",
]

GSSTAR_MARGIN_PIX = 16  # star selection margin around the SCA (report §1.5.1, stars) [native pixels]
LANCZOS_ORDER = 32  # order of the Lanczos x-interpolant of the PSF profile [PSF samples]

NEST_SOURCE_DTYPE = np.dtype(
    [
        ("ipix_nest", np.int64),
        ("ra_deg", np.float64),
        ("dec_deg", np.float64),
        ("x", np.float64),
        ("y", np.float64),
    ]
)
"""Record of one drawn star: NESTED index, (RA, Dec) [deg], SCA position (x, y) [0-based pixels]."""


def nested_candidates(nside_hp: int, wcs, shape: tuple[int, int], margin_px: float = GSSTAR_MARGIN_PIX):
    """HEALPix NESTED pixel centres that land on an SCA image or within a margin of it.

    Report §1.5.1: the disc is centred on the world position of the image centre
    ``((nx-1)/2, (ny-1)/2)`` (0-based, ``wcs.all_pix2world(..., 0)``) and has radius
    ``nx * PIXSCALE_ARCSEC * sqrt(2)`` (for a full SCA ≈ 10.6 arcmin, deliberately larger than the
    half-diagonal); ``healpy.query_disc(..., nest=True)`` gives the candidates, whose centres
    (``pix2ang(..., nest=True, lonlat=True)``) are placed with ``wcs.all_world2pix(ra, dec, 0)``
    and kept when ``-margin_px <= x <= nx - 1 + margin_px`` and likewise for ``y``.

    Parameters
    ----------
    nside_hp : int
        HEALPix ``nside`` (a power of 2, 1 .. 2**29).
    wcs : astropy.wcs.WCS
        Celestial (2-axis) WCS of the image, with ``all_pix2world``/``all_world2pix``.
    shape : tuple of int
        Image shape ``(ny, nx)`` [native pixels].
    margin_px : float, optional
        Margin around the image [native pixels], >= 0.  Default: 16 (stars).

    Returns
    -------
    ipix_nest : ndarray, shape (n,), int64
        NESTED indices, increasing.
    ra_deg, dec_deg : ndarray, shape (n,), float64
        Sky positions of the pixel centres [deg].
    x, y : ndarray, shape (n,), float64
        Their image positions [0-based native pixels] (pixel contract of `pyimcom.wcs`).

    Raises
    ------
    PyIMCOMValueError
        If ``nside_hp`` is not a power of 2 in range, ``shape`` is invalid or ``margin_px`` is
        negative or not finite.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> from pyimcom.layers.galsim_stars import nested_candidates
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [60.0, -4.0]
    >>> w.wcs.crpix = [80.5, 80.5]; w.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    >>> ipix, ra, dec, x, y = nested_candidates(2**16, w, (160, 160))
    >>> bool(len(ipix) > 0 and (x >= -16).all() and (x <= 175).all())
    True
    """
    if (
        isinstance(nside_hp, bool)
        or not isinstance(nside_hp, (int, np.integer))
        or not hp.isnsideok(int(nside_hp), nest=True)
    ):
        raise PyIMCOMValueError(f"nside_hp must be a power of 2 in 1..2**29; got {nside_hp!r}")
    ny, nx = _check_shape(shape)
    margin_px = _finite_float("margin_px", margin_px)
    if margin_px < 0:
        raise PyIMCOMValueError(f"margin_px must be >= 0 [native pixels]; got {margin_px!r}")
    nside = int(nside_hp)
    ra_c, dec_c = (float(a) for a in wcs.all_pix2world((nx - 1) / 2.0, (ny - 1) / 2.0, 0))
    radius_rad = math.radians(nx * PIXSCALE_ARCSEC * math.sqrt(2.0) / 3600.0)
    vec = hp.ang2vec(ra_c, dec_c, lonlat=True)
    ipix = np.sort(np.asarray(hp.query_disc(nside, vec, radius_rad, nest=True), dtype=np.int64))
    ra, dec = hp.pix2ang(nside, ipix, nest=True, lonlat=True)
    ra, dec = np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
    if len(ipix) == 0:
        x = y = np.empty(0, dtype=np.float64)
    else:
        x, y = (np.asarray(a, dtype=np.float64) for a in wcs.all_world2pix(ra, dec, 0))
    keep = (x >= -margin_px) & (x <= nx - 1 + margin_px) & (y >= -margin_px) & (y <= ny - 1 + margin_px)
    return ipix[keep], ra[keep], dec[keep], x[keep], y[keep]


def _psf_profile(psf, ov, x, y, force_k, pad_factor=4.0):
    """GalSim profile of one PSF array in native-pixel units (sample scale 1/ov); None if all zero.

    ``pad_factor`` only matters for k-space (FFT) drawing, e.g. a PSF convolved with a galaxy.
    """
    psf = np.asarray(psf, dtype=np.float64)
    if psf.ndim != 2 or not np.all(np.isfinite(psf)):
        raise PyIMCOMValueError(f"psf_at must return a finite 2-D array; got shape {psf.shape} at ({x}, {y})")
    if not np.any(psf):
        return None  # an all-zero PSF draws nothing (GalSim rejects zero-flux images)
    stepk, maxk = force_k if force_k is not None else (0.0, 0.0)
    # normalization="flux" with flux=None: total flux = array sum (≈ 1), so a drawn sample is
    # ov**2 * (interpolated array value), as for cstar.  The profile origin is the array's true
    # centre ((N-1)/2 in 0-based samples), as for cstar.
    return galsim.InterpolatedImage(
        galsim.Image(np.ascontiguousarray(psf), scale=1.0 / ov),
        x_interpolant=galsim.Lanczos(LANCZOS_ORDER),
        normalization="flux",
        pad_factor=pad_factor,
        _force_stepk=stepk,
        _force_maxk=maxk,
    )


def _stamp_half(psf_shape, ov):
    """Half side of the drawing stamp [native pixels]: PSF half-width plus interpolant support, +1."""
    return int(math.ceil((max(psf_shape) / 2.0 + LANCZOS_ORDER) / ov)) + 1


def _check_ov(ov) -> float:
    ov = _finite_float("ov", ov)
    if ov <= 0:
        raise PyIMCOMValueError(f"ov must be > 0 [samples per native pixel]; got {ov!r}")
    return ov


def draw_stars(shape, x, y, flux, psf_at: Callable[[float, float], np.ndarray], ov: float) -> np.ndarray:
    """Draw point sources of the given fluxes with GalSim (`gsstar_layer` draws unit fluxes).

    Each star is the `galsim.InterpolatedImage` of ``psf_at(x, y)`` (Lanczos(32), sample scale
    ``1/ov`` native pixel) scaled by its flux, drawn ``method="no_pixel"`` at ``center=(x, y)`` on a
    stamp of half side ``ceil((max(N)/2 + 32)/ov) + 1`` pixels (its whole support) and added.  Stars
    with zero flux or an all-zero PSF are skipped; the FFT step/max k of the first profile are reused.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` [native pixels].
    x, y, flux : array_like, shape (m,)
        Positions [0-based native pixels] and fluxes [units of the PSF sum].
    psf_at : callable
        ``psf_at(x, y) -> ndarray``: the drawing PSF at an image position.
    ov : float
        Oversampling of the PSF array [samples per native pixel], > 0.

    Returns
    -------
    ndarray, shape (ny, nx), float32
    """
    ny, nx = _check_shape(shape)
    ov = _check_ov(ov)
    canvas = galsim.ImageF(galsim.BoundsI(0, nx - 1, 0, ny - 1), scale=1.0)  # 0-based bounds
    force_k = None
    for xk, yk, fk in zip(np.asarray(x, float), np.asarray(y, float), np.asarray(flux, float), strict=True):
        if fk == 0.0:
            continue
        psf = psf_at(float(xk), float(yk))
        prof = _psf_profile(psf, ov, float(xk), float(yk), force_k)
        if prof is None:
            continue
        if force_k is None:
            force_k = (prof.stepk, prof.maxk)
        half = _stamp_half(np.shape(psf), ov)
        ix, iy = int(round(xk)), int(round(yk))
        bounds = galsim.BoundsI(ix - half, ix + half, iy - half, iy + half) & canvas.bounds
        if not bounds.isDefined():
            continue
        (prof * float(fk)).drawImage(
            canvas[bounds], method="no_pixel", center=galsim.PositionD(xk, yk), add_to_image=True
        )
    return canvas.array.astype(np.float32)


def gsstar_layer(
    wcs,
    shape: tuple[int, int],
    resolution_n: int,
    psf_at: Callable[[float, float], np.ndarray],
    ov: float,
):
    """Build the ``gsstar<n>`` layer: unit-flux stars at HEALPix NESTED pixel centres, drawn by GalSim.

    Stars are the `nested_candidates` at ``nside = 2**resolution_n`` with a 16-pixel margin.  For a
    star at ``(x, y)`` the PSF array ``P = psf_at(x, y)`` (oversampled by ``ov``, pixel tophat
    included, centred at ``((N_x-1)/2, (N_y-1)/2)``, sum ≈ 1) becomes a `galsim.InterpolatedImage`
    (sample scale ``1/ov`` native pixel, Lanczos(32) x-interpolant, flux = array sum), drawn with
    ``method="no_pixel"`` at ``center=(x, y)`` onto a square stamp of half side
    ``ceil((max(N)/2 + 32)/ov) + 1`` pixels around ``(round(x), round(y))`` (the full support of
    the interpolated profile), clipped to the image, and added.  A pixel value is thus
    ``ov**2 * Lanczos32(P; ov (X - x) + (N_x-1)/2, ov (Y - y) + (N_y-1)/2)``, the ``cstar``
    formula with another interpolator.  A star whose PSF array is all zero is skipped (GalSim
    cannot build a zero-flux profile); it is still listed in ``sources``.  The FFT step/max k of
    the first star's profile are reused for all later stars (they do not affect real-space
    drawing).

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial (2-axis) WCS of the SCA image, with ``all_pix2world``/``all_world2pix``.
    shape : tuple of int
        Image shape ``(ny, nx)`` [native pixels].
    resolution_n : int
        HEALPix resolution ``n`` (``nside = 2**n``), 0 .. 29.
    psf_at : callable
        ``psf_at(x, y) -> ndarray (N_y, N_x)``: the drawing PSF at an image position [0-based native
        pixels], e.g. ``InputPSF.at`` with the SCA bound; each sample a fraction of the flux.
    ov : float
        Oversampling factor of the drawing PSF (its own, report §1.6) [samples per native pixel],
        > 0.

    Returns
    -------
    image : ndarray, shape (ny, nx), float32
        The layer [fraction of one star's flux per native pixel].
    sources : ndarray, shape (m,), dtype `NEST_SOURCE_DTYPE`
        Every selected star (on the image or within the margin), sorted by NESTED index:
        ``ipix_nest``, ``ra_deg``, ``dec_deg`` [deg], ``x``, ``y`` [0-based native pixels].

    Raises
    ------
    PyIMCOMValueError
        If ``shape``, ``resolution_n`` or ``ov`` is invalid, or ``psf_at`` returns a non-finite or
        non-2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from pyimcom.layers.galsim_stars import gsstar_layer
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [60.0, -4.0]
    >>> w.wcs.crpix = [16.5, 16.5]; w.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    >>> yy, xx = np.mgrid[0:64, 0:64] - 31.5
    >>> psf = np.exp(-(xx**2 + yy**2) / 128.0); psf /= psf.sum()
    >>> img, src = gsstar_layer(w, (32, 32), 17, lambda x, y: psf, 8)
    >>> img.shape, img.dtype, src.dtype.names[0]
    ((32, 32), dtype('float32'), 'ipix_nest')
    """
    ny, nx = _check_shape(shape)
    n = _check_resolution(resolution_n)
    ov = _check_ov(ov)
    ipix, ra, dec, x, y = nested_candidates(2**n, wcs, (ny, nx), GSSTAR_MARGIN_PIX)
    image = draw_stars((ny, nx), x, y, np.ones(len(x)), psf_at, ov)
    sources = np.empty(len(ipix), dtype=NEST_SOURCE_DTYPE)
    for name, col in zip(NEST_SOURCE_DTYPE.names, (ipix, ra, dec, x, y), strict=True):
        sources[name] = col
    return image, sources
