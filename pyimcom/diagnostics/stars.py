"""SimulatedStar section: PSF size and shape residuals of injected stars, noise and coverage.

Layers spec §4.5.  Needs a ``gsstar<n>`` layer (otherwise the section is skipped with a note); uses
the first ``nstar<n>,f,b,q`` layer, if any, for radial profiles of noisy stars (skipped with a note
when absent or when PAD = 0).  Blocks are processed one at a time (`pyimcom.diagnostics.starcat`).

Files (``<DS>_SimulatedStar_`` + ...): ``StarCat.txt`` (catalogue, header ``#  <median sigma>``),
``StarCat_galsim.fits`` (stamp cube ``[N, 79, 79]``), ``fidHist.txt``, ``sqrtS_hist.dat``,
``neff_hist.dat``, ``dynrange.dat``, ``all.png`` (6 panels) and ``etmap.png`` (per-block map).
Figures are PNG (the reference writes PDF) so that the TeX-free PDF can embed them too.

Statistics (`STAT_KEYS`, over stars whose HSM fit succeeded; failures are counted, never zeros):

* ``RMS_ELLIP_ADAPT = sqrt(mean(g1^2 + g2^2))``, ``RMS_ELLIP_FIXEDWIN = sqrt(mean(e+^2 + ex^2))``;
* ``RMS_SIZE_ERR = sqrt(mean((sigma - sigma_med)^2)) / sigma_med``, ``MED_SIZE = sigma_med`` [output px];
* ``PCT_NOISE_GT2``: percent of unique pixels with ``sqrt(Sigma) >= 2``;
* ``PCT_NOT_COVERED``: percent of stars whose postage stamp has no input image with weight > 0.01;
* ``BLK_SIMSTAR_G50PCT``/``G90PCT``: 50th/90th percentiles over blocks of ``|mean g|`` of the
  covered stars of each block;

followed by ``N_STARS``, ``N_HSM_FAILED``, ``N_TRUNCATED`` (stamps crossing the block edge, PAD = 0
only; not measured) and ``TARGET_SIZE`` (target Gaussian sigma
``EXTRASMOOTH * 0.11 / s_out`` [output px]).  Status: PASS when ``RMS_ELLIP_ADAPT`` and
``RMS_SIZE_ERR`` are at most `MAX_RMS_ELLIP` and `MAX_RMS_SIZE_ERR`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from astropy.io import fits

from ..instrument import PIXSCALE_ARCSEC
from ._util import atomic_path, savetxt_atomic
from .content import FAIL, NOT_APPLICABLE, PASS, FigureRef, Items, Paragraph, SectionResult
from .percentiles import StreamingPercentiles
from .starcat import (
    CATALOG_COLUMNS,
    FIDELITY_DB_MAX,
    FLAG_HSM_FAILED,
    FLAG_OK,
    FLAG_TRUNCATED,
    NEFF_EDGES,
    SQRTS_EDGES,
    catalog_rows,
    find_star_layers,
    map_histograms,
    profile_radius,
    profile_samples,
    stars_of_block,
)
from .stars_figures import figure_all, figure_etmap

__all__ = [
    "NAME",
    "STAT_KEYS",
    "MAX_RMS_ELLIP",
    "MAX_RMS_SIZE_ERR",
    "PROFILE_PCTS",
    "star_statistics",
    "block_means",
    "build",
]

NAME = "SimulatedStar"
STAT_KEYS = (
    "RMS_ELLIP_ADAPT", "RMS_ELLIP_FIXEDWIN", "RMS_SIZE_ERR", "MED_SIZE", "PCT_NOISE_GT2",
    "PCT_NOT_COVERED", "BLK_SIMSTAR_G50PCT", "BLK_SIMSTAR_G90PCT",
)  # fmt: skip
MAX_RMS_ELLIP = 1e-3  # PASS threshold on RMS_ELLIP_ADAPT
MAX_RMS_SIZE_ERR = 1e-3  # PASS threshold on RMS_SIZE_ERR
PROFILE_PCTS = (1, 5, 25, 50, 75, 95, 99)  # percentiles of the noisy-star profiles
_COL = {name: i for i, name in enumerate(CATALOG_COLUMNS)}


def block_means(cat: np.ndarray, nblock: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-block means of sigma, g1, g2 over stars with a successful fit and coverage > 0.

    Parameters
    ----------
    cat : numpy.ndarray
        Catalogue ``(n_star, len(CATALOG_COLUMNS))``.
    nblock : int
        Blocks per side.

    Returns
    -------
    tuple of numpy.ndarray
        Three ``(nblock, nblock)`` float64 maps indexed ``[iby, ibx]``; NaN for blocks without such stars.
    """
    use = (cat[:, _COL["flag"]] == FLAG_OK) & (cat[:, _COL["coverage"]] > 0)
    ix = cat[use, _COL["ibx"]].astype(np.int64)
    iy = cat[use, _COL["iby"]].astype(np.int64)
    flat = iy * nblock + ix
    count = np.bincount(flat, minlength=nblock * nblock).astype(float)
    maps = []
    for name in ("sigma", "g1", "g2"):
        s = np.bincount(flat, weights=cat[use, _COL[name]], minlength=nblock * nblock)
        with np.errstate(invalid="ignore", divide="ignore"):
            maps.append(np.where(count > 0, s / count, np.nan).reshape(nblock, nblock))
    return tuple(maps)


