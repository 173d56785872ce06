"""Per-block measurements of the simulated stars (the data behind the SimulatedStar section).

Layers spec §4.5.1-4.5.2.  For one block this module extracts

* the star catalogue rows: for each injected star of the first ``gsstar<n>`` layer (positions from
  `pyimcom.diagnostics.starpos`), a ``79 x 79`` stamp centred on its rounded position, measured with
  `pyimcom.diagnostics.moments` (HSM adaptive moments, M42, fixed-window ellipticity with
  ``sigma_w = 0.40 arcsec``), plus the mean integer fidelity in the ``15 x 15`` box around it and the
  coverage (number of input images with weight > 0.01) of its postage stamp;
* histograms of ``sqrt(Sigma)`` (100 bins of 0.02 on [0, 2)), of the effective coverage ``n_eff``
  (100 bins of 0.1 on [0, 10)) and of the integer fidelity ``floor(-10 log10(U/C))`` [dB] (0..80) over
  the unique region;
* the samples of the noisy-star layer (``nstar<n>,f,b,q``) in integer radius bins around each star,
  for the radial percentile profiles (needs PAD >= 1: the boxes reach into the padding).

`CATALOG_COLUMNS` lists the catalogue columns: the reference's 22 columns followed by ``flag``
(`FLAG_OK`, `FLAG_HSM_FAILED`, or `FLAG_TRUNCATED` for a stamp that crosses the edge of the block
array, which happens only with PAD = 0 and would bias the moments).  Flagged rows carry NaN in the
measured columns (the reference leaves zeros there and counts them in its statistics).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..layers.recipes import parse_recipe
from .moments import measure_stamp
from .starpos import BlockStars, block_star_positions, search_radius_rad

__all__ = [
    "CATALOG_COLUMNS",
    "FLAG_OK",
    "FLAG_HSM_FAILED",
    "FLAG_TRUNCATED",
    "STAMP_HALF",
    "FIDELITY_BOX_HALF",
    "WINDOW_ARCSEC",
    "COVERAGE_WEIGHT_MIN",
    "SQRTS_EDGES",
    "NEFF_EDGES",
    "FIDELITY_DB_MAX",
    "find_star_layers",
    "stars_of_block",
    "extract_stamps",
    "box_nanmean",
    "fidelity_db",
    "stamp_coverage",
    "catalog_rows",
    "map_histograms",
    "profile_samples",
    "profile_radius",
]

CATALOG_COLUMNS = (
    "ra", "dec", "ibx", "iby", "x", "y", "xi", "yi", "dx", "dy", "amplitude", "dx_centroid",
    "dy_centroid", "sigma", "g1", "g2", "m42_re", "m42_im", "eplus", "ecross", "fidelity_db",
    "coverage", "flag",
)  # fmt: skip
FLAG_OK, FLAG_HSM_FAILED, FLAG_TRUNCATED = 0, 1, 2  # values of the catalogue's flag column
STAMP_HALF = 40  # stamp half-size bd; stamps are 2 bd - 1 = 79 px across [output px]
FIDELITY_BOX_HALF = 8  # fidelity box half-size; boxes are 15 px across [output px]
WINDOW_ARCSEC = 0.40  # fixed-window width sigma_w [arcsec]
COVERAGE_WEIGHT_MIN = 0.01  # input image counts towards a stamp's coverage above this weight
SQRTS_EDGES = np.linspace(0.0, 2.0, 101)  # sqrt(Sigma) histogram bin edges
NEFF_EDGES = np.linspace(0.0, 10.0, 101)  # n_eff histogram bin edges
FIDELITY_DB_MAX = 80  # fidelity histogram covers integer dB 0..80


def find_star_layers(layer_names) -> tuple[tuple | None, tuple | None]:
    """Find the first ``gsstar<n>`` and the first ``nstar<n>,f,b,q`` layer.

    Parameters
    ----------
    layer_names : sequence of str
        ``['SCI', *EXTRAINPUT]``.

    Returns
    -------
    tuple
        ``(gsstar, nstar)``: ``gsstar = (layer index, n)`` or None; ``nstar = (layer index, n, flux [e],
        sky [e/px], q)`` or None.

    Examples
    --------
    >>> find_star_layers(["SCI", "whitenoise1", "nstar14,2e5,86,3", "gsstar14"])
    ((3, 14), (2, 14, 200000.0, 86.0, 3))
    """
    gs = ns = None
    for k, name in enumerate(layer_names[1:], start=1):
        recipe = parse_recipe(name)
        if recipe.family == "gsstar" and gs is None:
            gs = (k, recipe.args[0])
        elif recipe.family == "nstar" and ns is None:
            ns = (k, *recipe.args)
    return gs, ns


def stars_of_block(ctx, ibx: int, iby: int, resolution: int) -> BlockStars:
    """Injected stars of resolution ``n`` whose rounded position is in the unique region of a block."""
    cfg = ctx.cfg
    radius = search_radius_rad(cfg.n1, cfg.n2, cfg.dtheta_deg)
    return block_star_positions(ctx.outimage(ibx, iby).wcs(), cfg.NsideP, ctx.pad_px, radius, resolution)


def extract_stamps(image: np.ndarray, xi: np.ndarray, yi: np.ndarray, half: int) -> np.ndarray:
    """Cut ``(2 half - 1)``-pixel square stamps centred on ``[yi, xi]``; outside the image is 0.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image indexed ``[y, x]``.
    xi, yi : numpy.ndarray
        Integer centre pixels.
    half : int
        Stamp half-size ``bd``; stamp ``image[yi-bd+1 : yi+bd, xi-bd+1 : xi+bd]``.

    Returns
    -------
    numpy.ndarray
        ``(n_star, 2 half - 1, 2 half - 1)``, dtype of ``image``; the centre pixel is ``[half-1, half-1]``.

    Examples
    --------
    >>> extract_stamps(np.arange(9.0).reshape(3, 3), np.array([0]), np.array([2]), 2).tolist()
    [[[0.0, 3.0, 4.0], [0.0, 6.0, 7.0], [0.0, 0.0, 0.0]]]
    """
    side = 2 * half - 1
    padded = np.pad(image, half)
    windows = sliding_window_view(padded, (side, side))
    return np.array(windows[np.asarray(yi) + 1, np.asarray(xi) + 1])


def box_nanmean(field: np.ndarray, xi: np.ndarray, yi: np.ndarray, half: int) -> np.ndarray:
    """Mean of ``field`` in the ``(2 half - 1)`` box around each ``[yi, xi]`` (NaN and outside ignored)."""
    stamps = extract_stamps(np.where(np.isfinite(field), field, np.nan), xi, yi, half)
    inside = extract_stamps(np.isfinite(field).astype(np.float64), xi, yi, half)
    total = np.nansum(np.where(inside > 0, stamps, 0.0), axis=(1, 2))
    count = inside.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def fidelity_db(uc: np.ndarray) -> np.ndarray:
    """Integer fidelity ``floor(-10 log10(U/C))`` [dB]; +inf where U/C is 0 (beyond the encoding)."""
    with np.errstate(divide="ignore"):
        return np.floor(-10.0 * np.log10(uc))


def stamp_coverage(
    inweight: np.ndarray, xi, yi, n2: int, threshold: float = COVERAGE_WEIGHT_MIN
) -> np.ndarray:
    """Number of input images with weight > ``threshold`` in the postage stamp containing each star.

    Parameters
    ----------
    inweight : numpy.ndarray
        ``(n_img, n1P, n1P)`` INWEIGHT of output PSF 0, indexed ``[image, J, I]``.
    xi, yi : numpy.ndarray
        Star pixels (padding included).
    n2 : int
        Stamp side [output px].
    threshold : float
        Weight threshold. Default: `COVERAGE_WEIGHT_MIN`.

    Returns
    -------
    numpy.ndarray
        int64 counts.
    """
    cov = np.count_nonzero(inweight > threshold, axis=0)
    return cov[np.asarray(yi) // n2, np.asarray(xi) // n2].astype(np.int64)


def catalog_rows(ctx, ibx: int, iby: int, stars: BlockStars, gs_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Catalogue rows and stamps of the stars of one block.

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic.
    ibx, iby : int
        Block indices.
    stars : BlockStars
        The block's stars (`stars_of_block`).
    gs_index : int
        Layer index of the noiseless ``gsstar`` layer.

    Returns
    -------
    tuple of numpy.ndarray
        ``rows`` float64 ``(n_star, len(CATALOG_COLUMNS))`` and ``stamps`` float32
        ``(n_star, 2 bd - 1, 2 bd - 1)``.
    """
    cfg = ctx.cfg
    img = ctx.outimage(ibx, iby)
    half = min(STAMP_HALF, cfg.n2)
    sigma_w = WINDOW_ARCSEC / ctx.dtheta_arcsec
    stamps = extract_stamps(img.get_coadded_layer(gs_index), stars.xi, stars.yi, half)
    rows = np.full((len(stars), len(CATALOG_COLUMNS)), np.nan)
    rows[:, :10] = np.column_stack(
        [stars.ra_deg, stars.dec_deg, np.full(len(stars), ibx), np.full(len(stars), iby), stars.x, stars.y,
         stars.xi, stars.yi, stars.dx, stars.dy]
    )  # fmt: skip
    lo, hi = half - 1, cfg.NsideP - half  # stamp inside the block array
    inside = (stars.xi >= lo) & (stars.xi <= hi) & (stars.yi >= lo) & (stars.yi <= hi)
    rows[:, 22] = np.where(inside, FLAG_OK, FLAG_TRUNCATED)
    for i in np.flatnonzero(inside):
        s = measure_stamp(stamps[i], sigma_w)
        if not s.ok:
            rows[i, 22] = FLAG_HSM_FAILED
        else:
            rows[i, 10:20] = (
                s.amplitude, s.x0 - (half - 1) - stars.dx[i], s.y0 - (half - 1) - stars.dy[i], s.sigma,
                s.g1, s.g2, s.m42_re, s.m42_im, s.eplus, s.ecross,
            )  # fmt: skip
    if "FIDELITY" in img.hdu_names:
        rows[:, 20] = box_nanmean(
            fidelity_db(img.get_output_map("FIDELITY")), stars.xi, stars.yi, FIDELITY_BOX_HALF
        )
    rows[:, 21] = stamp_coverage(img.inweight(j_out=0), stars.xi, stars.yi, cfg.n2)
    return rows, stamps.astype(np.float32)


