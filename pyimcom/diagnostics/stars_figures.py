"""Figures of the SimulatedStar section (layers spec §4.5.3-4.5.4), drawn without TeX.

`figure_all` draws the 6-panel summary (noisy-star profiles, coverage and noise histograms, size
errors, adaptive and fixed-window ellipticities versus fidelity); `figure_etmap` the per-block map
of the size error with ellipticity whiskers.  Both write PNG files atomically; panels without data
say so instead of failing.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import SymLogNorm

from ._util import new_figure, save_figure
from .starcat import CATALOG_COLUMNS, FLAG_OK, NEFF_EDGES, SQRTS_EDGES

__all__ = ["figure_all", "figure_etmap", "whisker_length"]

_COL = {name: i for i, name in enumerate(CATALOG_COLUMNS)}
_YLIM = (1e-6, 1e-1)  # y range of the residual panels


def whisker_length(g: np.ndarray) -> np.ndarray:
    """Whisker length [blocks]: ``0.5 sqrt(v)`` with ``v = g/1e-4`` below 1e-4, ``1 + ln(g/1e-4)`` above.

    Examples
    --------
    >>> whisker_length(np.array([0.0, 1e-4])).tolist()
    [0.0, 0.5]
    """
    v = np.asarray(g, dtype=float) / 1e-4
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(v < 1, v, np.log(np.maximum(v, 1)) + 1)
    return 0.5 * np.sqrt(v)


def _empty(ax, title: str, why: str):
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _profiles_panel(ax, profiles, n_star):
    if profiles is None or not len(profiles):
        _empty(ax, "Star profiles", "no noisy-star profiles")
        return
    r = profiles[:, 0]
    ymin = min(float(np.nanmin(profiles[:, 2])), -30.0)
    ymax = max(float(np.nanmax(profiles[:, -1])) * 1.2, 50.0)
    for j in range(2, profiles.shape[1]):
        ax.plot(r, profiles[:, j], "k-" if j == 5 else "b:", lw=1)
    ax.set_yscale("symlog", linthresh=abs(ymin))
    ax.set_ylim(ymin, ymax)
    ax.set_xlim(0, r[-1])
    ax.set_xlabel(r"radius ($s_{\rm out}$)")
    ax.set_ylabel("intensity")
    ax.set_title("Star profiles")
    ax.text(0.45, 0.9, f"N={n_star}\n1,5,25,50,75,95,99 pctiles", transform=ax.transAxes, fontsize=8)
    ax.grid(True, color="g", lw=0.25)


def _hist_panel(ax, hist, key, edges, title, xlabel, high_label):
    if key not in hist:
        _empty(ax, title, "map not in the block files")
        return
    counts, high = hist[key], hist[key + "_high"]
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.bar(centres, np.maximum(counts, 0.5), width=0.7 * (edges[1] - edges[0]), color="#406000", bottom=0)
    ax.set_yscale("log")
    ax.set_ylim(0.9, 1.25 * max(int(counts.max()), 1))
    ax.set_xlim(edges[0], edges[-1])
    pct = 100.0 * high / max(int(counts.sum()) + high, 1)
    ax.text(0.55, 0.9, f"{pct:.3f}% at >{edges[-1]:g}", transform=ax.transAxes)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("counts")
    ax.set_title(title)
    ax.grid(True, color="g", lw=0.25)


def _residual_panel(ax, fid, series, title, ylabel, text):
    ok = np.isfinite(fid)
    for values, marker, colour, label in series:
        use = ok & np.isfinite(values)
        ax.scatter(
            fid[use],
            np.clip(values[use], _YLIM[0] * 1.1, None),
            s=4,
            marker=marker,
            color=colour,
            label=label,
        )
    lo = min(30.0, float(np.min(fid[ok]))) if ok.any() else 30.0
    hi = max(80.0, float(np.max(fid[ok]))) if ok.any() else 80.0
    ax.set_xlim(lo, hi)
    ax.set_yscale("log")
    ax.set_ylim(*_YLIM)
    ax.set_xlabel("Fidelity (dB)" if ok.any() else "Fidelity (dB): no FIDELITY map")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.text(0.05, 0.9, text, transform=ax.transAxes, fontsize=8)
    ax.grid(True, color="#808080", lw=0.25)
    if len(series) > 1:
        ax.legend(loc="upper right", fontsize=8)


def figure_all(path: str, cat: np.ndarray, hist: dict, profiles, stats: dict) -> str:
    """Draw the 6-panel summary figure (13.5 x 9 in) to ``path`` (PNG).

    Parameters
    ----------
    path : str
        Destination.
    cat : numpy.ndarray
        Star catalogue ``(n_star, len(CATALOG_COLUMNS))``.
    hist : dict
        Map histograms (`pyimcom.diagnostics.starcat.map_histograms`, summed over blocks).
    profiles : numpy.ndarray or None
        Noisy-star profiles ``(rpix, 9)``: radius, count, 1/5/25/50/75/95/99th percentiles.
    stats : dict
        `pyimcom.diagnostics.stars.star_statistics` output.

    Returns
    -------
    str
        ``path``.
    """
    fig = new_figure(13.5, 9.0)
    axes = [fig.add_subplot(2, 3, i) for i in range(1, 7)]
    _profiles_panel(axes[0], profiles, cat.shape[0])
    _hist_panel(axes[1], hist, "neff", NEFF_EDGES, "Coverage histogram", r"effective $N_{\rm exp}$", 10)
    _hist_panel(axes[2], hist, "sqrts", SQRTS_EDGES, "Noise histogram", r"$S^{1/2}$", 2)
    good = cat[cat[:, _COL["flag"]] == FLAG_OK]
    fid = good[:, _COL["fidelity_db"]]
    med = stats["MED_SIZE"]
    ds = good[:, _COL["sigma"]] / med - 1.0
    size_text = f"rms = {stats['RMS_SIZE_ERR']:11.5E}\n" + rf"$\sigma_{{\rm med}}$ = {med:.5f} px"
    size_series = [(ds, "1", "#00a040", "positive"), (-ds, "2", "#e06000", "negative")]
    _residual_panel(axes[3], fid, size_series, "Size errors", r"$|\sigma/\sigma_{\rm med}-1|$", size_text)
    g = np.hypot(good[:, _COL["g1"]], good[:, _COL["g2"]])
    g_text = f"rms = {stats['RMS_ELLIP_ADAPT']:11.5E}"
    _residual_panel(axes[4], fid, [(g, "+", "#2020ff", "")], "Ellipticities", r"$|g_{\rm out}|$", g_text)
    e = np.hypot(good[:, _COL["eplus"]], good[:, _COL["ecross"]])
    e_text = f"rms = {stats['RMS_ELLIP_FIXEDWIN']:11.5E}"
    e_label = r'$|e_{\rm out}|$ (0.4" window)'
    _residual_panel(axes[5], fid, [(e, "+", "#2020ff", "")], "Windowed ellipticity", e_label, e_text)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def figure_etmap(
    path: str, sigma: np.ndarray, g1: np.ndarray, g2: np.ndarray, target: float, band: str
) -> str:
    """Draw the per-block size-error map with ellipticity whiskers (8 x 6.5 in) to ``path`` (PNG).

    Parameters
    ----------
    path : str
        Destination.
    sigma, g1, g2 : numpy.ndarray
        Per-block means ``(nblock, nblock)`` indexed ``[iby, ibx]`` (NaN: no star).
    target : float
        Target Gaussian sigma [output px].
    band : str
        Filter name for the title.

    Returns
    -------
    str
        ``path``.
    """
    n = sigma.shape[0]
    fig = new_figure(8.0, 6.5)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(
        sigma / target - 1.0, cmap="RdBu_r", origin="lower", interpolation="nearest",
        norm=SymLogNorm(3e-4, vmin=-0.004, vmax=0.004),
    )  # fmt: skip
    phi = np.arctan2(g2, g1) / 2.0
    length = whisker_length(np.hypot(g1, g2))
    yy, xx = np.mgrid[0:n, 0:n]
    ok = np.isfinite(length)
    u, v = (length * np.cos(phi))[ok], (length * np.sin(phi))[ok]
    ax.quiver(
        xx[ok],
        yy[ok],
        u,
        v,
        headaxislength=0,
        headlength=0,
        headwidth=0,
        width=0.03 / n,
        pivot="mid",
        scale=1.0,
        scale_units="xy",
        angles="xy",
    )
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(-0.5, n - 0.5)
    if n <= 20:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
    ax.set_title(f"PSF residuals, {band}")
    ax.set_xlabel("block x")
    ax.set_ylabel("block y")
    fig.colorbar(im, ax=ax, label=r"$\sigma/\sigma_{\rm target}-1$")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
