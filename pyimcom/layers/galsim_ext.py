"""GalSim input layers beyond ``gsstar``: ``gstrstar<n>``, ``gsfdstar<n>,A``, ``gsext<n>[,options]``
and ``gsextchrom<n>,<psfdir>[,options]`` (reference layers report §1.3.10-§1.3.13, §1.4.2, §1.5.1, §1.6).

All four place objects at HEALPix NESTED pixel centres (`pyimcom.layers.galsim_stars.nested_candidates`,
``nside = 2**n``) and draw them with GalSim exactly as ``gsstar`` does: the drawing PSF array at the
object's position (``psf_at(x, y)``: oversampled by ``ov``, pixel tophat included, sum ≈ 1) is a
`galsim.InterpolatedImage` with a Lanczos(32) x-interpolant in native-pixel units, rendered with
``method="no_pixel"`` on a canvas with 0-based bounds (a GalSim image coordinate *is* a package
pixel coordinate: 0-based, integer = pixel centre, ``(x, y)`` order, images indexed ``[y, x]``).

* ``gstrstar<n>`` (roll-angle transients): the ``gsstar`` grid (16-pixel margin), but a star is drawn
  only when ``(ipix_nest + s)`` is even, where ``s = 1`` when the image +Y axis points south (the
  declination at the bottom-centre pixel ``((nx-1)/2, 0)`` exceeds the one at the top-centre pixel
  ``((nx-1)/2, ny-1)``), else 0, and ``s`` is flipped for SCAs with ``sca % 3 == 0`` (mounted rotated by
  180 deg).  So even NESTED pixels are visible when WFI +Y points north, odd ones when it points
  south.  Fixes of the reference (§1.3.10 quirk): the parity is that of the star's *own* NESTED index
  (the reference indexed the unfiltered candidate list while looping over the filtered one) and the
  convention is the user documentation's (even ⇔ +Y north).
* ``gsfdstar<n>,A`` (field-dependent flux): the ``gsstar`` grid with star flux ``1 + A r**2/R**2``;
  ``r**2 = xf**2 + yf**2`` with focal-plane coordinates ``xf = SCA_FPA_X_MM[sca-1] + 0.01 (x - c_x)
  SCA_ORIENT[sca-1]`` (``yf`` likewise; ``c = (n-1)/2`` is the image centre, 2043.5 for an SCA),
  ``R = FPA_RADIUS_MM``.
* ``gsext<n>[,options]`` (galaxies): objects within 128 pixels of the image, parameters from
  `pyimcom.layers.galaxy_params` keyed by the NESTED index (so they are the same in every SCA and
  every exposure); see `gsext_layer`.
* ``gsextchrom<n>,<psfdir>[,options]``: `gsext_layer` with the PSF read from ``<psfdir>`` (same file
  layout, format and oversampling as the drawing PSF) -- i.e. the objects and their parameters are
  those of ``gsext`` and only the PSF differs.  Generalised from the reference (§1.3.13 quirk): any
  Legendre order and the format's own normalisation (`pyimcom.io.psf.InputPSF`), not a hard-coded
  4-coefficient anlsim cube.

Differences from the reference besides the quirk fixes: the PSF array is interpolated with the
drawing PSF's *own* oversampling (§1.6 quirk), objects are drawn on stamps sized for each object
instead of fixed 280x280 stamps on a padded canvas, and galaxies are drawn with tighter GalSim
accuracy settings (see `gsext_layer`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import galsim
import numpy as np

from ..errors import PyIMCOMValueError
from ..instrument import FPA_PIXEL_PITCH_MM, FPA_RADIUS_MM, SCA_FPA_X_MM, SCA_FPA_Y_MM, SCA_ORIENT, check_sca
from .galaxy_params import GsextOptions, final_ellipticity, galaxy_params, sky_shape_matrix
from .galsim_stars import (
    GSSTAR_MARGIN_PIX,
    _check_ov,
    _psf_profile,
    _stamp_half,
    draw_stars,
    nested_candidates,
)
from .points import _check_resolution, _check_shape, _finite_float

__all__ = [
    "GSEXT_MARGIN_PIX",
    "GALAXY_TRUNC_HLR",
    "PSF_PAD_FACTOR",
    "PSF_PAD_MIN_PIX",
    "GALAXY_GSPARAMS",
    "STAR_SOURCE_DTYPE",
    "GALAXY_SOURCE_DTYPE",
    "orientation_bit",
    "gstrstar_visible",
    "focal_plane_flux",
    "pixel_jacobian",
    "draw_stars",
    "gstrstar_layer",
    "gsfdstar_layer",
    "gsext_layer",
    "gsextchrom_layer",
]

GSEXT_MARGIN_PIX = 128  # galaxy selection margin around the SCA (report §1.5.1, galaxies) [native pixels]
GALAXY_TRUNC_HLR = 8.0  # Sersic truncation radius [half-light radii]
PSF_PAD_FACTOR = 2.0  # least zero padding of the PSF array for its k-space image (GalSim default 4) [factor]
PSF_PAD_MIN_PIX = 64.0  # least side of the zero-padded PSF array [native pixels]
GALAXY_GSPARAMS = galsim.GSParams(kvalue_accuracy=1e-7)  # galaxy (and galaxy x PSF) GalSim accuracy
_JAC_STEP_PIX = 1.0  # finite-difference step of the pixel Jacobian (taps at ±1, ±3 steps) [native pixels]

STAR_SOURCE_DTYPE = np.dtype(
    [
        ("ipix_nest", np.int64),
        ("ra_deg", np.float64),
        ("dec_deg", np.float64),
        ("x", np.float64),
        ("y", np.float64),
        ("flux", np.float64),
        ("visible", np.bool_),
    ]
)
"""One star of ``gstrstar``/``gsfdstar``: NESTED index, (RA, Dec) [deg], SCA position (x, y) [0-based
pixels], flux [units of a unit star], whether it is drawn (``gstrstar`` on/off state)."""

GALAXY_SOURCE_DTYPE = np.dtype(
    [
        ("ipix_nest", np.int64),
        ("ra_deg", np.float64),
        ("dec_deg", np.float64),
        ("x", np.float64),
        ("y", np.float64),
        ("flux", np.float64),
        ("hlr_arcsec", np.float64),
        ("g1", np.float64),
        ("g2", np.float64),
        ("sersic_n", np.float64),
        ("g1_final", np.float64),
        ("g2_final", np.float64),
    ]
)
"""One galaxy of ``gsext``/``gsextchrom``: NESTED index, (RA, Dec) [deg], SCA position (x, y) [0-based
pixels], total flux (1), half-light radius [arcsec], intrinsic ellipticity (g1, g2), Sersic index,
and the final reduced-shear ellipticity after ``rot=``/``shear=`` (sky frame X = West, Y = North;
`pyimcom.layers.galaxy_params.final_ellipticity`)."""


# ---------------------------------------------------------------------------------------------------
# stars
# ---------------------------------------------------------------------------------------------------


def orientation_bit(wcs, shape: tuple[int, int], sca: int) -> int:
    """Orientation bit ``s`` of ``gstrstar``: 1 when WFI +Y points south, else 0 (report §1.3.10).

    ``s = 1`` if the declination of the bottom-centre pixel ``((nx-1)/2, 0)`` exceeds that of the
    top-centre pixel ``((nx-1)/2, ny-1)`` (the image +Y axis points south), else 0; ``s`` is then
    flipped for SCAs with ``sca % 3 == 0``.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the image (``all_pix2world``).
    shape : tuple of int
        ``(ny, nx)`` [native pixels].
    sca : int
        SCA number, 1 .. 18.

    Returns
    -------
    int
        0 or 1.
    """
    ny, nx = _check_shape(shape)
    sca = check_sca(sca)
    xc = (nx - 1) / 2.0
    _, dec = wcs.all_pix2world(np.array([xc, xc]), np.array([ny - 1.0, 0.0]), 0)
    s = 1 if float(dec[1]) > float(dec[0]) else 0
    return 1 - s if sca % 3 == 0 else s


def gstrstar_visible(ipix_nest, s: int) -> np.ndarray:
    """Whether ``gstrstar`` stars are drawn: ``(ipix_nest + s)`` even (bool array)."""
    return (np.asarray(ipix_nest, dtype=np.int64) + int(s)) % 2 == 0


def focal_plane_flux(x, y, sca: int, amplitude: float, shape: tuple[int, int]) -> np.ndarray:
    """``gsfdstar`` star flux ``1 + A (xf**2 + yf**2) / R**2`` (report §1.3.11).

    ``xf = SCA_FPA_X_MM[sca-1] + FPA_PIXEL_PITCH_MM (x - (nx-1)/2) SCA_ORIENT[sca-1]`` and
    ``yf = SCA_FPA_Y_MM[sca-1] + FPA_PIXEL_PITCH_MM (y - (ny-1)/2) SCA_ORIENT[sca-1]`` [mm],
    ``R = FPA_RADIUS_MM``.

    Parameters
    ----------
    x, y : array_like
        SCA positions [0-based native pixels].
    sca : int
        SCA number, 1 .. 18.
    amplitude : float
        ``A``.
    shape : tuple of int
        ``(ny, nx)`` of the image [native pixels] (centre ``((nx-1)/2, (ny-1)/2)``).

    Returns
    -------
    ndarray, float64

    Examples
    --------
    >>> round(float(focal_plane_flux(2043.5, 2043.5, 1, 0.05, (4088, 4088))), 9)
    1.001397308
    """
    ny, nx = _check_shape(shape)
    k = check_sca(sca) - 1
    a = _finite_float("amplitude", amplitude)
    dx = np.asarray(x, dtype=np.float64) - (nx - 1) / 2.0
    dy = np.asarray(y, dtype=np.float64) - (ny - 1) / 2.0
    xf = SCA_FPA_X_MM[k] + FPA_PIXEL_PITCH_MM * SCA_ORIENT[k] * dx
    yf = SCA_FPA_Y_MM[k] + FPA_PIXEL_PITCH_MM * SCA_ORIENT[k] * dy
    return 1.0 + a * (xf * xf + yf * yf) / FPA_RADIUS_MM**2


def _star_sources(ipix, ra, dec, x, y, flux, visible) -> np.ndarray:
    out = np.empty(len(ipix), dtype=STAR_SOURCE_DTYPE)
    for name, col in zip(STAR_SOURCE_DTYPE.names, (ipix, ra, dec, x, y, flux, visible), strict=True):
        out[name] = col
    return out


def gstrstar_layer(wcs, shape: tuple[int, int], resolution_n: int, sca: int,
                   psf_at: Callable[[float, float], np.ndarray], ov: float):  # fmt: skip
    """Build the ``gstrstar<n>`` layer: the ``gsstar`` grid with stars on/off by roll angle.

    Candidates: `nested_candidates` at ``nside = 2**resolution_n``, 16-pixel margin.  A star is drawn
    (unit flux, as `gsstar_layer`) when ``(ipix_nest + s) % 2 == 0``, ``s = orientation_bit(wcs,
    shape, sca)``.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    shape : tuple of int
        ``(ny, nx)`` [native pixels].
    resolution_n : int
        HEALPix resolution ``n``, 0 .. 29.
    sca : int
        SCA number, 1 .. 18.
    psf_at : callable
        ``psf_at(x, y) -> ndarray``: the drawing PSF at an image position.
    ov : float
        Oversampling of the PSF [samples per native pixel], > 0.

    Returns
    -------
    image : ndarray, shape (ny, nx), float32
    sources : ndarray, dtype `STAR_SOURCE_DTYPE`
        Every candidate (``visible`` tells whether it was drawn), sorted by NESTED index.
    """
    ny, nx = _check_shape(shape)
    n = _check_resolution(resolution_n)
    ov = _check_ov(ov)
    s = orientation_bit(wcs, (ny, nx), sca)
    ipix, ra, dec, x, y = nested_candidates(2**n, wcs, (ny, nx), GSSTAR_MARGIN_PIX)
    visible = gstrstar_visible(ipix, s)
    flux = np.ones(len(ipix))
    image = draw_stars((ny, nx), x[visible], y[visible], flux[visible], psf_at, ov)
    return image, _star_sources(ipix, ra, dec, x, y, flux, visible)


def gsfdstar_layer(wcs, shape: tuple[int, int], resolution_n: int, amplitude: float, sca: int,
                   psf_at: Callable[[float, float], np.ndarray], ov: float):  # fmt: skip
    """Build the ``gsfdstar<n>,A`` layer: the ``gsstar`` grid with flux ``1 + A r**2/R**2``.

    Candidates: `nested_candidates` (16-pixel margin); fluxes from `focal_plane_flux`.

    Parameters
    ----------
    wcs, shape, resolution_n, sca, psf_at, ov
        As `gstrstar_layer`.
    amplitude : float
        ``A``.

    Returns
    -------
    image : ndarray, shape (ny, nx), float32
    sources : ndarray, dtype `STAR_SOURCE_DTYPE`
        Every drawn star with its flux (``visible`` all True), sorted by NESTED index.
    """
    ny, nx = _check_shape(shape)
    n = _check_resolution(resolution_n)
    ov = _check_ov(ov)
    ipix, ra, dec, x, y = nested_candidates(2**n, wcs, (ny, nx), GSSTAR_MARGIN_PIX)
    flux = focal_plane_flux(x, y, sca, amplitude, (ny, nx))
    image = draw_stars((ny, nx), x, y, flux, psf_at, ov)
    return image, _star_sources(ipix, ra, dec, x, y, flux, np.ones(len(ipix), dtype=bool))


# ---------------------------------------------------------------------------------------------------
# galaxies
# ---------------------------------------------------------------------------------------------------


def pixel_jacobian(wcs, x, y, step: float = _JAC_STEP_PIX) -> np.ndarray:
    """Local Jacobian ``d(W, N)/d(x, y)`` of the image WCS [arcsec per native pixel], shape (m, 2, 2).

    ``(W, N)`` is the orthographic projection about the world position ``(ra0, dec0)`` of ``(x, y)``:
    ``W = cos(dec) sin(ra0 - ra)``, ``N = sin(dec) cos(dec0) - cos(dec) sin(dec0) cos(ra0 - ra)``
    (radians, then arcsec) -- West and North, an orthonormal frame at the object.  Derivatives use
    the fourth-order symmetric difference ``f' = [27 (f(+h) - f(-h)) - (f(+3h) - f(-3h))] / (48 h)``
    with ``h = step`` (report §1.3.12 step 4), evaluated with ``wcs.all_pix2world(..., 0)`` (all
    objects in one call).  ``out[k] = [[dW/dx, dW/dy], [dN/dx, dN/dy]]``.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    x, y : array_like, shape (m,)
        Positions [0-based native pixels].
    step : float, optional
        Difference step ``h`` [native pixels], > 0. Default: 1.

    Returns
    -------
    ndarray, shape (m, 2, 2), float64
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    m = x.size
    offs = step * np.array([1.0, -1.0, 3.0, -3.0])
    # sample points: centre, then x offsets, then y offsets
    xs = np.concatenate([x, *(x + o for o in offs), *(x for _ in offs)])
    ys = np.concatenate([y, *(y for _ in offs), *(y + o for o in offs)])
    ra, dec = (np.radians(np.asarray(a, dtype=np.float64)) for a in wcs.all_pix2world(xs, ys, 0))
    ra0, dec0 = ra[:m], dec[:m]
    ra, dec = ra[m:].reshape(8, m), dec[m:].reshape(8, m)
    w = np.cos(dec) * np.sin(ra0 - ra)
    n = np.sin(dec) * np.cos(dec0) - np.cos(dec) * np.sin(dec0) * np.cos(ra0 - ra)
    scale = math.degrees(1.0) * 3600.0 / (48.0 * step)

    def deriv(f, k0):  # rows k0..k0+3 hold f(+h), f(-h), f(+3h), f(-3h)
        return (27.0 * (f[k0] - f[k0 + 1]) - (f[k0 + 2] - f[k0 + 3])) * scale

    jac = np.empty((m, 2, 2))
    jac[:, 0, 0], jac[:, 0, 1] = deriv(w, 0), deriv(w, 4)
    jac[:, 1, 0], jac[:, 1, 1] = deriv(n, 0), deriv(n, 4)
    return jac


