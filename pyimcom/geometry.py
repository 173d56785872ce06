"""Mosaic, block and postage-stamp geometry, and the block WCS.

Pixel contract (used throughout PyIMCOM)
----------------------------------------
Pixel coordinates are 0-based and an integer value is a pixel centre (pixel ``k`` spans
``[k - 0.5, k + 0.5)``).  Coordinates are ordered ``(x, y)``; arrays are indexed ``[..., y, x]``.
FITS ``CRPIX`` values are 1-based as FITS requires; the conversion happens only where a header is
built or read.

Hierarchy
---------
A *mosaic* is ``nblock x nblock`` *blocks* sharing one stereographic projection about ``CTR``.  A block
is ``n1 x n1`` *postage stamps* (plus ``pad`` padding stamps on each padded side); a stamp is
``n2 x n2`` output pixels and is one linear system.  Output stamps ("OutStamps") have indices
``(j, i) = 1 .. n1P`` (``j`` = row / y, ``i`` = column / x); input stamps ("InStamps") have indices
``0 .. n1P + 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from .errors import ConfigError, PyIMCOMRangeError, PyIMCOMValueError
from .instrument import SCA_HALF_DIAGONAL_DEG

__all__ = [
    "BlockLayout",
    "MosaicGeometry",
    "PADSIDE_LETTERS",
    "fade_ramp",
    "stamp_taper",
    "block_index",
    "block_number",
    "block_filename",
    "parse_padsides",
]

PADSIDE_LETTERS = "BTLR"  # bottom (low y), top (high y), left (low x), right (high x)


@dataclass(frozen=True)
class BlockLayout:
    """Sizes of one block in stamps and output pixels.

    Parameters
    ----------
    n1 : int
        Postage stamps per block side (unpadded); must be even.
    n2 : int
        Output pixels per stamp side.
    pad : int
        Padding stamps added on each padded side (``PAD``). Default: 0.
    fade : int
        Transition pixels on each side of a stamp (``FADE``). Default: 0.

    Examples
    --------
    >>> lay = BlockLayout(n1=80, n2=32, pad=2, fade=3)
    >>> lay.nside_px, lay.nside_padded_px, lay.n1_padded, lay.n2_faded_px, lay.m_out_px
    (2560, 2688, 84, 38, 1444)
    """

    n1: int
    n2: int
    pad: int = 0
    fade: int = 0

    @property
    def nside_px(self) -> int:
        """Unpadded block side ``n1 * n2`` [output pixels] (reference ``Nside``)."""
        return self.n1 * self.n2

    @property
    def nside_padded_px(self) -> int:
        """Block side including padding, the saved image side [output pixels] (``NsideP``)."""
        return self.nside_px + 2 * self.pad * self.n2

    @property
    def n1_padded(self) -> int:
        """Stamps per padded block side ``n1 + 2 pad`` (``n1P``)."""
        return self.n1 + 2 * self.pad

    @property
    def n2_faded_px(self) -> int:
        """Computed stamp side including transition pixels ``n2 + 2 fade`` [output pixels] (``n2f``)."""
        return self.n2 + 2 * self.fade

    @property
    def nside_accum_px(self) -> int:
        """Side of the internal accumulation array ``NsideP + 2 fade`` [output pixels] (``NsidePf``)."""
        return self.nside_padded_px + 2 * self.fade

    @property
    def m_out_px(self) -> int:
        """Output pixels per linear system ``n2f**2`` (``m``)."""
        return self.n2_faded_px**2


def fade_ramp(fade: int) -> np.ndarray:
    """Return the truncated-sine taper weights ``s_k`` of the FADE transition region.

    Parameters
    ----------
    fade : int
        Number ``fk`` of transition pixels on each side of a stamp (``FADE``), >= 0.

    Returns
    -------
    numpy.ndarray
        float64 array of length ``L = 2 * fade``: ``s_k = t_k - sin(2 pi t_k) / (2 pi)`` with
        ``t_k = k / (L + 1)``, ``k = 1 .. L``.  ``s_k + s_{L+1-k} = 1``, so overlapping stamps sum to 1.

    Examples
    --------
    >>> np.round(fade_ramp(1), 6)
    array([0.195501, 0.804499])
    """
    if fade < 0:
        raise PyIMCOMValueError(f"fade must be >= 0; got {fade}")
    n = 2 * fade
    t = np.arange(1, n + 1) / (n + 1.0)
    return t - np.sin(2.0 * np.pi * t) / (2.0 * np.pi)


def stamp_taper(n2: int, fade: int) -> np.ndarray:
    """Return the separable ``n2f x n2f`` weight that tapers one computed stamp.

    Parameters
    ----------
    n2 : int
        Stamp core side [output pixels].
    fade : int
        Transition pixels on each side [output pixels].

    Returns
    -------
    numpy.ndarray
        float64 array ``[n2 + 2 fade, n2 + 2 fade]`` indexed ``[y, x]``: the outer product of a 1-D
        profile that rises over the first ``2 fade`` pixels, is 1 in the middle and falls over the last
        ``2 fade`` pixels.

    Examples
    --------
    >>> float(stamp_taper(4, 0).sum())
    16.0
    """
    ramp = fade_ramp(fade)
    profile = np.ones(n2 + 2 * fade)
    if fade > 0:
        profile[: 2 * fade] = ramp
        profile[-2 * fade :] = ramp[::-1]
    return np.outer(profile, profile)


def block_index(this_sub: int, nblock: int) -> tuple[int, int]:
    """Return the block indices ``(ibx, iby)`` of a block job number.

    Parameters
    ----------
    this_sub : int
        Block job number, ``0 <= this_sub < nblock**2``.  Consecutive numbers walk in y first.
    nblock : int
        Blocks per mosaic side (``BLOCK``).

    Returns
    -------
    tuple of int
        ``(ibx, iby) = divmod(this_sub, nblock)``.

    Raises
    ------
    PyIMCOMRangeError
        If ``this_sub`` is outside ``[0, nblock**2)``.

    Examples
    --------
    >>> block_index(7, 4)
    (1, 3)
    """
    if not 0 <= this_sub < nblock * nblock:
        raise PyIMCOMRangeError(f"block number this_sub must be in [0, {nblock * nblock}); got {this_sub}")
    return divmod(int(this_sub), int(nblock))


def block_number(ibx: int, iby: int, nblock: int) -> int:
    """Return the block job number ``ibx * nblock + iby`` (inverse of `block_index`).

    Examples
    --------
    >>> block_number(1, 3, 4)
    7
    """
    if not (0 <= ibx < nblock and 0 <= iby < nblock):
        raise PyIMCOMRangeError(f"block (ibx, iby) must lie in [0, {nblock}); got ({ibx}, {iby})")
    return ibx * nblock + iby


def block_filename(outstem: str, ibx: int, iby: int) -> str:
    """Return the output file name ``{outstem}_{ibx:02d}_{iby:02d}.fits`` of a block.

    Examples
    --------
    >>> block_filename("out/demo_H", 1, 0)
    'out/demo_H_01_00.fits'
    """
    return f"{outstem}_{ibx:02d}_{iby:02d}.fits"


def parse_padsides(padsides: str) -> str:
    """Validate a ``PADSIDES`` value and return it normalised.

    Parameters
    ----------
    padsides : str
        ``"all"``, ``"auto"``, ``"none"`` (case-insensitive) or a non-empty string of the letters
        ``B`` (bottom), ``T`` (top), ``L`` (left), ``R`` (right).

    Returns
    -------
    str
        ``"all"``, ``"auto"``, ``"none"`` or the upper-cased letters.

    Raises
    ------
    ConfigError
        If the value is none of these.

    Examples
    --------
    >>> parse_padsides("Auto"), parse_padsides("bl")
    ('auto', 'BL')
    """
    if not isinstance(padsides, str):
        raise ConfigError(f"PADSIDES must be a string; got {padsides!r}")
    low = padsides.strip().lower()
    if low in ("all", "auto", "none"):
        return low
    up = padsides.strip().upper()
    if not up or any(c not in PADSIDE_LETTERS for c in up):
        raise ConfigError(
            f"PADSIDES must be 'all', 'auto', 'none' or a string of the letters B, T, L, R; got {padsides!r}"
        )
    return up


@dataclass(frozen=True)
class MosaicGeometry:
    """Geometry of a mosaic: projection, block grid and stamp grids.

    Parameters
    ----------
    ra_deg, dec_deg : float
        Projection centre (``CTR``), ICRS [deg].
    lonpole_deg : float
        FITS ``LONPOLE`` of the stereographic projection [deg]; 180 puts north up.
    nblock : int
        Blocks per mosaic side (``BLOCK``).
    layout : BlockLayout
        Stamp and pixel counts of one block.
    dtheta_deg : float
        Output pixel scale [deg].
    padsides : str
        ``PADSIDES``; normalised with `parse_padsides` (which raises for invalid values). Default: ``"auto"``.

    Notes
    -----
    ``"auto"`` pads every side of a block that lies on the mosaic boundary (the reference pads only
    one side per axis because of an else-if; a 1 x 1 mosaic there pads only B and L).
    """

    ra_deg: float
    dec_deg: float
    lonpole_deg: float
    nblock: int
    layout: BlockLayout
    dtheta_deg: float
    padsides: str = "auto"

    def __post_init__(self):
        object.__setattr__(self, "padsides", parse_padsides(self.padsides))
        if self.nblock < 1:
            raise ConfigError(f"nblock (BLOCK) must be >= 1; got {self.nblock}")
        if not self.dtheta_deg > 0:
            raise ConfigError(f"output pixel scale dtheta_deg must be > 0; got {self.dtheta_deg}")

    # ---- blocks -------------------------------------------------------------------------------
    def block_wcs(self, ibx: int, iby: int) -> WCS:
        """Return the celestial WCS of block ``(ibx, iby)`` (core §3.2).

        Stereographic (``RA---STG``/``DEC--STG``) about the mosaic centre with ``CDELT = (-dθ, +dθ)``
        and ``CRPIX = (NsideP + 1)/2 - Nside (ib - (nblock - 1)/2)`` (1-based) on each axis.  Use it with
        0-based pixel coordinates (``origin=0``) covering ``[0, NsideP)``.

        Examples
        --------
        >>> g = MosaicGeometry(60.0, -4.0, 180.0, 2, BlockLayout(4, 25), 0.04 / 3600)
        >>> g.block_wcs(0, 1).wcs.crpix.tolist()
        [100.5, 0.5]
        """
        block_number(ibx, iby, self.nblock)  # range check
        lay = self.layout
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---STG", "DEC--STG"]
        w.wcs.crval = [self.ra_deg, self.dec_deg]
        w.wcs.lonpole = self.lonpole_deg
        w.wcs.cdelt = [-self.dtheta_deg, self.dtheta_deg]
        w.wcs.cunit = ["deg", "deg"]
        half = (self.nblock - 1) / 2.0
        c0 = (lay.nside_padded_px + 1) / 2.0
        w.wcs.crpix = [c0 - lay.nside_px * (ibx - half), c0 - lay.nside_px * (iby - half)]
        w.wcs.radesys = "ICRS"
        w.wcs.mjdref = [0.0, 0.0]
        w.wcs.set()
        w.pixel_shape = (lay.nside_padded_px, lay.nside_padded_px)
        return w

    def block_header(self, ibx: int, iby: int) -> fits.Header:
        """Return the FITS header cards of the block WCS (plain 2-axis serialisation)."""
        return self.block_wcs(ibx, iby).to_header()

    def block_center_sky(self, ibx: int, iby: int) -> tuple[float, float]:
        """Return the sky position (RA, Dec) [deg] of the centre of the padded block."""
        c = (self.layout.nside_padded_px - 1) / 2.0
        ra, dec = self.block_wcs(ibx, iby).all_pix2world([[c, c]], 0)[0]
        return float(ra), float(dec)

    def search_radius_deg(self) -> float:
        """Radius of the coarse exposure search of core §3.7 [deg]: SCA + block half-diagonals."""
        return SCA_HALF_DIAGONAL_DEG + self.layout.nside_padded_px * self.dtheta_deg / math.sqrt(2.0)

    def block_to_global(self, ibx: int, iby: int, x, y):
        """Map block pixel coordinates to mosaic-global unpadded pixel coordinates.

        ``X = x - pad n2 + ibx Nside`` (and likewise for y); the projection centre is at
        ``X = Y = nblock Nside / 2 - 0.5``.
        """
        lay = self.layout
        off = lay.pad * lay.n2
        return (np.asarray(x) - off + ibx * lay.nside_px, np.asarray(y) - off + iby * lay.nside_px)

    # ---- stamps -------------------------------------------------------------------------------
    def padded_sides(self, ibx: int, iby: int) -> frozenset[str]:
        """Return the set of padded sides of block ``(ibx, iby)`` (letters B, T, L, R).

        Examples
        --------
        >>> g = MosaicGeometry(0.0, 0.0, 180.0, 1, BlockLayout(2, 8, pad=1), 1e-5, "auto")
        >>> sorted(g.padded_sides(0, 0))
        ['B', 'L', 'R', 'T']
        """
        mode = self.padsides
        if mode == "all":
            return frozenset(PADSIDE_LETTERS)
        if mode == "none":
            return frozenset()
        if mode == "auto":
            sides = set()
            if iby == 0:
                sides.add("B")
            if iby == self.nblock - 1:
                sides.add("T")
            if ibx == 0:
                sides.add("L")
            if ibx == self.nblock - 1:
                sides.add("R")
            return frozenset(sides)
        return frozenset(mode)

    def stamp_range(self, ibx: int, iby: int) -> tuple[int, int, int, int]:
        """Return the inclusive OutStamp index ranges ``(j_min, j_max, i_min, i_max)`` that are computed.

        Starts from ``[pad + 1, pad + n1]`` on each axis and extends by ``pad`` on each padded side.

        Raises
        ------
        ConfigError
            If the number of computed stamps along an axis is odd (PSF work is shared over 2 x 2 groups).
        """
        lay = self.layout
        sides = self.padded_sides(ibx, iby)
        lo, hi = lay.pad + 1, lay.pad + lay.n1
        j_min = lo - (lay.pad if "B" in sides else 0)
        j_max = hi + (lay.pad if "T" in sides else 0)
        i_min = lo - (lay.pad if "L" in sides else 0)
        i_max = hi + (lay.pad if "R" in sides else 0)
        counts = (("rows", "BT", j_max - j_min + 1), ("columns", "LR", i_max - i_min + 1))
        for name, (low, high), count in counts:
            if count % 2:
                padded = "".join(c for c in PADSIDE_LETTERS if c in sides)
                raise ConfigError(
                    f"PADSIDES = {self.padsides!r} with PAD = {lay.pad} computes {count} stamp {name} in "
                    f"block ({ibx}, {iby}) (padded sides {padded!r}); the number of computed stamps per axis "
                    f"must be even (PSFs are built in 2x2 groups): use an even PAD, PADSIDES 'all' or "
                    f"'none', or pad both {low} and {high}"
                )
        return j_min, j_max, i_min, i_max

    def processing_order(self, ibx: int, iby: int, stop: int = 0) -> list[tuple[int, int]]:
        """Return the OutStamps ``(j, i)`` of a block in processing order, limited by ``STOP``.

        2 x 2 groups in row-major order: for ``j = j_min, j_min + 2, ...`` and ``i = i_min, i_min + 2,
        ...`` the stamps ``(j, i), (j, i + 1), (j + 1, i), (j + 1, i + 1)``.

        Parameters
        ----------
        ibx, iby : int
            Block indices.
        stop : int
            If > 0, keep only the first ``stop`` stamps (``STOP`` / ``stoptile``). Default: 0.

        Examples
        --------
        >>> g = MosaicGeometry(0.0, 0.0, 180.0, 1, BlockLayout(4, 8), 1e-5, "none")
        >>> g.processing_order(0, 0, stop=6)
        [(1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (1, 4)]
        """
        j_min, j_max, i_min, i_max = self.stamp_range(ibx, iby)
        order = [
            (j + dj, i + di)
            for j in range(j_min, j_max + 1, 2)
            for i in range(i_min, i_max + 1, 2)
            for dj in (0, 1)
            for di in (0, 1)
        ]
        if stop and stop > 0:
            order = order[:stop]
        return order

    def instamps_needed(self, stamps: list[tuple[int, int]]) -> np.ndarray:
        """Bool mask ``[n1P + 2, n1P + 2]`` of the InStamps in the 3 x 3 neighbourhoods of ``stamps``."""
        n = self.layout.n1_padded + 2
        use = np.zeros((n, n), dtype=bool)
        for j, i in stamps:
            use[j - 1 : j + 2, i - 1 : i + 2] = True
        return use

    def instamp_bounds(self, j: int, i: int) -> tuple[float, float, float, float]:
        """Half-open block-pixel region ``(x_lo, x_hi, y_lo, y_hi)`` of InStamp ``(j, i)``.

        ``x in [(i - 1) n2 - 0.5, i n2 - 0.5)``, likewise for y.
        """
        n2 = self.layout.n2
        return ((i - 1) * n2 - 0.5, i * n2 - 0.5, (j - 1) * n2 - 0.5, j * n2 - 0.5)

    def instamp_of(self, x, y):
        """Return the InStamp indices ``(j, i)`` (int arrays) containing block pixel positions ``(x, y)``."""
        n2 = self.layout.n2
        return (
            np.floor((np.asarray(y) + n2 + 0.5) / n2).astype(np.int64),
            np.floor((np.asarray(x) + n2 + 0.5) / n2).astype(np.int64),
        )

    def outstamp_core(self, j: int, i: int) -> tuple[int, int, int, int]:
        """First and last core pixels ``(x_first, x_last, y_first, y_last)`` of OutStamp ``(j, i)``."""
        n2 = self.layout.n2
        return ((i - 1) * n2, i * n2 - 1, (j - 1) * n2, j * n2 - 1)

    def outstamp_pixels(self, j: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Block-pixel ``x`` and ``y`` coordinates of the ``n2f`` computed pixels of OutStamp ``(j, i)``."""
        n2, fk = self.layout.n2, self.layout.fade
        return (np.arange((i - 1) * n2 - fk, i * n2 + fk), np.arange((j - 1) * n2 - fk, j * n2 + fk))

    def accumulator_slices(self, j: int, i: int) -> tuple[slice, slice]:
        """Slices ``(rows, columns)`` of OutStamp ``(j, i)`` in the ``NsidePf`` accumulation array."""
        n2, fk = self.layout.n2, self.layout.fade
        return (slice((j - 1) * n2, j * n2 + 2 * fk), slice((i - 1) * n2, i * n2 + 2 * fk))

    @staticmethod
    def psf_group(j: int, i: int) -> tuple[int, int]:
        """Return the PSF group ``(J, I)`` (both even) of InStamp ``(j, i)``."""
        return (2 * (j // 2), 2 * (i // 2))

    def psf_group_center(self, jg: int, ig: int) -> tuple[float, float]:
        """Block-pixel position ``(x, y)`` where the PSFs of group ``(J, I)`` are evaluated."""
        n2 = self.layout.n2
        return (ig * n2 - 0.5, jg * n2 - 0.5)

    @cached_property
    def acceptance_bounds(self) -> tuple[float, float]:
        """Open interval of block coordinates of input pixels that can be assigned to an InStamp."""
        n2, side = self.layout.n2, self.layout.nside_padded_px
        return (-n2 - 0.5, side + n2 - 0.5)
