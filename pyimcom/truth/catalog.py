"""The catalogue table of one HEALPix resolution over the whole mosaic, and its FITS HDU (§3.3)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..geometry import MosaicGeometry
from ..layers.recipes import Recipe
from .columns import layer_columns
from .positions import POSITION_COLUMNS, block_objects

__all__ = ["truth_table", "table_hdu"]

_HEADER_COMMENTS = (
    "One row per HEALPix centre of resolution RESOLUTI in the mosaic.",
    "x, y: 0-based block pixel position (padding included): image[..., y, x]",
    "xi, yi = rint(x, y); dx, dy = x - xi, y - yi.",
    "Each object is listed once, with the block whose unique region",
    "PAD*n2 <= xi, yi < NsideP - PAD*n2 holds its rounded position;",
    "objects in a padding region belong to the neighbouring block.",
    "ipix: RING index; ipix_nest: NESTED index (keys galaxy parameters).",
    "pa_hpix: position angle of North in the block frame [deg, 0..360).",
    "Galaxy columns _L<k> (layer k) describe the drawn galaxy: sky frame",
    "X = West, Y = North; g1, g2 = reduced shear of M M^T, M = J_s R J_g;",
    "sersic_r = area-equivalent half-light radius [arcsec]; sersic_n.",
)


def truth_table(geometry: MosaicGeometry, resolution_n: int, layers: list[tuple[int, Recipe]]) -> Table:
    """The catalogue table of one HEALPix resolution over every block of the mosaic.

    Parameters
    ----------
    geometry : MosaicGeometry
        Mosaic geometry.
    resolution_n : int
        HEALPix resolution.
    layers : list of (int, Recipe)
        The catalogued layers of this resolution (`catalogued_layers`), non-empty.

    Returns
    -------
    astropy.table.Table
        Rows block after block (``iby`` outer, ``ibx`` inner, as the reference), then by RING index;
        columns ``POSITION_COLUMNS`` followed by the `layer_columns` of each layer in order.  ``Layer``
        holds the name of the last layer of this resolution.
    """
    parts = [
        block_objects(geometry, ibx, iby, resolution_n)
        for iby in range(geometry.nblock)
        for ibx in range(geometry.nblock)
    ]
    cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    nrow = cols["ipix"].size
    cols["Layer"] = np.full(nrow, layers[-1][1].text)
    width = {"Block": max(5, max((len(s) for s in cols["Block"]), default=5)),
             "Layer": max(160, len(layers[-1][1].text))}  # fmt: skip
    table = Table()
    for name, dtype in POSITION_COLUMNS:
        table[name] = cols[name].astype(f"U{width[name]}" if dtype.startswith("U") else dtype)
    for k, recipe in layers:
        for name, values in layer_columns(recipe, k, cols["ipix_nest"]).items():
            table[name] = values.astype(np.float64)
    return table


def _set_string(hdr: fits.Header, key: str, value: str, comment: str) -> None:
    """Set a string card, keeping the comment only where it fits (no truncation warning)."""
    quoted = len(value.replace("'", "''")) + 2
    fits_card = quoted > 70 or 10 + max(quoted, 20) + 3 + len(comment) <= 80  # > 70: CONTINUE cards
    hdr[key] = (value, comment) if fits_card else value


def table_hdu(
    table: Table, resolution_n: int, filt: str, block0: str, layer_names: list[str]
) -> fits.BinTableHDU:
    """The ``TRUTH<n>`` binary-table HDU of one resolution, with the reference's header keywords.

    Parameters
    ----------
    table : astropy.table.Table
        From `truth_table`.
    resolution_n : int
        HEALPix resolution ``n``.
    filt : str
        Filter name (``FILTER``), e.g. ``'H158'``.
    block0 : str
        File name of block (0, 0) (``INBLKPTH``; informational, never read).
    layer_names : list of str
        Names of all coadded layers, ``''`` for the science layer (``LYR0``, ``LYR1``, ...).

    Returns
    -------
    astropy.io.fits.BinTableHDU
        ``EXTNAME = TRUTH<n>``, keywords ``RESOLUTI``, ``FILTER``, ``INBLKPTH``, ``LYR<i>``, plus
        ``PIXORIG = 0``, ``BLKASSGN = 'RINT_UNIQUE'`` (block assignment convention), ``SKYFRAME`` and
        COMMENT cards describing the conventions; no ``TNULLn`` keywords.
    """
    hdu = fits.BinTableHDU(data=table, name=f"TRUTH{resolution_n}")
    hdr = hdu.header
    hdr["RESOLUTI"] = (f"TRUTH{resolution_n}", "HEALPix resolution n (nside = 2**n)")
    hdr["FILTER"] = (filt, "filter of the mosaic")
    _set_string(hdr, "INBLKPTH", block0, "block (0,0) file; not read (WCS from config)")
    for i, name in enumerate(layer_names):
        _set_string(hdr, f"LYR{i}", name, f"name of layer {i}")
    hdr["PIXORIG"] = (0, "x, y are 0-based block pixel coordinates")
    hdr["BLKASSGN"] = ("RINT_UNIQUE", "block whose unique region holds rint(x, y)")
    hdr["SKYFRAME"] = ("X=W,Y=N", "frame of galaxy g1, g2 (X = West, Y = North)")
    for text in _HEADER_COMMENTS:
        hdr.add_comment(text)
    for key in [kw for kw in hdr if kw.startswith("TNULL")]:
        del hdr[key]
    return hdu
