"""Input pixels of a block: assignment to InStamps (core §3.8) and per-stamp selection (§3.9).

All positions are block pixel coordinates (0-based, integer = pixel centre; see `pyimcom.geometry`).
InStamp ``(j, i)`` is the half-open square ``x in [(i-1) n2 - 0.5, i n2 - 0.5)``, likewise for y; pixels
are kept when they fall in an InStamp that some computed OutStamp needs and are usable in the mask.

Order of the pixels (it fixes the row and column order of the linear systems): InStamp by InStamp;
inside an InStamp, image by image in block image order; inside an image, row-major over the SCA
pixels ``(y, x)``.  (The reference walks 45-pixel cells first; only self-consistency matters.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from ..footprint import box_polygon_in_input
from ..geometry import MosaicGeometry

__all__ = ["BlockPixels", "pixels_in_region", "partition_block", "select_stamp_pixels"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockPixels:
    """Every input pixel a block uses, sorted by InStamp.

    Attributes
    ----------
    image : numpy.ndarray
        int32 ``(n,)``: block image index of each pixel.
    x, y : numpy.ndarray
        float64 ``(n,)``: block pixel coordinates [output pixels].
    values : numpy.ndarray
        float32 ``(n_layer, n)``: the pixel values of every layer.
    start : numpy.ndarray
        int64 ``(n1P + 2, n1P + 2, 2)``: ``[j, i] -> (first, stop)`` range of InStamp ``(j, i)``.
    n_images : int
        Number of images in the block image list.
    """

    image: np.ndarray
    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    start: np.ndarray
    n_images: int

    def instamp(self, j: int, i: int) -> slice:
        """Slice of the pixels of InStamp ``(j, i)``."""
        a, b = self.start[j, i]
        return slice(int(a), int(b))

    def count(self, j: int, i: int) -> int:
        """Number of pixels in InStamp ``(j, i)``."""
        a, b = self.start[j, i]
        return int(b - a)


def pixels_in_region(in_wcs: WCS, shape: tuple[int, int], out_wcs: WCS, box) -> tuple[np.ndarray, ...]:
    """Input pixels whose output coordinates fall in an open rectangle, with those coordinates.

    Only the bounding box (in input pixels) of the rectangle's image is transformed, with whole-array
    WCS calls.

    Parameters
    ----------
    in_wcs, out_wcs : astropy.wcs.WCS
        Input image and output grid WCSs (0-based pixels).
    shape : tuple of int
        ``(ny, nx)`` of the input image.
    box : tuple of float
        ``(lo, hi)``: open interval of output coordinates on both axes.

    Returns
    -------
    yi, xi : numpy.ndarray
        int64 input pixel indices, row-major order.
    xo, yo : numpy.ndarray
        float64 output coordinates of those pixels.
    """
    lo, hi = box
    ny, nx = shape
    poly = box_polygon_in_input(out_wcs, (lo, hi, lo, hi), in_wcs)
    if not np.all(np.isfinite(poly)):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    x0, x1 = max(int(np.floor(poly[:, 0].min())) - 1, 0), min(int(np.ceil(poly[:, 0].max())) + 1, nx - 1)
    y0, y1 = max(int(np.floor(poly[:, 1].min())) - 1, 0), min(int(np.ceil(poly[:, 1].max())) + 1, ny - 1)
    if x0 > x1 or y0 > y1:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    yy, xx = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    yi, xi = yy.ravel(), xx.ravel()
    ra, dec = in_wcs.all_pix2world(xi, yi, 0)
    xo, yo = out_wcs.all_world2pix(ra, dec, 0)
    keep = (xo > lo) & (xo < hi) & (yo > lo) & (yo < hi)
    return yi[keep], xi[keep], xo[keep], yo[keep]


def partition_block(
    images, geometry: MosaicGeometry, ibx: int, iby: int, needed: np.ndarray, n_layer: int
) -> tuple:
    """Assign the usable pixels of every image to the block's needed InStamps.

    Parameters
    ----------
    images : sequence
        Objects with attributes ``wcs`` (astropy WCS), ``shape`` ``(ny, nx)`` and a method
        ``load() -> (stack float32 (n_layer, ny, nx), mask bool (ny, nx))`` (True = usable), in block
        candidate order.
    geometry : MosaicGeometry
        Mosaic geometry.
    ibx, iby : int
        Block indices.
    needed : numpy.ndarray
        bool ``(n1P + 2, n1P + 2)``: InStamps needed by the computed OutStamps.
    n_layer : int
        Number of layers of every stack.

    Returns
    -------
    pixels : BlockPixels
        The kept pixels sorted by InStamp.
    used : list of int
        Positions (in ``images``) of the relevant images; the block image index of a pixel indexes
        this list.
    """
    out_wcs = geometry.block_wcs(ibx, iby)
    n_side = needed.shape[0]
    parts, used = [], []
    for k, img in enumerate(images):
        yi, xi, xo, yo = pixels_in_region(img.wcs, img.shape, out_wcs, geometry.acceptance_bounds)
        js, is_ = geometry.instamp_of(xo, yo)
        inside = (js >= 0) & (js < n_side) & (is_ >= 0) & (is_ < n_side)
        keep = np.zeros_like(inside)
        keep[inside] = needed[js[inside], is_[inside]]
        if not keep.any():
            continue
        stack, mask = img.load()
        keep &= mask[yi, xi]
        if not keep.any():
            continue
        sel = np.flatnonzero(keep)
        values = stack[:, yi[sel], xi[sel]].astype(np.float32)
        parts.append((len(used), xo[sel], yo[sel], js[sel] * n_side + is_[sel], values))
        used.append(k)
        logger.debug("image %d: %d pixels kept", k, sel.size)
    return _sort_by_instamp(parts, n_side, n_layer), used


def _sort_by_instamp(parts, n_side: int, n_layer: int) -> BlockPixels:
    if not parts:
        z = np.zeros(0)
        return BlockPixels(np.zeros(0, np.int32), z, z.copy(), np.zeros((n_layer, 0), np.float32),
                           np.zeros((n_side, n_side, 2), np.int64), 0)  # fmt: skip
    image = np.concatenate([np.full(p[1].size, p[0], np.int32) for p in parts])
    x = np.concatenate([p[1] for p in parts])
    y = np.concatenate([p[2] for p in parts])
    key = np.concatenate([p[3] for p in parts])
    values = np.concatenate([p[4] for p in parts], axis=1)
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=n_side * n_side)
    ends = np.cumsum(counts)
    start = np.stack([ends - counts, ends], axis=-1).reshape(n_side, n_side, 2)
    return BlockPixels(
        image[order], x[order], y[order], np.ascontiguousarray(values[:, order]), start, len(parts)
    )


def select_stamp_pixels(pixels: BlockPixels, geometry: MosaicGeometry, j: int, i: int, rho: float):
    """Indices of the input pixels of OutStamp ``(j, i)`` (core §3.9).

    The 9 InStamps ``(j + dj, i + di)`` are taken in row-major ``(dj, di)`` order: the centre one
    entirely, side neighbours within ``rho`` of the shared edge, corner neighbours within ``rho`` of the
    shared corner (a core square grown by ``rho`` with rounded corners).

    Parameters
    ----------
    pixels : BlockPixels
        The block's pixels.
    geometry : MosaicGeometry
        Mosaic geometry.
    j, i : int
        OutStamp indices.
    rho : float
        Acceptance radius ``INPAD / dθ`` [output pixels].

    Returns
    -------
    list of numpy.ndarray
        For each of the 9 InStamps in order, int64 indices into the block arrays (possibly empty).
    """
    x_first, x_last, y_first, y_last = geometry.outstamp_core(j, i)
    xl, xr, yb, yt = x_first - 0.5, x_last + 0.5, y_first - 0.5, y_last + 0.5
    out = []
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            sl = pixels.instamp(j + dj, i + di)
            idx = np.arange(sl.start, sl.stop)
            x, y = pixels.x[sl], pixels.y[sl]
            ex = (xl - x) if di < 0 else (x - xr) if di > 0 else None
            ey = (yb - y) if dj < 0 else (y - yt) if dj > 0 else None
            if ex is None and ey is None:
                ok = np.ones(idx.size, bool)
            elif ex is None:
                ok = np.abs(ey) < rho
            elif ey is None:
                ok = np.abs(ex) < rho
            else:
                ok = np.hypot(ex, ey) < rho
            out.append(idx[ok])
    return out