def map_histograms(ctx, ibx: int, iby: int) -> dict:
    """Histograms of sqrt(Sigma), n_eff and integer fidelity over the unique region of one block.

    Returns
    -------
    dict
        ``'sqrts'``, ``'neff'``: counts in `SQRTS_EDGES` / `NEFF_EDGES` bins, ``'sqrts_high'`` /
        ``'neff_high'``: counts at or above the last edge, ``'fid'``: counts of integer dB 0..80,
        ``'fid_total'``: pixels with a fidelity value, ``'npix'``; a key is absent when its map is.
    """
    img = ctx.outimage(ibx, iby)
    sl = ctx.unique_slice
    out = {"npix": ctx.cfg.Nside**2}
    for key, extname, edges, transform in (
        ("sqrts", "SIGMA", SQRTS_EDGES, np.sqrt),
        ("neff", "EFFCOVER", NEFF_EDGES, lambda v: v),
    ):
        if extname in img.hdu_names:
            v = transform(img.get_output_map(extname)[sl, sl])
            out[key] = np.histogram(v, bins=edges)[0]
            out[key + "_high"] = int(np.count_nonzero(v >= edges[-1]))
            out[key][-1] -= np.count_nonzero(v == edges[-1])  # np.histogram closes the last bin
    if "FIDELITY" in img.hdu_names:
        fid = fidelity_db(img.get_output_map("FIDELITY")[sl, sl]).ravel()
        ok = (fid >= 0) & (fid <= FIDELITY_DB_MAX)
        out["fid"] = np.bincount(fid[ok].astype(np.int64), minlength=FIDELITY_DB_MAX + 1)
        out["fid_total"] = int(fid.size)
    return out


