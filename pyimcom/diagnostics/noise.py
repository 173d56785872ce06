"""Power spectra of coadded noise layers (the numbers behind the NoiseReport section).

Layers spec §4.6.  Noise layers are the ``EXTRAINPUT`` entries of the families ``whitenoise<q>``,
``1fnoise<q>``, ``labnoise`` and ``noise,<label>``, in layer-index order; the k-th of them is
"PS layer k".  For each block, the lower-left ``L x L`` part of the unique region of output PSF 0 is
used, with ``L = n1 n2`` rounded down to a multiple of 16 (to a multiple of 2, without binning, when
``n1 n2 < 32``).  For an image ``I`` [image units] and the radially symmetric Tukey window ``w`` of
parameter ``alpha``,

    ``P2D = |fftshift(FFT2(I w))|^2 / ((L / s_out)^2 mean(w^2))``   [image units^2 arcsec^2]

with ``s_out`` the output pixel scale [arcsec], so that ``mean(P2D) / s_out^2`` is the
window-weighted mean pixel variance: for white noise of variance ``v`` per output pixel, ``P2D = v
s_out^2`` at every wavenumber.  Spectra are averaged over ``8 x 8`` cells (``'binned'``); 1-D spectra
are azimuthal means (error = standard deviation / sqrt(count)) in ``nrad = L/16`` radial bins (``L/2``
unbinned) about the array centre ``shape/2``, bin label ``int(nrad r / max r)``, label 0 (the DC
neighbourhood) dropped.  Wavenumbers are the same azimuthal means of ``|k|`` on the unbinned grid of
``fftshift(fftfreq(L))`` [cycles per output pixel].

Lab-noise layers (``labnoise``) are converted from DN per frame to intensity [uJy / arcsec^2] first,
with the filter's collecting area; for K213 a thermal-background term built from the first white-noise
layer is added before the conversion, as in the reference.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import PyIMCOMValueError
from ..instrument import PIXSCALE_ARCSEC
from ..layers.recipes import parse_recipe

__all__ = [
    "NOISE_FAMILIES",
    "ALPHA",
    "BIN",
    "COLLECTING_AREA_CM2",
    "noise_layers",
    "spectrum_side",
    "tukey_window_2d",
    "power_spectrum_2d",
    "bin_power",
    "azimuthal_average",
    "wavenumbers",
    "variance_rel_error",
    "labnoise_norm",
    "mean_coverage",
    "block_spectra",
]

NOISE_FAMILIES = ("whitenoise", "1fnoise", "labnoise", "noise")
ALPHA = 0.9  # Tukey window parameter
BIN = 8  # binning of the 2-D spectra [frequency cells]

# Lab-noise conversion (reference noise_diagnostics): collecting area per filter [cm^2]
COLLECTING_AREA_CM2 = {
    "W146": 22085.0, "F184": 4840.0, "H158": 7340.0, "J129": 7111.0, "Y106": 7006.0,
    "Z087": 6635.0, "R062": 9011.0, "K213": 4654.0, "PRSM": 0.0, "DARK": 0.0, "GRSM": 0.0,
}  # fmt: skip
FRAME_TIME_S = 3.08  # detector frame time [s]
GAIN_E_PER_DN = 1.458  # conversion gain [e / DN]
PLANCK_ERG_S = 6.62607015e-27  # Planck constant [erg s]
K213_THERMAL_E_PER_PX_S = 4.65  # K213 thermal background [e / px / s]
BASE_BACKGROUND_E_PER_PX_S = 0.38  # background already in the lab-noise frames [e / px / s]
EXPOSURE_S = 139.8  # exposure time of the K213 background model [s]


def noise_layers(layer_names) -> list[tuple[int, str, str]]:
    """Select the noise layers among the coadded layers.

    Parameters
    ----------
    layer_names : sequence of str
        ``['SCI', *EXTRAINPUT]``.

    Returns
    -------
    list of tuple
        ``(layer index, name, family)`` for each noise layer, in layer order.

    Examples
    --------
    >>> noise_layers(["SCI", "gsstar14", "whitenoise1", "1fnoise2", "noise,b7"])
    [(2, 'whitenoise1', 'whitenoise'), (3, '1fnoise2', '1fnoise'), (4, 'noise,b7', 'noise')]
    """
    out = []
    for k, name in enumerate(layer_names):
        if k == 0:
            continue
        family = parse_recipe(name).family
        if family in NOISE_FAMILIES:
            out.append((k, name, family))
    return out


def spectrum_side(nside_px: int) -> tuple[int, bool]:
    """Side ``L`` of the analysed square and whether spectra are binned.

    Examples
    --------
    >>> spectrum_side(100), spectrum_side(30)
    ((96, True), (30, False))
    """
    if nside_px >= 32:
        return 16 * (nside_px // 16), True
    return 2 * (nside_px // 2), False


def tukey_window_2d(side: int, alpha: float = ALPHA) -> np.ndarray:
    """Radially symmetric 2-D Tukey window (scikit-image's ``window(('tukey', alpha), (L, L))``).

    The symmetric 1-D Tukey window of length ``L`` is evaluated, with linear interpolation, at
    ``c + r`` where ``r`` is the distance of each pixel from the centre ``c = L/2 - 1/2``; beyond the
    end of the 1-D window the value is 0.

    Parameters
    ----------
    side : int
        ``L`` [px].
    alpha : float
        Taper fraction in [0, 1] (0: flat; 1: Hann). Default: 0.9.

    Returns
    -------
    numpy.ndarray
        float64 ``(L, L)``.
    """
    from scipy.signal.windows import tukey

    w1 = tukey(side, alpha, sym=True)
    c = side / 2.0 - 0.5
    grid = np.arange(side) - c
    r = np.hypot(grid[:, None], grid[None, :])
    return np.interp(r + c, np.arange(side), w1, left=0.0, right=0.0)


def power_spectrum_2d(image: np.ndarray, dtheta_arcsec: float, alpha: float = ALPHA) -> np.ndarray:
    """Windowed 2-D power spectrum of a square image (see the module docstring for the normalisation).

    Parameters
    ----------
    image : numpy.ndarray
        ``(L, L)`` image indexed ``[y, x]`` [image units].
    dtheta_arcsec : float
        Output pixel scale [arcsec].
    alpha : float
        Tukey parameter (0 = no window). Default: 0.9.

    Returns
    -------
    numpy.ndarray
        float64 ``(L, L)``, zero frequency at index ``[L//2, L//2]`` [image units^2 arcsec^2].

    Raises
    ------
    PyIMCOMValueError
        If the image is not square.
    """
    ny, nx = image.shape
    if ny != nx:
        raise PyIMCOMValueError(f"power_spectrum_2d needs a square image; got shape {image.shape}")
    w = tukey_window_2d(nx, alpha) if alpha > 0 else np.ones((nx, nx))
    norm = (nx / dtheta_arcsec) ** 2 * np.mean(w * w)
    ft = np.fft.fftshift(np.fft.fft2(np.asarray(image, dtype=np.float64) * w))
    return (ft.real**2 + ft.imag**2) / norm


def bin_power(p: np.ndarray, b: int = BIN) -> np.ndarray:
    """Mean over ``b x b`` cells (the side must be a multiple of ``b``)."""
    n = p.shape[-1]
    return p.reshape(*p.shape[:-2], n // b, b, n // b, b).mean(axis=(-3, -1))


def _labels(side: int, nrad: int) -> np.ndarray:
    grid = np.arange(side) - side / 2.0
    r = np.hypot(grid[:, None], grid[None, :])
    return (nrad * r / r.max()).astype(np.int64)


def azimuthal_average(p: np.ndarray, nrad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuthal mean, its error and the count in radial bins 1..nrad about ``shape/2``.

    Parameters
    ----------
    p : numpy.ndarray
        Square ``(n, n)`` array.
    nrad : int
        Number of radial bins.

    Returns
    -------
    tuple of numpy.ndarray
        ``(mean, std / sqrt(count), count)``, each of length ``nrad`` (label 0 dropped).
    """
    labels = _labels(p.shape[0], nrad).ravel()
    v = p.ravel()
    count = np.bincount(labels, minlength=nrad + 1)[1 : nrad + 1].astype(float)
    s1 = np.bincount(labels, weights=v, minlength=nrad + 1)[1 : nrad + 1]
    mean = s1 / np.maximum(count, 1)
    dev = v - np.concatenate(([0.0], mean))[labels]  # labels run over 0..nrad
    var = np.bincount(labels, weights=dev * dev, minlength=nrad + 1)[1 : nrad + 1] / np.maximum(count, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.sqrt(var) / np.sqrt(count)
    return np.where(count > 0, mean, np.nan), np.where(count > 0, err, np.nan), count


def wavenumbers(side: int, nrad: int) -> np.ndarray:
    """Mean ``|k|`` [cycles per output pixel] of the radial bins 1..nrad on the unbinned grid."""
    k = np.fft.fftshift(np.fft.fftfreq(side))
    return azimuthal_average(np.hypot(k[:, None], k[None, :]), nrad)[0]


def variance_rel_error(p: np.ndarray, window: np.ndarray) -> float:
    """Fractional statistical error of the windowed variance ``mean(p)`` of Gaussian noise.

    The windowed variance ``V = sum(I^2 w^2) / sum(w^2)`` of stationary Gaussian noise with covariance
    ``C`` has ``Var(V) = 2 sum_{x,y} C(x-y)^2 w_x^2 w_y^2 / (sum w^2)^2``, approximately
    ``2 A sum_d C(d)^2`` with ``A = sum w^4 / (sum w^2)^2`` for a window smooth on the correlation
    length.  By Parseval ``sum_d C(d)^2 = mean(S^2)`` for the periodogram ``S``, and the windowed
    periodogram ``p`` estimates it with ``E[p^2] = 2 S^2``, so ``Var(V) / V^2 = A mean(p^2) / mean(p)^2``
    (``2 / N`` for white noise and no window, the textbook result).

    Parameters
    ----------
    p : numpy.ndarray
        Unbinned windowed power spectrum of one image (any constant normalisation).
    window : numpy.ndarray
        The window used, same shape.

    Returns
    -------
    float
        ``sqrt(A mean(p^2)) / mean(p)`` (NaN if ``mean(p) = 0``).

    Examples
    --------
    >>> round(variance_rel_error(np.full((10, 10), 3.0), np.ones((10, 10))) ** 2 * 100, 6)  # 1/N
    1.0
    """
    w2 = window * window
    a = float(np.sum(w2 * w2) / np.sum(w2) ** 2)
    mean = float(np.mean(p))
    return math.sqrt(a * float(np.mean(p * p))) / mean if mean > 0 else math.nan


def labnoise_norm(filter_name: str) -> float:
    """Lab-noise conversion ``s_in^2 A t_frame / (h 1e29 gain)`` [DN per frame per (uJy/arcsec^2)].

    Raises
    ------
    PyIMCOMValueError
        If the filter has no collecting area (prism, dark, grism).
    """
    area = COLLECTING_AREA_CM2.get(filter_name, 0.0)
    if area <= 0:
        raise PyIMCOMValueError(
            f"no collecting area for filter {filter_name!r}; lab noise cannot be converted"
        )
    return PIXSCALE_ARCSEC**2 * area * FRAME_TIME_S / (PLANCK_ERG_S * 1e29 * GAIN_E_PER_DN)


def mean_coverage(inweight: np.ndarray, pad: int, n1: int, threshold: float = 0.0) -> float:
    """Mean number of input images per non-padding stamp with weight above ``threshold``.

    Parameters
    ----------
    inweight : numpy.ndarray
        ``(n_img, n1P, n1P)`` INWEIGHT of one output PSF.
    pad, n1 : int
        Padding stamps and unpadded stamps per side.
    threshold : float
        Weight threshold. Default: 0.

    Returns
    -------
    float
    """
    cov = np.count_nonzero(inweight > threshold, axis=0)[pad : pad + n1, pad : pad + n1]
    return float(cov.mean())


def block_spectra(ctx, ibx: int, iby: int, layers, alpha: float = ALPHA) -> dict:
    """Spectra of the noise layers of one block.

    Parameters
    ----------
    ctx : pyimcom.diagnostics.context.ReportContext
        The mosaic (the block file must exist).
    ibx, iby : int
        Block indices.
    layers : list of tuple
        `noise_layers` output (non-empty).
    alpha : float
        Tukey parameter. Default: 0.9.

    Returns
    -------
    dict
        ``'p2d'``: ``(n_noise, Lb, Lb)`` (binned if binning applies); ``'p1d'``, ``'p1d_err'``:
        ``(n_noise, nrad)``; ``'k'``: ``(nrad,)`` [cycles/output px]; ``'meancovg'``; ``'sigma_level'``:
        window-weighted mean of the SIGMA map over the analysed square (NaN without SIGMA map);
        ``'variance_rel_err'``: `variance_rel_error` of each layer.
    """
    cfg = ctx.cfg
    side, binned = spectrum_side(cfg.Nside)
    nrad = side // 16 if binned else side // 2
    sl = slice(ctx.pad_px, ctx.pad_px + side)
    img = ctx.outimage(ibx, iby)
    ctx.check_block(img)
    white = [k for k, _, fam in layers if fam == "whitenoise"]
    window = tukey_window_2d(side, alpha) if alpha > 0 else np.ones((side, side))
    p2d, p1d, p1e, rel_err = [], [], [], []
    for k, _, family in layers:
        data = img.get_coadded_layer(k)[sl, sl].astype(np.float64)
        if family == "labnoise":
            if ctx.filter_name == "K213" and white:
                extra = math.sqrt((K213_THERMAL_E_PER_PX_S - BASE_BACKGROUND_E_PER_PX_S) / EXPOSURE_S)
                data = data + img.get_coadded_layer(white[0])[sl, sl] * extra * FRAME_TIME_S / GAIN_E_PER_DN
            data = data / labnoise_norm(ctx.filter_name)
        p = power_spectrum_2d(data, ctx.dtheta_arcsec, alpha)
        rel_err.append(variance_rel_error(p, window))
        p = bin_power(p) if binned else p
        mean, err, _ = azimuthal_average(p, nrad)
        p2d.append(p)
        p1d.append(mean)
        p1e.append(err)
    sigma_level = math.nan
    if "SIGMA" in img.hdu_names:
        w2 = window**2
        sigma_level = float(np.sum(img.get_output_map("SIGMA")[sl, sl] * w2) / np.sum(w2))
    return {
        "variance_rel_err": np.array(rel_err),
        "p2d": np.array(p2d),
        "p1d": np.array(p1d),
        "p1d_err": np.array(p1e),
        "k": wavenumbers(side, nrad),
        "meancovg": mean_coverage(img.inweight(j_out=0), cfg.postage_pad, cfg.n1),
        "sigma_level": sigma_level,
        "side": side,
        "binned": binned,
    }
