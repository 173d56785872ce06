"""Positions of the injected point sources in one output block (layers spec §1.5.3).

Simulated star layers (``gsstar<n>``, ``nstar<n>,...``, ``cstar<n>``) place one unit point source
at the centre of every HEALPix pixel of resolution ``n`` (``nside = 2**n``).  The report finds the
stars of a block exactly as the reference does at the block level:

* query the HEALPix pixels (RING scheme) within ``rs = 1.5 * (n1 n2 dtheta) / sqrt(2)`` radians of
  the sky position of the block pixel ``((NsideP - 1)/2, (NsideP - 1)/2)``;
* map their centres to 0-based block pixel coordinates ``(x, y)`` with the block WCS;
* keep the stars whose rounded position ``(rint(x), rint(y))`` lies in the unique region
  ``PAD n2 <= xi, yi < NsideP - PAD n2``, so each star belongs to exactly one block.

The computation is independent of any truth-catalogue file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import healpy as hp
import numpy as np
from astropy.wcs import WCS

from ..errors import PyIMCOMValueError

__all__ = ["BlockStars", "block_star_positions", "search_radius_rad"]


@dataclass(frozen=True)
class BlockStars:
    """The injected stars of one block (all arrays have one entry per star).

    Attributes
    ----------
    ipix : numpy.ndarray
        int64 HEALPix indices (RING scheme).
    ra_deg, dec_deg : numpy.ndarray
        float64 HEALPix pixel centres [deg].
    x, y : numpy.ndarray
        float64 0-based block pixel coordinates (padding included): the star lies at ``data[..., y, x]``.
    xi, yi : numpy.ndarray
        int64 ``rint(x)``, ``rint(y)``.
    """

    ipix: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    x: np.ndarray
    y: np.ndarray
    xi: np.ndarray
    yi: np.ndarray

    def __len__(self) -> int:
        return int(self.ipix.size)

    @property
    def dx(self) -> np.ndarray:
        """``x - xi`` in [-0.5, 0.5] [output px]."""
        return self.x - self.xi

    @property
    def dy(self) -> np.ndarray:
        """``y - yi`` in [-0.5, 0.5] [output px]."""
        return self.y - self.yi


def search_radius_rad(n1: int, n2: int, dtheta_deg: float) -> float:
    """Radius of the block-level HEALPix query, ``1.5 n1 n2 dtheta / sqrt(2)`` [rad].

    Examples
    --------
    >>> round(search_radius_rad(4, 25, 0.04 / 3600) * 206264.806, 6)
    4.242641
    """
    return 1.5 * n1 * n2 * math.radians(dtheta_deg) / math.sqrt(2.0)


def block_star_positions(
    wcs: WCS, nside_padded_px: int, pad_px: int, radius_rad: float, resolution: int
) -> BlockStars:
    """Return the HEALPix-grid stars whose rounded position is in a block's unique region.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the block, used with 0-based pixel coordinates.
    nside_padded_px : int
        Side of the block array ``NsideP`` [output px].
    pad_px : int
        Padding width ``PAD * n2`` on each side [output px].
    radius_rad : float
        Query radius (`search_radius_rad`) [rad].
    resolution : int
        HEALPix resolution ``n`` of the star layer (``nside = 2**n``), 0..29.

    Returns
    -------
    BlockStars
        Stars sorted by RING index.

    Raises
    ------
    PyIMCOMValueError
        If ``resolution`` is outside 0..29 or the unique region is empty.

    Examples
    --------
    >>> from pyimcom.geometry import BlockLayout, MosaicGeometry
    >>> g = MosaicGeometry(60.0, -4.0, 180.0, 1, BlockLayout(4, 25), 0.04 / 3600)
    >>> stars = block_star_positions(g.block_wcs(0, 0), 100, 0, search_radius_rad(4, 25, g.dtheta_deg), 14)
    >>> bool(np.all((stars.xi >= 0) & (stars.xi < 100)))
    True
    """
    if not 0 <= resolution <= 29:
        raise PyIMCOMValueError(f"HEALPix resolution must be in 0..29; got {resolution}")
    if not 0 <= 2 * pad_px < nside_padded_px:
        raise PyIMCOMValueError(f"pad_px = {pad_px} leaves no unique region in a {nside_padded_px}-px block")
    nside = 2**resolution
    centre = (nside_padded_px - 1) / 2.0
    ra_c, dec_c = wcs.all_pix2world([[centre, centre]], 0)[0]
    vec = hp.ang2vec(ra_c, dec_c, lonlat=True)
    ipix = np.sort(hp.query_disc(nside, vec, radius_rad, nest=False)).astype(np.int64)
    ra, dec = hp.pix2ang(nside, ipix, nest=False, lonlat=True)
    ra, dec = np.atleast_1d(ra).astype(np.float64), np.atleast_1d(dec).astype(np.float64)
    if ipix.size:
        x, y = wcs.all_world2pix(ra, dec, 0)
    else:
        x = y = np.zeros(0)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xi, yi = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
    lo, hi = pad_px, nside_padded_px - pad_px
    keep = (xi >= lo) & (xi < hi) & (yi >= lo) & (yi < hi)
    return BlockStars(ipix[keep], ra[keep], dec[keep], x[keep], y[keep], xi[keep], yi[keep])