def _nanpct(values: np.ndarray, p: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, p)) if finite.size else math.nan


def star_statistics(cat: np.ndarray, nblock: int, sqrts_counts=None, sqrts_high: int = 0) -> dict:
    """Summary statistics of the star catalogue (see the module docstring).

    Parameters
    ----------
    cat : numpy.ndarray
        Catalogue ``(n_star, len(CATALOG_COLUMNS))``.
    nblock : int
        Blocks per side.
    sqrts_counts : numpy.ndarray, optional
        sqrt(Sigma) histogram counts; None if there is no SIGMA map (``PCT_NOISE_GT2`` is then NaN).
    sqrts_high : int
        Pixels with sqrt(Sigma) >= 2. Default: 0.

    Returns
    -------
    dict
        `STAT_KEYS` then ``N_STARS``, ``N_HSM_FAILED`` and ``N_TRUNCATED``, in this order (floats; NaN
        when undefined).
    """
    ok = cat[:, _COL["flag"]] == FLAG_OK
    good = cat[ok]
    out = dict.fromkeys(STAT_KEYS, math.nan)
    if good.shape[0]:
        sigma = good[:, _COL["sigma"]]
        med = float(np.median(sigma))
        out["RMS_ELLIP_ADAPT"] = float(np.sqrt(np.mean(good[:, _COL["g1"]] ** 2 + good[:, _COL["g2"]] ** 2)))
        out["RMS_ELLIP_FIXEDWIN"] = float(
            np.sqrt(np.mean(good[:, _COL["eplus"]] ** 2 + good[:, _COL["ecross"]] ** 2))
        )
        out["RMS_SIZE_ERR"] = float(np.sqrt(np.mean((sigma - med) ** 2)) / med)
        out["MED_SIZE"] = med
    if sqrts_counts is not None:
        total = int(np.sum(sqrts_counts)) + int(sqrts_high)
        out["PCT_NOISE_GT2"] = 100.0 * sqrts_high / total if total else math.nan
    if cat.shape[0]:
        out["PCT_NOT_COVERED"] = 100.0 * (1.0 - np.count_nonzero(cat[:, _COL["coverage"]] > 0) / cat.shape[0])
    _, g1, g2 = block_means(cat, nblock)
    g = np.hypot(g1, g2).ravel()
    out["BLK_SIMSTAR_G50PCT"], out["BLK_SIMSTAR_G90PCT"] = _nanpct(g, 50), _nanpct(g, 90)
    out["N_STARS"] = int(cat.shape[0])
    out["N_HSM_FAILED"] = int(np.count_nonzero(cat[:, _COL["flag"]] == FLAG_HSM_FAILED))
    out["N_TRUNCATED"] = int(np.count_nonzero(cat[:, _COL["flag"]] == FLAG_TRUNCATED))
    return out


def _stamp_writer(path: str, n_star: int, side: int):
    header = fits.Header()
    header["SIMPLE"], header["BITPIX"], header["NAXIS"] = True, -32, 3
    header["NAXIS1"], header["NAXIS2"], header["NAXIS3"] = side, side, n_star
    header["EXTEND"] = True
    header["COMMENT"] = "gsstar postage stamps [star, y, x], rows as in the StarCat.txt catalogue"
    return fits.StreamingHDU(path, header)


