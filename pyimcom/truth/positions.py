"""Positions of the catalogued objects: block-level HEALPix query and 0-based block pixels.

Layers spec §1.5.3 and §3.4.  For one block and one HEALPix resolution ``n``: the RING query of the
centres within ``1.5 n1 n2 dtheta / sqrt(2)`` of the block centre, mapped to 0-based block pixels with
the block WCS (`pyimcom.geometry.MosaicGeometry.block_wcs`), keeping those whose rounded position
``(rint(x), rint(y))`` lies in the unique region ``PAD*n2 <= xi, yi < NsideP - PAD*n2``.  Each object
is therefore listed with exactly one block.  Pixel contract: see `pyimcom.geometry`.
"""

from __future__ import annotations

import math

import healpy as hp
import numpy as np

from ..geometry import MosaicGeometry

__all__ = [
    "POSITION_COLUMNS",
    "block_search_radius_rad",
    "query_block",
    "north_position_angle",
    "block_objects",
]

_ARCSEC_DEG = 1.0 / 3600.0  # one arcsec [deg]

# position columns: (name, dtype), in the reference's order (ipix_nest added after ipix)
POSITION_COLUMNS = (
    ("Block", "U5"), ("Layer", "U160"), ("Res_hpix", "int64"), ("ra_hpix", "float64"),
    ("dec_hpix", "float64"), ("pa_hpix", "float64"), ("ipix", "int64"), ("ipix_nest", "int64"),
    ("ibx", "int16"), ("iby", "int16"), ("x", "float64"), ("y", "float64"), ("xi", "int32"),
    ("yi", "int32"), ("dx", "float64"), ("dy", "float64"),
)  # fmt: skip


def block_search_radius_rad(geometry: MosaicGeometry) -> float:
    """Radius of the HEALPix query around a block centre: ``1.5 n1 n2 dtheta / sqrt(2)`` [rad].

    Examples
    --------
    >>> from pyimcom.geometry import BlockLayout
    >>> g = MosaicGeometry(0.0, 0.0, 180.0, 1, BlockLayout(4, 25), 0.04 / 3600)
    >>> round(block_search_radius_rad(g) * 206264.806, 4)  # arcsec
    4.2426
    """
    side_rad = math.radians(geometry.layout.nside_px * geometry.dtheta_deg)
    return 1.5 * side_rad / math.sqrt(2.0)


def query_block(geometry: MosaicGeometry, ibx: int, iby: int, resolution_n: int) -> np.ndarray:
    """RING indices of the HEALPix centres within `block_search_radius_rad` of a block's centre.

    The centre is the sky position of block pixel ``((NsideP - 1)/2, (NsideP - 1)/2)``; the query is
    ``healpy.query_disc(2**n, vec, radius, nest=False)`` (pixel centres inside the disc).

    Returns
    -------
    numpy.ndarray
        int64 RING indices, sorted increasingly.
    """
    ra_deg, dec_deg = geometry.block_center_sky(ibx, iby)
    vec = hp.ang2vec(ra_deg, dec_deg, lonlat=True)
    ipix = hp.query_disc(2**resolution_n, vec, block_search_radius_rad(geometry), nest=False)
    return np.sort(np.asarray(ipix, dtype=np.int64))


def north_position_angle(wcs, ra_deg, dec_deg) -> np.ndarray:
    """Position angle of North in a pixel frame [deg, in [0, 360)].

    ``atan2(x(+1") - x(-1"), y(+1") - y(-1"))`` with steps of 1 arcsec in declination; 0 means North
    along +y, 90 North along +x.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS; pixel coordinates 0-based.
    ra_deg, dec_deg : numpy.ndarray
        Sky positions [deg], shape (m,).

    Returns
    -------
    numpy.ndarray
        float64, shape (m,).
    """
    x_up, y_up = wcs.all_world2pix(ra_deg, dec_deg + _ARCSEC_DEG, 0)
    x_dn, y_dn = wcs.all_world2pix(ra_deg, dec_deg - _ARCSEC_DEG, 0)
    pa = np.degrees(np.arctan2(x_up - x_dn, y_up - y_dn))
    return np.mod(pa, 360.0)


def block_objects(geometry: MosaicGeometry, ibx: int, iby: int, resolution_n: int) -> dict[str, np.ndarray]:
    """Position columns of the HEALPix centres that belong to block ``(ibx, iby)``.

    Parameters
    ----------
    geometry : MosaicGeometry
        Mosaic geometry (block WCS and sizes).
    ibx, iby : int
        Block indices.
    resolution_n : int
        HEALPix resolution (``nside = 2**n``).

    Returns
    -------
    dict of str to numpy.ndarray
        Every column of ``POSITION_COLUMNS`` except ``Layer``, one entry per object kept (those whose
        rounded position lies in the unique region), in increasing RING index.
    """
    lay = geometry.layout
    nside_hp = 2**resolution_n
    ipix = query_block(geometry, ibx, iby, resolution_n)
    ra, dec = hp.pix2ang(nside_hp, ipix, nest=False, lonlat=True)
    wcs = geometry.block_wcs(ibx, iby)
    x, y = wcs.all_world2pix(ra, dec, 0)
    xi, yi = np.rint(x).astype(np.int32), np.rint(y).astype(np.int32)
    lo, hi = lay.pad * lay.n2, lay.nside_padded_px - lay.pad * lay.n2
    keep = (xi >= lo) & (xi < hi) & (yi >= lo) & (yi < hi)
    ipix, ra, dec, x, y, xi, yi = (a[keep] for a in (ipix, ra, dec, x, y, xi, yi))
    m = ipix.size
    return {
        "Block": np.full(m, f"{ibx:02d}_{iby:02d}"),
        "Res_hpix": np.full(m, resolution_n, dtype=np.int64),
        "ra_hpix": ra,
        "dec_hpix": dec,
        "pa_hpix": north_position_angle(wcs, ra, dec),
        "ipix": ipix,
        "ipix_nest": np.asarray(hp.ring2nest(nside_hp, ipix), dtype=np.int64),
        "ibx": np.full(m, ibx, dtype=np.int16),
        "iby": np.full(m, iby, dtype=np.int16),
        "x": x,
        "y": y,
        "xi": xi,
        "yi": yi,
        "dx": x - xi,
        "dy": y - yi,
    }
