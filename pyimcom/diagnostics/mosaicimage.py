"""MosaicImage section: an asinh-stretched picture of the science layer of the whole mosaic.

As the reference's ``mosaicimage.py`` (layers spec §4.3): the unique region of layer 0 (output PSF 0)
of every block is mean-binned ``j x j`` with the smallest ``j`` that divides the block side and keeps
the picture at most about 2000 pixels across, stretched with

    ``value = (asinh(v/|lo|) - asinh(-1)) / (asinh(hi/|lo|) - asinh(-1))``, clipped to [0, 1]

for ``v`` clipped to ``[lo, hi] = srange``, and shown with north/y up.  Departure: missing blocks are
drawn in a flat dark red (not black, which is a legitimate sky value) and counted; the section
status is FAIL when any block of the ``n x n`` sub-mosaic is missing.
"""

from __future__ import annotations

import logging

import matplotlib.image as mpimg
import numpy as np

from ._util import atomic_path
from .content import FAIL, NOT_APPLICABLE, PASS, FigureRef, Paragraph, SectionResult

__all__ = [
    "NAME",
    "SRANGE",
    "MISSING_RGB",
    "choose_binning",
    "bin_mean",
    "asinh_stretch",
    "mosaic_rgb",
    "build",
]

logger = logging.getLogger(__name__)

NAME = "MosaicImage"
SRANGE = (-0.1, 100.0)  # default stretch range [science-layer units]
MISSING_RGB = (110, 0, 0)  # colour of missing blocks
MAX_SIDE_PX = 2000  # largest side of the picture [binned px]


def choose_binning(n: int, ns: int, max_side_px: int = MAX_SIDE_PX) -> int:
    """Return the binning factor of the mosaic picture.

    Starts from ``max(int(n ns / (max_side_px - 1e-5)), 1)`` and decrements it until it divides ``ns``.

    Parameters
    ----------
    n : int
        Blocks per side.
    ns : int
        Unique block side ``n1 n2`` [output px].
    max_side_px : int
        Target largest side. Default: 2000.

    Returns
    -------
    int
        ``j >= 1`` dividing ``ns``.

    Examples
    --------
    >>> choose_binning(2, 100), choose_binning(36, 2560)
    (1, 40)
    """
    j = max(int(n * ns / (max_side_px - 1e-5)), 1)
    while ns % j:
        j -= 1
    return j


def bin_mean(image: np.ndarray, j: int) -> np.ndarray:
    """Mean over ``j x j`` pixel cells of a square image whose side ``j`` divides.

    Examples
    --------
    >>> bin_mean(np.arange(16.0).reshape(4, 4), 2).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    ny, nx = image.shape
    return image.reshape(ny // j, j, nx // j, j).mean(axis=(1, 3))


def asinh_stretch(values: np.ndarray, srange=SRANGE) -> np.ndarray:
    """Map values to gray levels 0..255 with the reference's asinh stretch.

    Parameters
    ----------
    values : numpy.ndarray
        Image values.
    srange : tuple of float
        ``(lo, hi)`` with ``lo < 0 < hi``; values are clipped to it. Default: `SRANGE`.

    Returns
    -------
    numpy.ndarray
        uint8 gray levels, same shape.

    Examples
    --------
    >>> asinh_stretch(np.array([-5.0, -0.1, 100.0, 1e9])).tolist()
    [0, 0, 255, 255]
    """
    lo, hi = srange
    v = np.clip(values, lo, hi)
    scale = abs(lo)
    num = np.arcsinh(v / scale) - np.arcsinh(-1.0)
    den = np.arcsinh(hi / scale) - np.arcsinh(-1.0)
    return np.rint(255 * np.clip(num / den, 0.0, 1.0)).astype(np.uint8)


def mosaic_rgb(ctx, j: int, srange=SRANGE) -> tuple[np.ndarray, int]:
    """Assemble the RGB picture of the sub-mosaic, one block at a time.

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic.
    j : int
        Binning factor (`choose_binning`).
    srange : tuple of float
        Stretch range. Default: `SRANGE`.

    Returns
    -------
    tuple
        ``(rgb, n_missing)``: uint8 array ``(n ns/j, n ns/j, 3)`` with north (y) up, i.e. row 0 is the
        top (largest y), and the number of missing blocks.
    """
    n, ns = ctx.nblock, ctx.cfg.Nside
    side = ns // j
    rgb = np.zeros((n * side, n * side, 3), dtype=np.uint8)
    present = set(ctx.present_blocks)
    for ibx, iby in ctx.blocks():
        cell = (slice(iby * side, (iby + 1) * side), slice(ibx * side, (ibx + 1) * side))
        if (ibx, iby) not in present:
            rgb[cell] = MISSING_RGB
            continue
        _, sci = next(ctx.iter_unique_layers(ibx, iby, layers=[0]))
        rgb[cell] = asinh_stretch(bin_mean(sci, j), srange)[..., None]
    return rgb[::-1], n * n - len(present)


def build(ctx, srange=SRANGE) -> SectionResult:
    """Build the MosaicImage section (writes ``<DS>_mosaic.png``).

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic and output locations.
    srange : tuple of float
        Stretch range. Default: `SRANGE`.

    Returns
    -------
    SectionResult
        Data: ``N``, ``BIN``, ``IMAGEFILE`` (relative to the write-up directory), ``MISSING``
        (count) and ``MISSING_BLOCKS`` (list of ``[ibx, iby]``).
    """
    n, ns = ctx.nblock, ctx.cfg.Nside
    j = choose_binning(n, ns)
    path = ctx.data_path("mosaic.png")
    rgb, n_missing = mosaic_rgb(ctx, j, srange)
    with atomic_path(path) as tmp:
        mpimg.imsave(tmp, rgb, format="png")
    size_deg = n * ns * ctx.cfg.dtheta_deg
    missing = [list(b) for b in ctx.missing_blocks]
    caption = (
        f"Science layer of the {n} x {n} block mosaic, binned {j} x {j}, asinh stretch over "
        f"[{srange[0]:g}, {srange[1]:g}]; {size_deg:7.5f} degrees on a side, north up."
    )
    if n_missing:
        caption += f" {n_missing} missing block(s) are shown in dark red."
    rel = ctx.relpath(path)
    blocks = [
        Paragraph(
            f"Threshold: PASS when all {n * n} blocks of the {n} x {n} sub-mosaic exist; "
            f"{n * n - n_missing} exist, {n_missing} missing."
        ),
        FigureRef(rel, caption, 6.5),
    ]
    if n_missing:
        blocks.insert(
            1, Paragraph("Missing blocks (ibx, iby): " + ", ".join(f"({a}, {b})" for a, b in missing))
        )
    data = {"N": n, "BIN": j, "IMAGEFILE": rel, "MISSING": n_missing, "MISSING_BLOCKS": missing}
    data_text = f"N = {n:2d}, BIN = {j:3d}\nIMAGEFILE = {rel}\nMISSING = {n_missing:d}"
    if n_missing == n * n:
        status, note = NOT_APPLICABLE, "no block file found"
    else:
        status, note = (FAIL, f"{n_missing} of {n * n} blocks missing") if n_missing else (PASS, "")
    return SectionResult(NAME, "Mosaic image", blocks, [path], data, data_text, status, note)