def _catalog_pass(ctx, positions, gs_index) -> tuple[np.ndarray, dict]:
    """Measure every star (writing the stamp cube) and accumulate the map histograms."""
    n_total = sum(len(s) for s in positions.values())
    side = 2 * min(40, ctx.cfg.n2) - 1
    rows_all, hist = [], {}
    cube_path = ctx.data_path("SimulatedStar_StarCat_galsim.fits")
    with atomic_path(cube_path) as tmp:
        writer = _stamp_writer(tmp, n_total, side) if n_total else None
        for (ibx, iby), stars in positions.items():
            if len(stars):
                rows, stamps = catalog_rows(ctx, ibx, iby, stars, gs_index)
                writer.write(stamps.astype(">f4"))
                rows_all.append(rows)
            for key, value in map_histograms(ctx, ibx, iby).items():
                hist[key] = value if key not in hist else hist[key] + value
        if writer is not None:
            writer.close()
        else:
            fits.PrimaryHDU(np.zeros((0, side, side), dtype=np.float32)).writeto(tmp)
    cat = np.vstack(rows_all) if rows_all else np.zeros((0, len(CATALOG_COLUMNS)))
    return cat, hist


def _profiles(ctx, positions, ns_index: int, rpix: int) -> np.ndarray:
    """Percentile profiles ``(rpix, 2 + len(PROFILE_PCTS))``: radius, count, percentiles."""
    acc = StreamingPercentiles(range(rpix), PROFILE_PCTS)
    while not acc.done:
        for (ibx, iby), stars in positions.items():
            if len(stars):
                image = ctx.outimage(ibx, iby).get_coadded_layer(ns_index)
                for j, values in profile_samples(image, stars, rpix):
                    acc.feed(j, values)
        acc.end_pass()
    return np.array([[j, acc.n_finite[j], *acc.result(j)] for j in range(rpix)]).reshape(rpix, -1)


def _profiles_or_note(ctx, positions, ns) -> tuple[np.ndarray | None, list[str]]:
    """Noisy-star profiles, or None with the reason they were skipped."""
    rpix = profile_radius(ctx.pad_px)
    if ns is None:
        return None, ["Noisy-star profiles skipped: no nstar<n>,f,b,q layer in EXTRAINPUT."]
    if rpix < 1:
        return None, ["Noisy-star profiles skipped: PAD = 0 (profiles reach into the padding region)."]
    return _profiles(ctx, positions, ns[0], rpix), []


def _ingredient_notes(ctx, stats, hist) -> list[str]:
    """Notes on flagged stamps and maps missing from the block files."""
    notes = []
    if stats["N_TRUNCATED"]:
        notes.append(
            f"{stats['N_TRUNCATED']} star stamp(s) cross the edge of the block array (PAD = "
            f"{ctx.cfg.postage_pad}): flagged, not measured."
        )
    maps = (("SIGMA", "sqrts"), ("EFFCOVER", "neff"), ("FIDELITY", "fid"))
    missing = [m for m, key in maps if key not in hist]
    if missing:
        notes.append("Maps absent from the blocks (their panels are empty): " + ", ".join(missing) + ".")
    return notes


def _write_histograms(ctx, hist) -> list[str]:
    files = []
    for key, edges, label in (
        ("sqrts", SQRTS_EDGES, "sqrtS_hist.dat"),
        ("neff", NEFF_EDGES, "neff_hist.dat"),
    ):
        if key in hist:
            counts, high = hist[key], hist[key + "_high"]
            pct = 100.0 * high / max(int(counts.sum()) + high, 1)
            centres = 0.5 * (edges[1:] + edges[:-1])
            path = ctx.data_path("SimulatedStar_" + label)
            files.append(
                savetxt_atomic(
                    path, np.column_stack([centres, counts]), header=f" {counts.max():11.5E} {pct:9.6f}"
                )
            )
    if "fid" in hist and hist["fid_total"]:
        frac = hist["fid"] / hist["fid_total"]
        rows = np.column_stack([np.arange(FIDELITY_DB_MAX + 1), frac, np.cumsum(frac)])[20:]
        files.append(
            savetxt_atomic(ctx.data_path("SimulatedStar_fidHist.txt"), rows, fmt=["%2d", "%8.6f", "%8.6f"])
        )
    return files


def _skipped(reason: str) -> SectionResult:
    return SectionResult(
        NAME, "Simulated star section", [Paragraph(f"Skipped: {reason}.")], [], {"SKIPPED": reason},
        f"SKIPPED             {reason}", NOT_APPLICABLE, reason,
    )  # fmt: skip


