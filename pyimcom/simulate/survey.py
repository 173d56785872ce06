"""Layout of the synthetic survey: exposures, pointings, SCA WCSs and which SCAs see the target.

Everything here is a pure function of `SurveySettings` and the `TargetArea`; no pixels are made, so
the workflow can list the simulator's output files before it runs.

SCA pixel -> sky model (the truth of the simulation; core §2.2 conventions):  SCA ``k`` of a pointing
is centred at WFI field angles ``(X_k, Y_k)`` (`pyimcom.instrument`), its pixel axes are parallel to
the field axes with sign ``SCA_ORIENT[k]`` (so the sky parity is the same for every SCA), and its WCS
is a gnomonic (TAN) projection about the sky position of the SCA centre with the nominal pixel scale,
plus a small quadratic SIP distortion drawn per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..footprint import count_pixels_in_box
from ..geometry import MosaicGeometry
from ..instrument import (
    N_SCA,
    PIXSCALE_DEG,
    SCA_FIELD_X_DEG,
    SCA_FIELD_Y_DEG,
    SCA_NSIDE,
    SCA_ORIENT,
    filter_name,
)
from ..pointing import field_to_sky, sky_to_field

__all__ = ["SurveySettings", "TargetArea", "Exposure", "SurveyLayout", "plan_survey", "sca_header"]

# Sub-streams of the simulation's random numbers, combined with (seed, obsid, sca).
STREAM_POINTING, STREAM_SIP, STREAM_PSF, STREAM_NOISE, STREAM_LAB, STREAM_CATALOG = range(6)


@dataclass(frozen=True)
class SurveySettings:
    """Settings of the synthetic survey.

    Parameters
    ----------
    seed : int
        Master random seed. Default: 1.
    n_passes : int
        Passes over the field at different roll angles. Default: 3.
    dithers_per_pass : int
        Exposures per pass, dithered. Default: 2.
    sca_nside : int
        Pixels per SCA side. Default: 4088 (Roman).
    psf_nside_os : int
        Side of the PSF arrays [oversampled pixels]. Default: 256.
    ov : int
        PSF oversampling factor. Default: 8.
    exptime_s : float
        Exposure time [s]. Default: 139.8.
    sky_rate_e_s : float
        Sky background [electrons / s / pixel]. Default: 0.5.
    read_noise_e : float
        Read noise [electrons / pixel]. Default: 15.
    star_density_arcmin2 : float
        Stars per square arcminute. Default: 100.
    galaxy_density_arcmin2 : float
        Galaxies per square arcminute. Default: 300.
    object_margin_arcsec : float
        Objects are placed over the target area grown by this margin [arcsec]. Default: 20.
    sip_max_px : float
        Typical SIP distortion at the SCA corners [pixels]. Default: 0.3.
    aberration_waves : float
        Typical low-order aberration of the optics [waves]; 0 gives symmetric PSFs. Default: 0.04.
    start_mjd : float
        Date of the first exposure [MJD]. Default: 61541.0.
    """

    seed: int = 1
    n_passes: int = 3
    dithers_per_pass: int = 2
    sca_nside: int = SCA_NSIDE
    psf_nside_os: int = 256
    ov: int = 8
    exptime_s: float = 139.8
    sky_rate_e_s: float = 0.5
    read_noise_e: float = 15.0
    star_density_arcmin2: float = 100.0
    galaxy_density_arcmin2: float = 300.0
    object_margin_arcsec: float = 20.0
    sip_max_px: float = 0.3
    aberration_waves: float = 0.04
    start_mjd: float = 61541.0

    def rng(self, stream: int, *keys: int) -> np.random.Generator:
        """Independent PCG64 generator for a purpose (``stream``) and keys such as (obsid, sca)."""
        return np.random.default_rng([self.seed, stream, *keys])


@dataclass(frozen=True)
class TargetArea:
    """The area the survey must cover: the whole mosaic grown by the input-acceptance margin.

    Parameters
    ----------
    geometry : MosaicGeometry
        Mosaic geometry (projection, blocks).
    margin_out_px : float
        Acceptance margin around the mosaic, in output pixels (``INPAD / dθ``).
    filter_code : int
        Filter of the survey (``FILTER``).
    """

    geometry: MosaicGeometry
    margin_out_px: float
    filter_code: int

    def out_wcs(self) -> WCS:
        """WCS of block (0, 0); every block shares its projection, so it spans the whole mosaic."""
        return self.geometry.block_wcs(0, 0)

    def box(self, extra_out_px: float = 0.0) -> tuple[float, float, float, float]:
        """Closed rectangle ``(x_lo, x_hi, y_lo, y_hi)`` of the mosaic in block (0, 0) pixel coordinates."""
        lay, nb = self.geometry.layout, self.geometry.nblock
        m = self.margin_out_px + extra_out_px
        hi = (nb - 1) * lay.nside_px + lay.nside_padded_px - 0.5 + m
        return (-0.5 - m, hi, -0.5 - m, hi)

    def half_width_deg(self) -> float:
        """Half the side of the target rectangle [deg]."""
        x_lo, x_hi, _, _ = self.box()
        return 0.5 * (x_hi - x_lo) * self.geometry.dtheta_deg

    def center_sky(self) -> tuple[float, float]:
        """Sky position (RA, Dec) of the centre of the target rectangle [deg]."""
        x_lo, x_hi, y_lo, y_hi = self.box()
        ra, dec = self.out_wcs().all_pix2world([[(x_lo + x_hi) / 2, (y_lo + y_hi) / 2]], 0)[0]
        return float(ra), float(dec)


@dataclass(frozen=True)
class Exposure:
    """One exposure (a row of the observation table)."""

    obsid: int
    ra_deg: float
    dec_deg: float
    pa_deg: float
    mjd: float
    filter_code: int


@dataclass(frozen=True)
class SurveyLayout:
    """Exposures of the survey and the ``(obsid, sca)`` images that overlap the target."""

    settings: SurveySettings
    target: TargetArea
    exposures: tuple[Exposure, ...]
    images: tuple[tuple[int, int], ...]
    _headers: dict = field(default_factory=dict, compare=False, repr=False)

    def header(self, obsid: int, sca: int) -> fits.Header:
        """WCS header (TAN-SIP) of image ``(obsid, sca)``."""
        key = (obsid, sca)
        if key not in self._headers:
            self._headers[key] = sca_header(self.exposures[obsid], sca, self.settings)
        return self._headers[key]

    @property
    def filter_name(self) -> str:
        """Four-character name of the survey filter."""
        return filter_name(self.target.filter_code)


def _solve_pointing(ra_t: float, dec_t: float, X_t: float, Y_t: float, pa: float) -> tuple[float, float]:
    """Pointing (RA, Dec) [deg] that puts sky position (ra_t, dec_t) at field angles (X_t, Y_t)."""
    ra0, dec0 = field_to_sky(-X_t, -Y_t, ra_t, dec_t, pa)  # first guess (exact for small angles)
    ra0, dec0 = float(ra0), float(dec0)
    h = 1e-6
    for _ in range(8):
        X, Y, _ = sky_to_field(ra_t, dec_t, ra0, dec0, pa)
        r = np.array([X - X_t, Y - Y_t])
        if np.max(np.abs(r)) < 1e-12:
            break
        Xa, Ya, _ = sky_to_field(ra_t, dec_t, ra0 + h, dec0, pa)
        Xd, Yd, _ = sky_to_field(ra_t, dec_t, ra0, dec0 + h, pa)
        jac = np.array([[Xa - X, Xd - X], [Ya - Y, Yd - Y]]) / h
        d_ra, d_dec = np.linalg.solve(jac, r)
        ra0, dec0 = ra0 - d_ra, dec0 - d_dec
    return ra0 % 360.0, dec0


def sca_header(exp: Exposure, sca: int, settings: SurveySettings) -> fits.Header:
    """Return the TAN-SIP WCS header of SCA ``sca`` (1..18) of an exposure.

    CRPIX is the SCA centre (1-based ``(nside + 1) / 2``).  The CD matrix maps the pixel axes onto the
    WFI field axes rotated by PA; the SIP terms are quadratic, drawn per image, about ``sip_max_px`` at
    the corners.
    """
    k = sca - 1
    ra_c, dec_c = field_to_sky(SCA_FIELD_X_DEG[k], SCA_FIELD_Y_DEG[k], exp.ra_deg, exp.dec_deg, exp.pa_deg)
    pa = math.radians(exp.pa_deg)
    s = SCA_ORIENT[k] * PIXSCALE_DEG
    n = settings.sca_nside
    hdr = fits.Header()
    hdr["WCSAXES"] = 2
    hdr["CTYPE1"], hdr["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    hdr["CRPIX1"] = hdr["CRPIX2"] = (n + 1) / 2.0
    hdr["CRVAL1"], hdr["CRVAL2"] = float(ra_c), float(dec_c)
    hdr["CD1_1"], hdr["CD1_2"] = -math.cos(pa) * s, math.sin(pa) * s
    hdr["CD2_1"], hdr["CD2_2"] = math.sin(pa) * s, math.cos(pa) * s
    hdr["CUNIT1"], hdr["CUNIT2"] = "deg", "deg"
    hdr["RADESYS"] = "ICRS"
    rng = settings.rng(STREAM_SIP, exp.obsid, sca)
    scale = settings.sip_max_px / (n / 2.0) ** 2
    hdr["A_ORDER"] = hdr["B_ORDER"] = 2
    for name in ("A_2_0", "A_1_1", "A_0_2", "B_2_0", "B_1_1", "B_0_2"):
        hdr[name] = float(rng.uniform(-1.0, 1.0) * scale)
    return hdr


def _choose_pointings(settings: SurveySettings, target: TargetArea) -> list[Exposure]:
    """Passes at different roll angles; each dither puts the target well inside a random SCA."""
    ra_t, dec_t = target.center_sky()
    half_sca_deg = 0.5 * settings.sca_nside * PIXSCALE_DEG
    # An SCA larger than the target keeps it (with the objects margin) inside; a smaller one is
    # scattered over it.
    reach = target.half_width_deg() + settings.object_margin_arcsec / 3600.0
    room = abs(half_sca_deg - reach) * 0.8
    exposures = []
    for p in range(settings.n_passes):
        for d in range(settings.dithers_per_pass):
            obsid = len(exposures)
            rng = settings.rng(STREAM_POINTING, obsid)
            pa = (23.0 + p * 360.0 / settings.n_passes + rng.uniform(-5.0, 5.0)) % 360.0
            k = int(rng.integers(N_SCA))
            dx, dy = rng.uniform(-room, room, 2)
            X_t = SCA_FIELD_X_DEG[k] + SCA_ORIENT[k] * dx
            Y_t = SCA_FIELD_Y_DEG[k] + SCA_ORIENT[k] * dy
            ra0, dec0 = _solve_pointing(ra_t, dec_t, X_t, Y_t, pa)
            mjd = settings.start_mjd + p * 30.0 + d * 0.01
            exposures.append(Exposure(obsid, ra0, dec0, pa, mjd, target.filter_code))
    return exposures


def plan_survey(settings: SurveySettings, target: TargetArea) -> SurveyLayout:
    """Choose the exposures and find the SCAs whose pixels overlap the target area.

    Parameters
    ----------
    settings : SurveySettings
        Survey settings.
    target : TargetArea
        Area to cover.

    Returns
    -------
    SurveyLayout
        Exposures (obsid = position in the list) and the sorted ``(obsid, sca)`` images to write.
    """
    exposures = _choose_pointings(settings, target)
    layout = SurveyLayout(settings, target, tuple(exposures), ())
    out_wcs, box = target.out_wcs(), target.box()
    shape = (settings.sca_nside, settings.sca_nside)
    images = []
    for exp in exposures:
        for sca in range(1, N_SCA + 1):
            wcs = WCS(layout.header(exp.obsid, sca))
            if count_pixels_in_box(wcs, shape, out_wcs, box) > 0:
                images.append((exp.obsid, sca))
    object.__setattr__(layout, "images", tuple(sorted(images)))
    return layout
