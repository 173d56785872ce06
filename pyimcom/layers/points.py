"""Internal point-source input layers: ``cstar<n>`` and ``nstar<n>,f,b,q``.

``cstar<n>`` places a unit-flux star at the centre of every HEALPix pixel (resolution ``n``,
``nside = 2**n``, RING ordering) within an angular radius of the SCA centre, and draws each one by
interpolating the pixel-convolved drawing PSF at the native pixel centres (reference layers report
§1.3.7, §1.5.2).  ``nstar<n>,f,b,q`` scales that image to ``f`` electrons per star, adds a sky of
``b`` electrons per pixel, draws Poisson noise and subtracts the mean sky (§1.3.8, §1.4.1).

Pixel positions follow the package pixel contract (see `pyimcom.wcs`): 0-based, an integer value is
a pixel centre, coordinates are ordered ``(x, y)`` and images are indexed ``[y, x]``.  Image values
are in electrons (``cstar``: fraction of one star's flux per native pixel).

Difference from the reference (§1.6 quirk, not copied): the PSF array is interpolated with the
drawing PSF's *own* oversampling factor ``ov``, also when it differs from the coadd PSF's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import healpy as hp
import numpy as np

from ..errors import PyIMCOMValueError
from ..instrument import PIXSCALE_ARCSEC
from ..interp import interpolate_points
from .noise import noise_seed

__all__ = [
    "DRAW_BOX_HALF",
    "PSF_PAD",
    "SOURCE_DTYPE",
    "ring_candidates",
    "draw_point_sources",
    "cstar_layer",
    "nstar_layer",
]

DRAW_BOX_HALF = 64  # half side of the drawing box around each star [native pixels]
PSF_PAD = 6  # zero padding added on each side of the PSF array before interpolation [samples]
_RING_MARGIN = 3  # extra colatitude margin of the candidate band, in units of 1/nside [rad]
_PHI_MARGIN_PIX = 2  # azimuth margin of the per-ring pre-filter [HEALPix pixels of the ring]
_MAX_RESOLUTION = 29  # healpy supports nside up to 2**29

SOURCE_DTYPE = np.dtype(
    [
        ("ipix_ring", np.int64),
        ("ra_deg", np.float64),
        ("dec_deg", np.float64),
        ("x", np.float64),
        ("y", np.float64),
    ]
)
"""Record of one drawn star: RING index, (RA, Dec) [deg], SCA position (x, y) [0-based pixels]."""


def _finite_float(name: str, value) -> float:
    """``value`` as a float; raises unless it is a finite real number."""
    if isinstance(value, bool):
        raise PyIMCOMValueError(f"{name} must be a finite real number; got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PyIMCOMValueError(f"{name} must be a finite real number; got {value!r}") from None
    if not math.isfinite(out):
        raise PyIMCOMValueError(f"{name} must be a finite real number; got {value!r}")
    return out


def _check_resolution(resolution_n) -> int:
    """HEALPix resolution as an int in 0..29; raises otherwise."""
    if isinstance(resolution_n, bool) or not isinstance(resolution_n, (int, np.integer)):
        raise PyIMCOMValueError(
            f"resolution_n must be an integer in 0..{_MAX_RESOLUTION}; got {resolution_n!r}"
        )
    if not 0 <= resolution_n <= _MAX_RESOLUTION:
        raise PyIMCOMValueError(
            f"resolution_n must be an integer in 0..{_MAX_RESOLUTION}; got {resolution_n!r}"
        )
    return int(resolution_n)


def _ring_of_pixel(nside: int, ipix: int) -> int:
    """1-based RING ring number of RING pixel ``ipix`` (analytic guess, corrected with `ringinfo`)."""
    theta, _ = hp.pix2ang(nside, ipix)
    z = math.cos(theta)
    if z > 2.0 / 3.0:
        guess = nside * math.sqrt(3.0 * (1.0 - z))
    elif z < -2.0 / 3.0:
        guess = 4 * nside - nside * math.sqrt(3.0 * (1.0 + z))
    else:
        guess = nside * (2.0 - 1.5 * z)
    ring = min(max(int(round(guess)), 1), 4 * nside - 1)
    while True:
        start, npix_ring = (int(a[0]) for a in hp.ringinfo(nside, np.array([ring]))[:2])
        if ipix < start:
            ring -= 1
        elif ipix >= start + npix_ring:
            ring += 1
        else:
            return ring


def _ring_window(nside, ring, cos_r, cos_tc, sin_tc, phi_c, first, last):
    """RING indices of one ring that may lie within the disc (azimuth pre-filter), clipped to range."""
    start, npix_ring, cos_t, sin_t, shifted = (a[0] for a in hp.ringinfo(nside, np.array([ring])))
    start, npix_ring = int(start), int(npix_ring)
    denom = sin_t * sin_tc
    c = (cos_r - cos_t * cos_tc) / denom if denom > 1e-300 else -2.0
    if c > 1.0 + 1e-9:
        return np.empty(0, dtype=np.int64)
    dphi = 2.0 * np.pi / npix_ring
    half = math.acos(min(max(c, -1.0), 1.0)) / dphi + _PHI_MARGIN_PIX
    if 2 * half + 1 >= npix_ring:
        j = np.arange(npix_ring, dtype=np.int64)
    else:
        j_c = phi_c / dphi - 0.5 * bool(shifted)
        j = np.arange(math.floor(j_c - half), math.ceil(j_c + half) + 1, dtype=np.int64) % npix_ring
    ipix = start + np.unique(j)
    return ipix[(ipix >= first) & (ipix <= last)]


def ring_candidates(nside_hp: int, ra_deg: float, dec_deg: float, radius_rad: float):
    """HEALPix RING pixels whose centres lie within ``radius_rad`` of a sky position.

    Reference selection (report §1.5.2): the candidates are the contiguous RING index range from
    the pixel containing ``(ra, dec + r_ext)`` to the pixel containing ``(ra, dec - r_ext)``, with
    ``r_ext = radius_rad + 3/nside_hp`` [rad] (declinations clipped to +-90 deg); a candidate is
    kept when the angular distance of its centre from ``(ra, dec)`` is ``<= radius_rad``.  To keep
    the cost independent of the ring length, the range is scanned ring by ring and only an azimuth
    window of each ring (wider by 2 pixels than the disc chord) is tested; this drops only pixels
    that fail the distance cut, so the result is the reference one.  It equals
    ``healpy.query_disc(nside_hp, vec, radius_rad, inclusive=False, nest=False)`` except possibly
    for pixels whose centre lies on the circle to rounding precision.

    Parameters
    ----------
    nside_hp : int
        HEALPix ``nside`` (a power of 2, 1 .. 2**29).
    ra_deg, dec_deg : float
        Centre of the disc [deg]; ``dec_deg`` in [-90, 90].
    radius_rad : float
        Disc radius [rad], in [0, pi].

    Returns
    -------
    ipix_ring : ndarray, shape (n,), int64
        RING indices, increasing.
    ra_deg : ndarray, shape (n,), float64
        Right ascensions of the pixel centres [deg], from ``healpy.pix2ang(..., lonlat=True)``.
    dec_deg : ndarray, shape (n,), float64
        Declinations of the pixel centres [deg].

    Raises
    ------
    PyIMCOMValueError
        If ``nside_hp`` is not a power of 2 in range, or a coordinate or the radius is not finite or
        out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.layers.points import ring_candidates
    >>> ipix, ra, dec = ring_candidates(64, 60.0, -4.0, np.radians(2.0))
    >>> len(ipix) > 0, bool(np.all(np.diff(ipix) > 0))
    (True, True)
    """
    if (
        isinstance(nside_hp, bool)
        or not isinstance(nside_hp, (int, np.integer))
        or not hp.isnsideok(nside_hp, nest=True)
    ):
        raise PyIMCOMValueError(f"nside_hp must be a power of 2 in 1..2**29; got {nside_hp!r}")
    nside = int(nside_hp)
    ra_deg = _finite_float("ra_deg", ra_deg)
    dec_deg = _finite_float("dec_deg", dec_deg)
    radius_rad = _finite_float("radius_rad", radius_rad)
    if not -90.0 <= dec_deg <= 90.0:
        raise PyIMCOMValueError(f"dec_deg must be in [-90, 90] deg; got {dec_deg!r}")
    if not 0.0 <= radius_rad <= np.pi:
        raise PyIMCOMValueError(f"radius_rad must be in [0, pi] rad; got {radius_rad!r}")
    r_ext_deg = math.degrees(radius_rad + _RING_MARGIN / nside)
    first = int(hp.ang2pix(nside, ra_deg, min(dec_deg + r_ext_deg, 90.0), lonlat=True))
    last = int(hp.ang2pix(nside, ra_deg, max(dec_deg - r_ext_deg, -90.0), lonlat=True))
    theta_c = math.radians(90.0 - dec_deg)
    phi_c = math.radians(ra_deg) % (2.0 * np.pi)
    args = (math.cos(radius_rad), math.cos(theta_c), math.sin(theta_c), phi_c, first, last)
    rings = range(_ring_of_pixel(nside, first), _ring_of_pixel(nside, last) + 1)
    chunks = [_ring_window(nside, ring, *args) for ring in rings]
    ipix = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)
    ra_all, dec_all = hp.pix2ang(nside, ipix, lonlat=True)
    vec_c = hp.ang2vec(ra_deg, dec_deg, lonlat=True)
    vec = np.asarray(hp.ang2vec(ra_all, dec_all, lonlat=True)).reshape(-1, 3)
    dist = np.arctan2(np.linalg.norm(np.cross(vec, vec_c), axis=1), vec @ vec_c)
    keep = dist <= radius_rad
    return ipix[keep].astype(np.int64), ra_all[keep], dec_all[keep]


def _box(center, size, box_half):
    """Half-open drawing range ``max(0, int(c) - h) .. min(size, int(c) + h)`` (int truncates)."""
    i = int(center)
    return max(0, i - box_half), min(size, i + box_half)


def _check_positions(x, y):
    """``x``, ``y`` as 1-D finite float64 arrays of equal length; raises otherwise."""
    x_arr = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y_arr = np.atleast_1d(np.asarray(y, dtype=np.float64))
    if x_arr.ndim != 1 or x_arr.shape != y_arr.shape:
        raise PyIMCOMValueError(
            f"x and y must be 1-D with the same length; got shapes {x_arr.shape}, {y_arr.shape}"
        )
    if not (np.all(np.isfinite(x_arr)) and np.all(np.isfinite(y_arr))):
        raise PyIMCOMValueError("x and y must be finite [0-based pixels]; got NaN or infinite values")
    return x_arr, y_arr


def _check_shape(shape):
    """``(ny, nx)`` as positive ints; raises otherwise."""
    try:
        ny, nx = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise PyIMCOMValueError(f"shape must be (ny, nx) of positive integers; got {shape!r}") from None
    if ny < 1 or nx < 1:
        raise PyIMCOMValueError(f"shape must be (ny, nx) of positive integers; got {shape!r}")
    return ny, nx


def _support(lo, hi, center, ov, c_pad, n_pad):
    """Sub-range of ``lo .. hi`` (half open) where a D5512 tap window fits in ``n_pad`` samples.

    Outside it `interpolate_points` returns exactly 0 (taps ``floor(u) - 4 .. floor(u) + 5`` must
    lie in ``0 .. n_pad - 1``), so trimming the box to it (with a 1-pixel margin) changes nothing.
    """
    u_lo, u_hi = 4.0 - c_pad, n_pad - 5.0 - c_pad  # valid u - c_pad in [u_lo, u_hi)
    return max(lo, math.floor(center + u_lo / ov) - 1), min(hi, math.ceil(center + u_hi / ov) + 1)


def _draw_one(image, x, y, psf, ov, box_half):
    """Add one star at (x, y) into ``image`` (float64, modified in place)."""
    ny, nx = image.shape
    psf = np.asarray(psf, dtype=np.float64)
    if psf.ndim != 2 or not np.all(np.isfinite(psf)):
        raise PyIMCOMValueError(f"psf_at must return a finite 2-D array; got shape {psf.shape} at ({x}, {y})")
    padded = np.pad(psf, PSF_PAD)
    ny_p, nx_p = psf.shape
    cx_pad, cy_pad = (nx_p - 1) / 2.0 + PSF_PAD, (ny_p - 1) / 2.0 + PSF_PAD
    ix0, ix1 = _support(*_box(x, nx, box_half), x, ov, cx_pad, padded.shape[1])
    iy0, iy1 = _support(*_box(y, ny, box_half), y, ov, cy_pad, padded.shape[0])
    if ix0 >= ix1 or iy0 >= iy1:
        return
    uu, vv = np.meshgrid(ov * (np.arange(ix0, ix1) - x) + cx_pad, ov * (np.arange(iy0, iy1) - y) + cy_pad)
    image[iy0:iy1, ix0:ix1] += ov**2 * interpolate_points(padded, uu, vv, kernel="D5512")


def draw_point_sources(
    shape: tuple[int, int],
    x,
    y,
    psf_at: Callable[[float, float], np.ndarray],
    ov: float,
    box_half: int = DRAW_BOX_HALF,
) -> np.ndarray:
    """Draw unit-flux point sources by interpolating an oversampled pixel-convolved PSF.

    For a star at ``(x, y)`` the PSF array ``P = psf_at(x, y)`` (shape ``(N_y, N_x)``, centred at
    ``((N_x - 1)/2, (N_y - 1)/2)``) is zero-padded by 6 samples on each side and, for every pixel
    ``(X, Y)`` of the box ``max(0, int(x) - box_half) <= X < min(nx, int(x) + box_half)`` (rows
    likewise; ``int`` truncates toward zero), ``ov**2 * D5512(P_pad; ov (X - x) + (N_x - 1)/2 + 6,
    ov (Y - y) + (N_y - 1)/2 + 6)`` is added to the image (report §1.3.7).  Interpolation points
    whose taps leave the padded array give 0; the box is therefore trimmed to the PSF support
    before interpolating (same result, less work).  Stars whose box misses the image are skipped (their
    PSF is not evaluated); stars centred off the image still add their wings.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(ny, nx)`` [native pixels].
    x, y : array_like, shape (n,), float
        Star positions [0-based native pixels] (pixel contract of `pyimcom.wcs`).
    psf_at : callable
        ``psf_at(x, y) -> ndarray (N_y, N_x)``: the drawing PSF at a position, oversampled by
        ``ov``, pixel tophat included, each sample a fraction of the flux (sum ≈ 1).
    ov : float
        Oversampling factor of the PSF array [samples per native pixel], > 0.
    box_half : int, optional
        Half side of the drawing box [native pixels], >= 1.  Default: 64.

    Returns
    -------
    image : ndarray, shape (ny, nx), float32
        Sum of the drawn stars [fraction of one star's flux per native pixel].

    Raises
    ------
    PyIMCOMValueError
        If ``shape``, ``x``/``y``, ``ov`` or ``box_half`` is invalid, or ``psf_at`` returns a
        non-finite or non-2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.layers.points import draw_point_sources
    >>> yy, xx = np.mgrid[0:64, 0:64] - 31.5
    >>> psf = np.exp(-(xx**2 + yy**2) / (2 * 8.0**2)); psf /= psf.sum()
    >>> img = draw_point_sources((32, 32), [15.3], [16.7], lambda x, y: psf, 8)
    >>> img.dtype, round(float(img.sum()), 3)
    (dtype('float32'), 1.0)
    """
    ny, nx = _check_shape(shape)
    x_arr, y_arr = _check_positions(x, y)
    ov = _finite_float("ov", ov)
    if ov <= 0:
        raise PyIMCOMValueError(f"ov must be > 0 [samples per native pixel]; got {ov!r}")
    if isinstance(box_half, bool) or not isinstance(box_half, (int, np.integer)) or box_half < 1:
        raise PyIMCOMValueError(f"box_half must be an integer >= 1 [native pixels]; got {box_half!r}")
    image = np.zeros((ny, nx), dtype=np.float64)
    for xk, yk in zip(x_arr, y_arr, strict=True):
        ix0, ix1 = _box(xk, nx, box_half)
        iy0, iy1 = _box(yk, ny, box_half)
        if ix0 < ix1 and iy0 < iy1:
            _draw_one(image, float(xk), float(yk), psf_at(float(xk), float(yk)), ov, int(box_half))
    return image.astype(np.float32)


def cstar_layer(
    wcs,
    shape: tuple[int, int],
    resolution_n: int,
    psf_at: Callable[[float, float], np.ndarray],
    ov: float,
    radius_arcsec: float | None = None,
):
    """Build the ``cstar<n>`` layer: unit-flux stars at HEALPix RING pixel centres.

    The disc is centred on the world position of the image centre ``((nx-1)/2, (ny-1)/2)``; the
    stars are `ring_candidates` at ``nside = 2**resolution_n``, placed with
    ``wcs.all_world2pix(ra, dec, 0)`` and drawn with `draw_point_sources` (box half side 64 px).
    There is no pixel-coordinate cut: any star whose box overlaps the image contributes.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial (2-axis) WCS of the SCA image, with ``all_pix2world``/``all_world2pix``.
    shape : tuple of int
        Image shape ``(ny, nx)`` [native pixels].
    resolution_n : int
        HEALPix resolution ``n`` (``nside = 2**n``), 0 .. 29.
    psf_at : callable
        ``psf_at(x, y) -> ndarray``: the drawing PSF at an SCA position (see `draw_point_sources`).
    ov : float
        Oversampling factor of the drawing PSF [samples per native pixel], > 0.
    radius_arcsec : float, optional
        Selection radius around the image centre [arcsec], > 0.  Default: the image side length
        ``nx * PIXSCALE_ARCSEC`` (the reference's 449.7 arcsec for a 4088-px SCA), at least the
        half-diagonal plus the 64-px drawing box (``(nx / sqrt(2) + 66) * PIXSCALE_ARCSEC``) so
        small simulated SCAs get every star whose box overlaps them, and no far-off star whose
        position a distorted WCS cannot invert.

    Returns
    -------
    image : ndarray, shape (ny, nx), float32
        The layer [fraction of one star's flux per native pixel].
    sources : ndarray, shape (m,), dtype `SOURCE_DTYPE`
        The drawn stars (box overlapping the image): ``ipix_ring``, ``ra_deg``, ``dec_deg`` [deg],
        ``x``, ``y`` [0-based native pixels].

    Raises
    ------
    PyIMCOMValueError
        If an argument is invalid (see `ring_candidates` and `draw_point_sources`).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from pyimcom.layers.points import cstar_layer
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [60.0, -4.0]
    >>> w.wcs.crpix = [16.5, 16.5]; w.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    >>> yy, xx = np.mgrid[0:64, 0:64] - 31.5
    >>> psf = np.exp(-(xx**2 + yy**2) / 32.0); psf /= psf.sum()
    >>> img, src = cstar_layer(w, (32, 32), 16, lambda x, y: psf, 8, radius_arcsec=10.0)
    >>> img.shape, len(src) > 0
    ((32, 32), True)
    """
    ny, nx = _check_shape(shape)
    n = _check_resolution(resolution_n)
    if radius_arcsec is None:
        radius_arcsec = max(float(nx), nx / math.sqrt(2.0) + 66.0) * PIXSCALE_ARCSEC
    radius_arcsec = _finite_float("radius_arcsec", radius_arcsec)
    if radius_arcsec <= 0:
        raise PyIMCOMValueError(f"radius_arcsec must be > 0 [arcsec]; got {radius_arcsec!r}")
    radius_rad = math.radians(radius_arcsec / 3600.0)
    ra_c, dec_c = wcs.all_pix2world((nx - 1) / 2.0, (ny - 1) / 2.0, 0)
    ipix, ra, dec = ring_candidates(2**n, float(ra_c), float(dec_c), radius_rad)
    x, y = (np.asarray(a, dtype=np.float64) for a in wcs.all_world2pix(ra, dec, 0))
    drawn = np.zeros(len(ipix), dtype=bool)
    for k in range(len(ipix)):
        ix0, ix1 = _box(x[k], nx, DRAW_BOX_HALF)
        iy0, iy1 = _box(y[k], ny, DRAW_BOX_HALF)
        drawn[k] = ix0 < ix1 and iy0 < iy1
    image = draw_point_sources((ny, nx), x[drawn], y[drawn], psf_at, ov)
    sources = np.empty(int(drawn.sum()), dtype=SOURCE_DTYPE)
    for name, col in zip(SOURCE_DTYPE.names, (ipix, ra, dec, x, y), strict=True):
        sources[name] = col[drawn]
    return image, sources


def nstar_layer(cstar_image, flux_e: float, sky_e: float, obsid: int, sca: int, q: int) -> np.ndarray:
    """Build the ``nstar<n>,f,b,q`` layer: stars of ``f`` electrons with Poisson noise, sky removed.

    With ``B = cstar_image``: ``lam = f B + b``, ``lam_c = max(lam, 0)`` (negative PSF wings of
    empirical PSFs), ``rng = numpy.random.default_rng(noise_seed(obsid, sca, q))`` and the layer is
    ``rng.poisson(lam_c) - lam_c + lam - b`` (report §1.3.8); for ``lam >= 0`` this is
    ``Poisson(lam) - b``.  The mean is ``f B`` and the variance ``f B + b``.

    The seed is the one of ``whitenoise<q>`` and ``1fnoise<q>``: layers with the same ``q`` have
    statistically dependent realisations.  This reference quirk is kept for bit compatibility; use
    distinct ``q`` values for independent layers.

    Parameters
    ----------
    cstar_image : array_like, shape (ny, nx), float
        The ``cstar<n>`` image [fraction of one star's flux per native pixel].
    flux_e : float
        Total flux of each star [electrons].
    sky_e : float
        Sky background [electrons per native pixel].
    obsid : int
        Observation ID, >= 0.
    sca : int
        SCA number, 1 .. 18.
    q : int
        Realisation index, >= 0.

    Returns
    -------
    ndarray, shape (ny, nx), float32
        Noisy star image with the mean sky subtracted [electrons per native pixel].

    Raises
    ------
    PyIMCOMValueError
        If ``cstar_image`` is not a finite 2-D array, a flux is not finite, or ``obsid``, ``sca``
        or ``q`` is out of range (see `noise_seed`).

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.layers.points import nstar_layer
    >>> img = nstar_layer(np.zeros((4, 4)), 2e5, 86.0, obsid=1, sca=3, q=0)
    >>> img.shape, img.dtype
    ((4, 4), dtype('float32'))
    """
    image = np.asarray(cstar_image, dtype=np.float64)
    if image.ndim != 2 or not np.all(np.isfinite(image)):
        raise PyIMCOMValueError(f"cstar_image must be a finite 2-D array; got shape {image.shape}")
    flux_e = _finite_float("flux_e", flux_e)
    sky_e = _finite_float("sky_e", sky_e)
    rng = np.random.default_rng(noise_seed(obsid, sca, q))
    lam = flux_e * image + sky_e
    lam_c = np.maximum(lam, 0.0)
    return (rng.poisson(lam_c) - lam_c + lam - sky_e).astype(np.float32)
