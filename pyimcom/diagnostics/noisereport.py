"""NoiseReport section: mosaic-averaged power spectra of the coadded noise layers.

Per block, `pyimcom.diagnostics.noise.block_spectra` gives the windowed 2-D and 1-D spectra of every
noise layer; each block's spectra are written to ``<DS>_<B>_{ibx:02d}_{iby:02d}_alpha_0.9_ps.fits``
(HDU 0: ``[n_noise, L/8, L/8]`` float64 with ``INSTEM``, ``MEANCOVG``, ``LAYERKEY``, ``NLAYERS``,
``LAYERnn``, ``AREAUNIT``; ``CONFIG``; ``P1D_TABLE`` with ``Wavenumber`` [cycles/output px],
``Power``, ``Error``, ``NoiseLayerID``), bundled into ``<DS>_blockps_alpha_0.9.tar`` and removed.
The mean over blocks goes to ``<DS>_<B>_alpha_0.9_ps_avg.fits`` (``<B>`` = first letter of the
filter).  Only one block's spectra are in memory besides the running sums.

Data block: one line per noise layer, ``LAYER%02d <name %-24s> <mean(P2D_avg) / s_out^2 %11.5E>``,
the mosaic-averaged variance per output pixel of the coadded layer, then ``#`` comment lines.

Status: for every ``whitenoise`` layer the measured variance must agree with the window-weighted mean
of the SIGMA map (the variance that unit white input noise must have after coaddition) within
`WHITE_NOISE_TOLERANCE` or `WHITE_NOISE_NSIGMA` times the statistical error of the measured variance
(`pyimcom.diagnostics.noise.variance_rel_error`; coadded noise is correlated, so a small mosaic measures
its variance to only ~10%); N/A without white-noise layer or SIGMA map.  Departures from the reference:
missing blocks are skipped and counted (the reference aborts); the error of the averaged 1-D spectrum
is ``sqrt(sum err^2) / n_blocks`` (the reference averages the errors); colour scales follow the data;
figures are PNG, ``<DS>_<B>_alpha_0.9_4panel.png`` (2-D spectra; the reference's ``_3panel.pdf``) and
``<DS>_<B>_alpha_0.9_p1d.png`` (1-D spectra).
"""

from __future__ import annotations

import logging
import os
import tarfile

import numpy as np
from astropy.io import fits
from matplotlib.colors import LogNorm

from ..io.config_hdu import config_table_hdu
from ..io.fitsutil import atomic_write
from ._util import atomic_path, new_figure, save_figure
from .content import FAIL, NOT_APPLICABLE, PASS, FigureRef, Items, Paragraph, SectionResult
from .noise import ALPHA, block_spectra, noise_layers

__all__ = [
    "NAME",
    "WHITE_NOISE_TOLERANCE",
    "WHITE_NOISE_NSIGMA",
    "file_tag",
    "mosaic_spectra",
    "layer_variances",
    "build",
]

logger = logging.getLogger(__name__)

NAME = "NoiseReport"
WHITE_NOISE_TOLERANCE = 0.05  # |variance / SIGMA level - 1| always accepted for white-noise layers
WHITE_NOISE_NSIGMA = 4.0  # ... and up to this many statistical errors of the variance

# figure panels: (title, family, unit label, selection rule)
_PANELS = (
    ("white noise", "whitenoise", r"arcsec$^2$"),
    ("1/f noise", "1fnoise", r"arcsec$^2$"),
    ("lab noise", "labnoise", r"$\mu$Jy$^2$ arcsec$^{-2}$"),
    ("simulated noise", "noise", r"(DN/s)$^2$ arcsec$^2$"),
)


def file_tag(alpha: float, binned: bool) -> str:
    """File-name tag: ``'_alpha_0.9'`` when windowed, plus ``'_nobin'`` without binning.

    Examples
    --------
    >>> file_tag(0.9, True), file_tag(0.0, False)
    ('_alpha_0.9', '_nobin')
    """
    return (f"_alpha_{alpha:g}" if alpha > 0 else "") + ("" if binned else "_nobin")