def build(ctx) -> SectionResult:
    """Build the SimulatedStar section (files, statistics and status in the module docstring)."""
    gs, ns = find_star_layers(ctx.layer_names)
    if gs is None:
        return _skipped("no gsstar<n> layer in EXTRAINPUT (needed for the PSF shape measurements)")
    if not ctx.present_blocks:
        return _skipped("no block file found")
    positions = {b: stars_of_block(ctx, *b, gs[1]) for b in ctx.present_blocks}
    cat, hist = _catalog_pass(ctx, positions, gs[0])
    stats = star_statistics(cat, ctx.nblock, hist.get("sqrts"), hist.get("sqrts_high", 0))
    target = ctx.cfg.sigmatarget * PIXSCALE_ARCSEC / ctx.dtheta_arcsec
    stats["TARGET_SIZE"] = float(target)
    header = f" {stats['MED_SIZE']:14.8E}"
    files = [savetxt_atomic(ctx.data_path("SimulatedStar_StarCat.txt"), cat, header=header)]
    files += _write_histograms(ctx, hist)
    profiles, notes = _profiles_or_note(ctx, positions, ns)
    if profiles is not None:
        fmt = ["%3d", "%8d"] + ["%12.5E"] * len(PROFILE_PCTS)
        files.append(savetxt_atomic(ctx.data_path("SimulatedStar_dynrange.dat"), profiles, fmt=fmt))
    notes += _ingredient_notes(ctx, stats, hist)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        path_all = figure_all(ctx.data_path("SimulatedStar_all.png"), cat, hist, profiles, stats)
        path_map = figure_etmap(
            ctx.data_path("SimulatedStar_etmap.png"), *block_means(cat, ctx.nblock), target, ctx.filter_name
        )
    data_text = "\n".join(f"{k:<19s} {stats[k]}" for k in stats)
    paths = (ctx.relpath(path_all), ctx.relpath(path_map))
    blocks = _describe(ctx, gs, ns, stats, notes, len(positions), paths)
    data = dict(stats, FILES=[ctx.relpath(f) for f in files], NOTES=notes)
    status, note = _status(stats)
    return SectionResult(
        NAME, "Simulated star section", blocks, [path_all, path_map], data, data_text, status, note
    )


_CAPTION_ALL = (
    "Noisy-star profiles (top left); histograms of the effective coverage n_eff and of the noise "
    "amplification sqrt(S) (top centre, right); size errors, adaptive ellipticity and fixed-window "
    "(0.4 arcsec) ellipticity versus fidelity (bottom)."
)
_CAPTION_MAP = (
    "Per-block PSF size error sigma/sigma_target - 1 (colour) and mean ellipticity of the covered stars "
    "(whiskers along the position angle; length 0.5 block at |g| = 1e-4, growing as the square root of "
    "|g|/1e-4 below and of 1 + ln(|g|/1e-4) above)."
)


def _describe(ctx, gs, ns, stats, notes, n_blocks, paths) -> list:
    """Content blocks of the section."""
    target = stats["TARGET_SIZE"]
    blocks = [
        Paragraph(
            f"Stars of layer {ctx.layer_names[gs[0]]} (HEALPix resolution {gs[1]}) in {n_blocks} block(s): "
            f"{stats['N_STARS']} stars; {stats['N_HSM_FAILED']} HSM failure(s) and "
            f"{stats['N_TRUNCATED']} stamp(s) crossing the block edge were flagged and excluded from the "
            "statistics."
        )
    ]
    if ns is not None:
        blocks.append(
            Paragraph(
                f"Noisy stars: layer {ctx.layer_names[ns[0]]}: flux {ns[2]:g} e, background {ns[3]:g} e/pix, "
                f"seed index {ns[4]:d}."
            )
        )
    if notes:
        blocks.append(Items(tuple(notes)))
    blocks += [
        Paragraph(
            f"Threshold: PASS when RMS_ELLIP_ADAPT <= {MAX_RMS_ELLIP:g} and RMS_SIZE_ERR <= "
            f"{MAX_RMS_SIZE_ERR:g}. Target size {target:.5f} output px; median adaptive size "
            f"{stats['MED_SIZE']:.5f} output px."
        ),
        FigureRef(paths[0], _CAPTION_ALL, 6.5),
        FigureRef(paths[1], _CAPTION_MAP, 5.5),
    ]
    return blocks


def _status(stats) -> tuple[str, str]:
    """Summary status and note from the statistics."""
    if stats["N_STARS"] == stats["N_TRUNCATED"]:
        reason = (
            "no star in the mosaic" if not stats["N_STARS"] else "every stamp crosses a block edge (PAD = 0)"
        )
        return NOT_APPLICABLE, reason
    if stats["N_STARS"] == stats["N_HSM_FAILED"] + stats["N_TRUNCATED"]:
        return FAIL, "every HSM fit failed"
    ellip, size = stats["RMS_ELLIP_ADAPT"], stats["RMS_SIZE_ERR"]
    note = f"RMS_ELLIP_ADAPT = {ellip:.3g}, RMS_SIZE_ERR = {size:.3g}"
    return (PASS if ellip <= MAX_RMS_ELLIP and size <= MAX_RMS_SIZE_ERR else FAIL), note