def _galaxy_stamp_half(hlr_arcsec: float, amat: np.ndarray, psf_half: int) -> int:
    """Half side of a galaxy stamp [native pixels] (see `gsext_layer`)."""
    smax = float(np.linalg.norm(amat, 2))  # largest stretch of the sky -> pixel map [px per arcsec]
    return int(math.ceil(GALAXY_TRUNC_HLR * hlr_arcsec * smax)) + psf_half + 1


def gsext_layer(wcs, shape: tuple[int, int], resolution_n: int, opts: GsextOptions,
                psf_at: Callable[[float, float], np.ndarray], ov: float):  # fmt: skip
    """Build the ``gsext<n>[,options]`` layer: unit-flux Sersic galaxies at HEALPix NESTED centres.

    1. Objects: `nested_candidates` at ``nside = 2**resolution_n`` with a 128-pixel margin.
    2. Parameters: `pyimcom.layers.galaxy_params.galaxy_params` keyed by the NESTED index (seed,
       overrides ``n=``, ``hlr=``, ``shape=`` from ``opts``).
    3. Sky-frame profile (arcsec, X = West, Y = North): ``Sersic(n, half_light_radius=hlr,
       trunc=8 hlr)`` with unit flux, mapped by ``M = sky_shape_matrix(g1, g2, opts)`` (``J_s R J_g``).
    4. Pixel frame: the local Jacobian ``J = pixel_jacobian(wcs, x, y)`` (``d(W,N)/d(x,y)``, arcsec
       per pixel, from a 4-point finite difference of the WCS about the object) gives the map
       ``A = J^-1 M`` from the round profile to pixel offsets; the profile is transformed by ``A``
       and renormalised to unit flux (``|det J|`` surface-brightness factor).
    5. PSF: the drawing PSF at ``(x, y)`` as a Lanczos(32) `galsim.InterpolatedImage` (as
       ``gsstar``; FFT step/max k of the first PSF forced on the others); the galaxy is convolved with
       it and drawn ``method="no_pixel"`` at ``center=(x, y)`` (GalSim draws the convolution by FFT),
       added to the image.  For its k-space image the PSF array is zero-padded by a factor
       ``max(2, 64 ov / N)`` (GalSim's default is 4): the padded array spans at least 64 native
       pixels, which keeps the k-space interpolation accurate (second moments of a galaxy within
       ~1e-5 px^2 of the exact ones for 280x280 arrays at ov = 8), while a galaxy costs ~3 times
       less than with padding 4 for such arrays.  The Sersic profile uses
       ``GSParams(kvalue_accuracy=1e-7)`` (default 1e-5): with the default, its tabulated Fourier
       transform biases the drawn second moments by ~1e-3 px^2 (~1.5e-5 arcsec^2); with 1e-7 the
       bias is ~2e-5 px^2, for a modest cost.

    Stamp rule: a square of half side ``ceil(8 hlr ||A||_2) + h_psf + 1`` pixels around
    ``(round(x), round(y))``, clipped to the image, where ``||A||_2`` is the largest stretch of the
    sky-to-pixel map [pixels per arcsec] (so the truncated profile's major axis fits) and
    ``h_psf = ceil((max(N)/2 + 32)/ov) + 1`` is the PSF support used by ``gsstar``.  The stamp thus
    holds the whole support of galaxy ⊗ PSF (the reference uses a fixed 280x280 stamp; the drawn
    values are the same, the sub-image only bounds where they are written).

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the image (``all_pix2world``/``all_world2pix``).
    shape : tuple of int
        ``(ny, nx)`` [native pixels].
    resolution_n : int
        HEALPix resolution ``n`` (``nside = 2**n``), 0 .. 29.
    opts : GsextOptions
        Recipe options.
    psf_at : callable
        ``psf_at(x, y) -> ndarray``: the drawing PSF at an image position (oversampled by ``ov``,
        pixel tophat included, centred at the array centre, sum ≈ 1).
    ov : float
        Oversampling of the PSF [samples per native pixel], > 0.

    Returns
    -------
    image : ndarray, shape (ny, nx), float32
        The layer [fraction of one galaxy's flux per native pixel].
    sources : ndarray, dtype `GALAXY_SOURCE_DTYPE`
        Every selected galaxy (sorted by NESTED index) with its parameters.

    Raises
    ------
    PyIMCOMValueError
        If an argument is invalid or ``psf_at`` returns a non-finite or non-2-D array.
    """
    ny, nx = _check_shape(shape)
    n = _check_resolution(resolution_n)
    ov = _check_ov(ov)
    if not isinstance(opts, GsextOptions):
        raise PyIMCOMValueError(f"opts must be a GsextOptions; got {type(opts).__name__}")
    ipix, ra, dec, x, y = nested_candidates(2**n, wcs, (ny, nx), GSEXT_MARGIN_PIX)
    params = galaxy_params(n, ipix, opts)
    shape_m = sky_shape_matrix(params["g1"], params["g2"], opts)
    amats = np.linalg.solve(pixel_jacobian(wcs, x, y), shape_m) if len(ipix) else np.empty((0, 2, 2))
    canvas = galsim.ImageF(galsim.BoundsI(0, nx - 1, 0, ny - 1), scale=1.0)  # 0-based bounds
    force_k = None
    for k in range(len(ipix)):
        xk, yk = float(x[k]), float(y[k])
        psf = psf_at(xk, yk)
        pad = max(PSF_PAD_FACTOR, PSF_PAD_MIN_PIX * ov / min(np.shape(psf)))
        psf_prof = _psf_profile(psf, ov, xk, yk, force_k, pad_factor=pad)
        if psf_prof is None:
            continue
        if force_k is None:
            force_k = (psf_prof.stepk, psf_prof.maxk)
        hlr = float(params["hlr_arcsec"][k])
        half = _galaxy_stamp_half(hlr, amats[k], _stamp_half(np.shape(psf), ov))
        ix, iy = int(round(xk)), int(round(yk))
        bounds = galsim.BoundsI(ix - half, ix + half, iy - half, iy + half) & canvas.bounds
        if not bounds.isDefined():
            continue
        a = amats[k]
        gal = galsim.Sersic(
            float(params["sersic_n"][k]),
            half_light_radius=hlr,
            trunc=GALAXY_TRUNC_HLR * hlr,
            gsparams=GALAXY_GSPARAMS,
        )
        gal = gal.transform(a[0, 0], a[0, 1], a[1, 0], a[1, 1]).withFlux(1.0)
        galsim.Convolve(gal, psf_prof).drawImage(
            canvas[bounds], method="no_pixel", center=galsim.PositionD(xk, yk), add_to_image=True
        )
    g1f, g2f = final_ellipticity(params, opts)
    sources = np.empty(len(ipix), dtype=GALAXY_SOURCE_DTYPE)
    cols = {"ipix_nest": ipix, "ra_deg": ra, "dec_deg": dec, "x": x, "y": y, "flux": 1.0, "g1_final": g1f,
            "g2_final": g2f}  # fmt: skip
    for name in GALAXY_SOURCE_DTYPE.names:
        sources[name] = cols[name] if name in cols else params[name]
    return canvas.array.astype(np.float32), sources


def gsextchrom_layer(wcs, shape: tuple[int, int], resolution_n: int, opts: GsextOptions,
                     psf_at: Callable[[float, float], np.ndarray], ov: float):  # fmt: skip
    """Build the ``gsextchrom<n>,<psfdir>[,options]`` layer: `gsext_layer` drawn with another PSF.

    ``psf_at`` evaluates the PSF of ``<psfdir>`` (e.g. ``InputPSF(psf_path(psfdir, fmt, obsid), fmt,
    ov, shape).at`` with the drawing PSF's format and oversampling, any Legendre order); objects,
    parameters and drawing are those of `gsext_layer`, so the layer differs from ``gsext`` with the
    same options only through the PSF.  Arguments and return values as `gsext_layer`.
    """
    return gsext_layer(wcs, shape, resolution_n, opts, psf_at, ov)