def _header(ctx, layers, meancovg=None) -> fits.Header:
    h = fits.Header()
    h["INSTEM"] = (os.path.basename(ctx.stem), "mosaic file stem")
    if meancovg is not None:
        h["MEANCOVG"] = (meancovg, "mean number of input images per stamp")
    h["LAYERKEY"] = str({name: k for k, name, _ in layers})
    h["NLAYERS"] = (len(layers), "number of noise layers")
    for i, (_, name, _) in enumerate(layers):
        h[f"LAYER{i:02d}"] = name
    h["AREAUNIT"] = "arcsec**2"
    return h


def _p1d_table(layers, k, p1d, err) -> fits.BinTableHDU:
    n_noise, nrad = p1d.shape
    cols = [
        fits.Column("Wavenumber", "E", unit="cycles/pix", array=np.tile(k, n_noise)),
        fits.Column("Power", "E", array=p1d.ravel()),
        fits.Column("Error", "E", array=err.ravel()),
        fits.Column("NoiseLayerID", "I", array=np.repeat([lk for lk, _, _ in layers], nrad)),
    ]
    return fits.BinTableHDU.from_columns(cols, name="P1D_TABLE")


def mosaic_spectra(ctx, layers, alpha: float = ALPHA) -> dict:
    """Per-block spectra of the noise layers (written to files) and their mean over the blocks.

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic.
    layers : list of tuple
        `pyimcom.diagnostics.noise.noise_layers` output (non-empty).
    alpha : float
        Tukey parameter. Default: 0.9.

    Returns
    -------
    dict
        ``'p2d'`` ``(n_noise, Lb, Lb)``, ``'p1d'``/``'p1d_err'`` ``(n_noise, nrad)``, ``'k'`` [cycles/output
        px], ``'sigma_level'`` (mean over blocks, NaN without SIGMA maps), ``'variance_err'``
        ``(n_noise,)`` (statistical error of the mean variance per output pixel), ``'blocks_used'``,
        ``'avg_file'``, ``'tar_file'``, ``'binned'``.  Empty arrays when no block exists.
    """
    band = ctx.filter_name[0]
    sums, files, sigma_levels, tag = None, [], [], ""
    for ibx, iby in ctx.present_blocks:
        spec = block_spectra(ctx, ibx, iby, layers, alpha)
        tag = file_tag(alpha, spec["binned"])
        hdul = fits.HDUList(
            [
                fits.PrimaryHDU(spec["p2d"], header=_header(ctx, layers, spec["meancovg"])),
                config_table_hdu(ctx.cfg.to_file(None)),
                _p1d_table(layers, spec["k"], spec["p1d"], spec["p1d_err"]),
            ]
        )
        files.append(atomic_write(hdul, ctx.data_path(f"{band}_{ibx:02d}_{iby:02d}{tag}_ps.fits")))
        sigma_levels.append(spec["sigma_level"])
        var_err2 = (spec["variance_rel_err"] * layer_variances(spec["p2d"], ctx.dtheta_arcsec)) ** 2
        if sums is None:
            sums = {"p2d": spec["p2d"].copy(), "p1d": spec["p1d"].copy(), "err2": spec["p1d_err"] ** 2}
            sums["var_err2"] = var_err2
            k, binned = spec["k"], spec["binned"]
        else:
            sums["p2d"] += spec["p2d"]
            sums["p1d"] += spec["p1d"]
            sums["err2"] += spec["p1d_err"] ** 2
            sums["var_err2"] += var_err2
    n = len(files)
    if n == 0:
        return {"p2d": np.zeros((0, 0, 0)), "blocks_used": 0, "sigma_level": np.nan}
    out = {
        "p2d": sums["p2d"] / n,
        "p1d": sums["p1d"] / n,
        "p1d_err": np.sqrt(sums["err2"]) / n,
        "k": k,
        "binned": binned,
        "sigma_level": float(np.mean(sigma_levels)),
        "variance_err": np.sqrt(sums["var_err2"]) / n,
        "blocks_used": n,
    }
    avg = fits.HDUList(
        [
            fits.PrimaryHDU(out["p2d"], header=_header(ctx, layers)),
            _p1d_table(layers, k, out["p1d"], out["p1d_err"]),
        ]
    )
    out["avg_file"] = atomic_write(avg, ctx.data_path(f"{band}{tag}_ps_avg.fits"))
    out["tar_file"] = ctx.data_path(f"blockps{tag}.tar")
    with atomic_path(out["tar_file"]) as tmp, tarfile.open(tmp, "w") as tar:
        for f in files:
            tar.add(f, arcname=os.path.basename(f))
    for f in files:
        os.remove(f)
    return out