def profile_samples(image: np.ndarray, stars: BlockStars, rpix: int):
    """Yield ``(radius bin j, values)`` of the pixels around the stars, for ``j = 0 .. rpix-1``.

    Every pixel of the box ``+-(rpix + 1)`` around each rounded star position is assigned the bin
    ``floor(distance from the true position)`` [output px].  The boxes must lie inside ``image``
    (stars in the unique region and ``rpix + 1 <= PAD n2``).

    Parameters
    ----------
    image : numpy.ndarray
        Noisy-star layer of the block, ``(NsideP, NsideP)``.
    stars : BlockStars
        The block's stars.
    rpix : int
        Number of radius bins.

    Yields
    ------
    tuple
        ``(j, values)`` with float64 values (possibly empty).
    """
    r = rpix + 1
    off = np.arange(-r, r + 1)
    px = stars.xi[:, None, None] + off[None, None, :]
    py = stars.yi[:, None, None] + off[None, :, None]
    dist = np.hypot(px - stars.x[:, None, None], py - stars.y[:, None, None])
    bins = np.floor(dist).astype(np.int64)
    values = image[py, px].astype(np.float64)
    sel = bins < rpix
    bins, values = bins[sel], values[sel]
    order = np.argsort(bins, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(bins, minlength=rpix))))
    for j in range(rpix):
        yield j, values[order[bounds[j] : bounds[j + 1]]]


def profile_radius(pad_px: int, rpix_try: int = 50) -> int:
    """Number of profile radius bins, ``min(rpix_try, PAD n2 - 1)`` (<= 0: no profiles).

    Examples
    --------
    >>> profile_radius(50), profile_radius(0)
    (49, -1)
    """
    return min(rpix_try, pad_px - 1)
