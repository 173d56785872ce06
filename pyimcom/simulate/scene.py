"""Objects of the synthetic survey (stars and galaxies) and their rendering into SCA images.

Galaxy shapes ``(g1, g2)`` and sizes are defined in the local sky frame with +x pointing west and +y
north (a north-up, east-left image), sizes in arcsec.  Rendering follows the input-PSF convention of
`pyimcom.io.psf`: the PSF at the object's SCA position is convolved with the native-pixel tophat and
sampled at the pixel centres, so the image of a unit-flux star equals ``ov**2`` times the tophat-
convolved oversampled PSF read at ``ov * (pixel - star)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import galsim
import numpy as np
from astropy.wcs import WCS

from ..io.psf import tophat_convolve
from .optics import CornerPSFs

__all__ = ["Catalog", "make_catalog", "SCARenderer"]

STAR, GALAXY = 0, 1


@dataclass(frozen=True)
class Catalog:
    """Objects of the survey; every array has shape ``(n_obj,)``.

    Attributes: ``ra_deg, dec_deg`` [deg]; ``kind`` (0 = star, 1 = galaxy); ``flux_e`` [electrons per
    exposure]; ``hlr_arcsec`` (0 for stars); ``g1, g2`` reduced shear of the galaxy shape in the
    (west, north) frame (0 for stars).
    """

    ra_deg: np.ndarray
    dec_deg: np.ndarray
    kind: np.ndarray
    flux_e: np.ndarray
    hlr_arcsec: np.ndarray
    g1: np.ndarray
    g2: np.ndarray

    def __len__(self) -> int:
        return len(self.ra_deg)


def make_catalog(
    rng: np.random.Generator,
    out_wcs: WCS,
    box,
    dtheta_deg: float,
    star_density_arcmin2: float,
    galaxy_density_arcmin2: float,
) -> Catalog:
    """Draw stars and galaxies uniformly over a rectangle of an output (mosaic) pixel grid.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator (consumed).
    out_wcs : astropy.wcs.WCS
        WCS of the grid (0-based pixels).
    box : tuple of float
        ``(x_lo, x_hi, y_lo, y_hi)`` in grid pixels.
    dtheta_deg : float
        Grid pixel scale [deg].
    star_density_arcmin2, galaxy_density_arcmin2 : float
        Mean numbers per square arcminute.
    """
    x_lo, x_hi, y_lo, y_hi = box
    area_arcmin2 = (x_hi - x_lo) * (y_hi - y_lo) * (dtheta_deg * 60.0) ** 2
    n_star = rng.poisson(star_density_arcmin2 * area_arcmin2)
    n_gal = rng.poisson(galaxy_density_arcmin2 * area_arcmin2)
    n = n_star + n_gal
    x = rng.uniform(x_lo, x_hi, n)
    y = rng.uniform(y_lo, y_hi, n)
    ra, dec = out_wcs.all_pix2world(x, y, 0)
    kind = np.r_[np.full(n_star, STAR), np.full(n_gal, GALAXY)]
    # stars: dN/dF ~ F^-1.5 between 2e3 and 2e5 electrons; galaxies: log-uniform 3e2 .. 2e4
    u = rng.uniform(0.0, 1.0, n_star)
    f_lo, f_hi = 2e3, 2e5
    star_flux = (f_lo**-0.5 - u * (f_lo**-0.5 - f_hi**-0.5)) ** -2
    gal_flux = np.exp(rng.uniform(np.log(3e2), np.log(2e4), n_gal))
    hlr = np.exp(rng.uniform(np.log(0.125), np.log(0.5), n_gal))
    g = np.minimum(np.abs(rng.normal(0.0, 0.2, n_gal)), 0.45)
    beta = rng.uniform(0.0, np.pi, n_gal)
    zeros = np.zeros(n_star)
    return Catalog(
        ra_deg=np.asarray(ra),
        dec_deg=np.asarray(dec),
        kind=kind,
        flux_e=np.r_[star_flux, gal_flux],
        hlr_arcsec=np.r_[zeros, hlr],
        g1=np.r_[zeros, g * np.cos(2 * beta)],
        g2=np.r_[zeros, g * np.sin(2 * beta)],
    )


def _local_jacobian(wcs: WCS, x: float, y: float) -> np.ndarray:
    """d(west, north)/d(x, y) [arcsec / pixel] of a WCS at 0-based pixel (x, y)."""
    pts = np.array([[x, y], [x + 0.5, y], [x - 0.5, y], [x, y + 0.5], [x, y - 0.5]])
    ra, dec = wcs.all_pix2world(pts[:, 0], pts[:, 1], 0)
    cosd = np.cos(np.radians(dec[0]))
    dra = (ra - ra[0] + 180.0) % 360.0 - 180.0
    west = -dra * cosd * 3600.0
    north = (dec - dec[0]) * 3600.0
    return np.array([[west[1] - west[2], west[3] - west[4]], [north[1] - north[2], north[3] - north[4]]])


class SCARenderer:
    """Renders catalogue objects into one SCA image.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        WCS of the SCA (0-based pixels).
    shape : tuple of int
        ``(ny, nx)`` of the SCA [pixels].
    corners : CornerPSFs
        PSF model of the SCA (oversampled, without tophat, unit sum).
    ov : int
        Oversampling factor.
    """

    def __init__(self, wcs: WCS, shape: tuple[int, int], corners: CornerPSFs, ov: int):
        self.wcs, self.shape, self.ov = wcs, shape, int(ov)
        # tophat is linear: convolve the corners once and interpolate their transforms
        self._corner_ft = [
            np.fft.fft2(tophat_convolve(c, ov)) for c in (corners.bl, corners.br, corners.tl, corners.tr)
        ]
        self.n = self._corner_ft[0].shape[0]
        self.half = min(self.n // 2, self.n - 1 - self.n // 2) // self.ov
        f = np.fft.fftfreq(self.n)
        self._fx, self._fy = f[None, :], f[:, None]

    def _psf_ft(self, x: float, y: float) -> np.ndarray:
        ny, nx = self.shape
        u = (x - (nx - 1) / 2.0) / (nx / 2.0)
        v = (y - (ny - 1) / 2.0) / (ny / 2.0)
        wl, wr, wb, wt = (1 - u) / 2, (1 + u) / 2, (1 - v) / 2, (1 + v) / 2
        bl, br, tl, tr = self._corner_ft
        return wb * (wl * bl + wr * br) + wt * (wl * tl + wr * tr)

    def _galaxy_ft(self, x: float, y: float, hlr: float, g1: float, g2: float) -> np.ndarray:
        jac = _local_jacobian(self.wcs, x, y)
        inv = np.linalg.inv(jac)  # (west, north) -> pixel offsets
        gal = galsim.Exponential(half_light_radius=hlr).shear(g1=g1, g2=g2)
        gal = gal.transform(inv[0, 0], inv[0, 1], inv[1, 0], inv[1, 1])
        img = gal.drawImage(
            nx=self.n, ny=self.n, scale=1.0 / self.ov, method="no_pixel", offset=(0.5, 0.5)
        ).array.astype(np.float64)
        img /= img.sum()
        return np.fft.fft2(np.fft.ifftshift(img))  # centre (index n/2) moved to index 0

    def draw(
        self,
        image: np.ndarray,
        x: float,
        y: float,
        flux: float,
        hlr: float = 0.0,
        g1: float = 0.0,
        g2: float = 0.0,
    ) -> None:
        """Add one object at 0-based SCA pixel ``(x, y)`` to ``image`` (float array ``[ny, nx]``, in place).

        ``hlr = 0`` draws a star.  Pixels outside the image are skipped.
        """
        xi, yi = int(np.rint(x)), int(np.rint(y))
        ny, nx = self.shape
        h = self.half
        if xi + h < 0 or yi + h < 0 or xi - h >= nx or yi - h >= ny:
            return
        ft = self._psf_ft(x, y)
        if hlr > 0:
            ft = ft * self._galaxy_ft(x, y, hlr, g1, g2)
        # move the object from the array centre (n-1)/2 to n//2 + ov * (sub-pixel offset)
        c = self.n // 2
        sx = (x - xi) * self.ov + (c - (self.n - 1) / 2.0)
        sy = (y - yi) * self.ov + (c - (self.n - 1) / 2.0)
        shifted = np.fft.ifft2(ft * np.exp(-2j * np.pi * (self._fx * sx + self._fy * sy))).real
        k = np.arange(-h, h + 1)
        stamp = shifted[np.ix_(c + k * self.ov, c + k * self.ov)] * (flux * self.ov**2)
        ys, xs = yi + k, xi + k
        oky, okx = (ys >= 0) & (ys < ny), (xs >= 0) & (xs < nx)
        image[np.ix_(ys[oky], xs[okx])] += stamp[np.ix_(oky, okx)].astype(image.dtype)