def layer_variances(p2d: np.ndarray, dtheta_arcsec: float) -> np.ndarray:
    """Variance per output pixel of each layer, ``mean(P2D[k]) / s_out^2``.

    Examples
    --------
    >>> layer_variances(np.full((1, 4, 4), 0.0016 * 0.25), 0.04).round(12).tolist()
    [0.25]
    """
    return p2d.reshape(p2d.shape[0], -1).mean(axis=1) / dtheta_arcsec**2


def _pick_panels(layers):
    """For each panel, the PS index of the layer shown (None if absent), following the reference."""
    picks = []
    for _, family, _ in _PANELS:
        idx = [i for i, (_, name, fam) in enumerate(layers) if fam == family]
        if family == "noise":
            with_b = [i for i in idx if "b" in layers[i][1].partition(",")[2]]
            idx = with_b or idx
        picks.append(idx[-1] if idx else None)
    return picks


def _figures(ctx, layers, res) -> tuple[str, str, list]:
    s_out = ctx.dtheta_arcsec
    extent = (-0.5 / s_out, 0.5 / s_out, -0.5 / s_out, 0.5 / s_out)
    picks = _pick_panels(layers)
    fig = new_figure(9.0, 7.5)
    for panel, ((title, _, unit), pick) in enumerate(zip(_PANELS, picks, strict=True)):
        ax = fig.add_subplot(2, 2, panel + 1)
        ax.set_xlabel("u [cycles/arcsec]")
        ax.set_ylabel("v [cycles/arcsec]")
        if pick is None:
            ax.set_title(f"{title}: not run")
            ax.set_axis_off()
            continue
        p = res["p2d"][pick]
        vmax = float(np.nanmax(p)) if np.any(p > 0) else 1.0
        im = ax.imshow(
            np.clip(p, vmax / 300, None), origin="lower", extent=extent, cmap="gnuplot",
            norm=LogNorm(vmin=vmax / 300, vmax=vmax),
        )  # fmt: skip
        ax.set_title(f"{title}: {layers[pick][1]}")
        fig.colorbar(im, ax=ax, label=unit)
    fig.tight_layout()
    path2d = save_figure(
        fig, ctx.data_path(f"{ctx.filter_name[0]}{file_tag(ALPHA, res['binned'])}_4panel.png")
    )
    fig = new_figure(7.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    variances = layer_variances(res["p2d"], s_out)
    for i, (_, name, _) in enumerate(layers):
        norm = variances[i] * s_out**2 if variances[i] > 0 else 1.0
        ax.errorbar(res["k"] / s_out, res["p1d"][i] / norm, yerr=res["p1d_err"][i] / norm, label=name, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wavenumber [cycles/arcsec]")
    ax.set_ylabel(r"$P_{1D}$ / (variance $s_{\rm out}^2$)")
    ax.set_title(f"Azimuthally averaged noise spectra, {ctx.filter_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path1d = save_figure(fig, ctx.data_path(f"{ctx.filter_name[0]}{file_tag(ALPHA, res['binned'])}_p1d.png"))
    captions = []
    for (title, _, _), pick in zip(_PANELS, picks, strict=True):
        if pick is None:
            captions.append(f"{title}: not run")
        else:
            k, name, _ = layers[pick]
            captions.append(f"{title}: layer {k} (PyIMCOM) -> {pick} (PS table), name={name}")
    return path2d, path1d, captions


def _white_status(ratios: dict, ratio_errs: dict, level: float) -> tuple[str, str]:
    """Status and note of the white-noise check (see the module docstring)."""
    if not ratios:
        return NOT_APPLICABLE, "no white-noise layer to check"
    if not np.isfinite(level):
        return NOT_APPLICABLE, "no SIGMA map to check the white-noise level against"
    ok = all(
        abs(r - 1) <= max(WHITE_NOISE_TOLERANCE, WHITE_NOISE_NSIGMA * ratio_errs[name])
        for name, r in ratios.items()
    )
    name = max(ratios, key=lambda n: abs(ratios[n] - 1))
    note = f"white variance / Sigma = {ratios[name]:.3f} +- {ratio_errs[name]:.3f} ({name})"
    return (PASS if ok else FAIL), note


def _skipped(reason: str) -> SectionResult:
    blocks = [Paragraph(f"Skipped: {reason}.")]
    return SectionResult(
        NAME,
        "Injected noise layers",
        blocks,
        [],
        {"SKIPPED": reason},
        f"# SKIPPED {reason}",
        NOT_APPLICABLE,
        reason,
    )


def build(ctx, alpha: float = ALPHA) -> SectionResult:
    """Build the NoiseReport section (see the module docstring for files, data block and status)."""
    layers = noise_layers(ctx.layer_names)
    if not layers:
        return _skipped("no noise layer (whitenoise<q>, 1fnoise<q>, labnoise, noise,<label>) in EXTRAINPUT")
    res = mosaic_spectra(ctx, layers, alpha)
    if res["blocks_used"] == 0:
        return _skipped("no block file found")
    s_out = ctx.dtheta_arcsec
    variances = layer_variances(res["p2d"], s_out)
    lines = [f"LAYER{i:02d} {name:<24s} {variances[i]:11.5E}" for i, (_, name, _) in enumerate(layers)]
    n_missing = len(ctx.missing_blocks)
    lines.append(f"# BLOCKS_USED {res['blocks_used']:d} BLOCKS_MISSING {n_missing:d}")
    lines.append(f"# SIGMA_LEVEL {res['sigma_level']:11.5E}")
    white = [i for i, (_, _, fam) in enumerate(layers) if fam == "whitenoise"]
    level = res["sigma_level"]
    ratios = {layers[i][1]: float(variances[i] / level) for i in white}
    ratio_errs = {layers[i][1]: float(res["variance_err"][i] / level) for i in white}
    for name, r in ratios.items():
        lines.append(f"# WHITE_SIGMA_RATIO {name} {r:.6f} +- {ratio_errs[name]:.6f}")
    status, note = _white_status(ratios, ratio_errs, level)
    path2d, path1d, captions = _figures(ctx, layers, res)
    skipped = f"; {n_missing} missing block(s) skipped." if n_missing else "."
    caption_2d = "Mosaic-averaged 2-D noise power spectra. " + "; ".join(captions) + "."
    caption_1d = "Azimuthally averaged spectra, normalised to white noise of the same variance."
    blocks = [
        Paragraph(
            f"Windowed (Tukey alpha = {alpha:g}) power spectra of the coadded noise layers, averaged "
            f"over {res['blocks_used']} block(s){skipped}"
        ),
        Items(tuple(f"PS layer {i}: {name} (PyIMCOM layer {k})" for i, (k, name, _) in enumerate(layers))),
        Paragraph(
            f"Threshold: PASS when the variance of every white-noise layer agrees with the window-weighted "
            f"mean of the SIGMA map ({level:.5g}) within {100 * WHITE_NOISE_TOLERANCE:g}% or within "
            f"{WHITE_NOISE_NSIGMA:g} times the statistical error of the measured variance."
        ),
        FigureRef(ctx.relpath(path2d), caption_2d, 6.5),
        FigureRef(ctx.relpath(path1d), caption_1d, 5.5),
    ]
    data = {
        "LAYERS": [name for _, name, _ in layers],
        "LAYER_INDEX": [k for k, _, _ in layers],
        "VARIANCE": variances.tolist(),
        "SIGMA_LEVEL": res["sigma_level"],
        "VARIANCE_ERR": res["variance_err"].tolist(),
        "WHITE_SIGMA_RATIO": ratios,
        "WHITE_SIGMA_RATIO_ERR": ratio_errs,
        "BLOCKS_USED": res["blocks_used"],
        "BLOCKS_MISSING": n_missing,
        "AVG_FILE": ctx.relpath(res["avg_file"]),
        "TAR_FILE": ctx.relpath(res["tar_file"]),
    }
    figs = [path2d, path1d]
    return SectionResult(NAME, "Injected noise layers", blocks, figs, data, "\n".join(lines), status, note)
