"""One block from its input pixels to the coadded layers and maps (core §3.5, §4.8).

`run_block` drives the stamps in processing order: build the stamp's system (`SystemBuilder`), solve
it (`pyimcom.linalg`), taper the weights with the FADE ramp, and accumulate every layer and map into
``NsidePf``-sized arrays; then un-taper the borders and crop to ``NsideP`` (§3.5).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numba
import numpy as np
import scipy.fft

from .._kernels.products import stamp_sums
from ..geometry import MosaicGeometry, fade_ramp, stamp_taper
from ..linalg import solve_stamp
from ..linalg.mixed import MixedPrecisionError, solve_cholesky_mixed
from ..linalg.split import solve_cholesky_sums
from .partition import BlockPixels
from .system import EngineSettings, SystemBuilder

__all__ = ["BlockResult", "run_block", "MAP_LETTERS"]

logger = logging.getLogger(__name__)

MAP_LETTERS = "USKTN"  # fidelity U/C, noise Sigma, kappa, total weight, effective coverage


@dataclass
class BlockResult:
    """Products of one block.

    Attributes
    ----------
    layers : numpy.ndarray
        float32 ``(n_out, n_layer, NsideP, NsideP)``: coadded layers.
    maps : dict
        Letter (U, S, K, T, N) -> float64 ``(n_out, NsideP, NsideP)``.
    inweight : numpy.ndarray
        float32 ``(n_out, n_img, n1P, n1P)``: mean total weight of each image per stamp.
    n_stamps : int
        Stamps computed.
    timings : dict
        Seconds spent per phase (``system``, ``solve``, ``products``).
    """

    layers: np.ndarray
    maps: dict
    inweight: np.ndarray
    n_stamps: int
    timings: dict = field(default_factory=dict)


def _untaper(acc: np.ndarray, lo: int, hi: int, ramp: np.ndarray) -> None:
    """Divide the ``len(ramp)`` rows and columns inside ``[lo, hi]`` at both ends by the ramp (in place)."""
    n = ramp.size
    if n == 0:
        return
    acc[..., lo : lo + n, :] /= ramp[:, None]
    acc[..., hi - n + 1 : hi + 1, :] /= ramp[::-1, None]
    acc[..., :, lo : lo + n] /= ramp[None, :]
    acc[..., :, hi - n + 1 : hi + 1] /= ramp[None, ::-1]


def _weight_sums(sol, values: np.ndarray, image: np.ndarray, n_img: int):
    """Layers ``(n_out, n_layer, m)`` and per-image weight sums ``(n_out, m, n_img)`` of a solved stamp."""
    n_out, m, _ = sol.T.shape
    layers = np.empty((n_out, values.shape[0], m))
    W = np.empty((n_out, m, n_img))
    stamp_sums(np.ascontiguousarray(sol.T, dtype=np.float32), np.ascontiguousarray(values, dtype=np.float64),
               np.ascontiguousarray(image, dtype=np.int64), layers, W)  # fmt: skip
    return layers, W


def _solve_sums(A, rhs, C, values: np.ndarray, image: np.ndarray, n_img: int, settings: EngineSettings):
    """Solve a stamp for its sums (`pyimcom.linalg.split`): ``(sol, layers, W)`` as `_weight_sums` gives.

    ``rhs`` is b with ``n_layer + n_img`` spare rows (`SystemBuilder.system`), filled here with the
    layer values and the image indicators of the pixels; A and rhs are overwritten.
    """
    n_layer = values.shape[0]
    m = rhs.shape[1] - n_layer - n_img
    for o in range(rhs.shape[0]):
        rhs[o, m : m + n_layer] = values
        rhs[o, m + n_layer :] = image[None, :] == np.arange(n_img)[:, None]
    sol, sums = solve_cholesky_sums(A, rhs, C, settings.solver, n_layer + n_img, overwrite_a=True)
    return sol, np.ascontiguousarray(sums[:, :, :n_layer].transpose(0, 2, 1)), sums[:, :, n_layer:]


def _solve_mixed(sys_, values: np.ndarray, image: np.ndarray, n_img: int, settings: EngineSettings, stamp):
    """Mixed-precision solve of a stamp whose A is float32 (`pyimcom.linalg.mixed`).

    Returns ``(sol, layers, W, steps)`` as `_weight_sums` gives them; ``steps`` is the number of
    refinement steps, or -1 if the stamp had to be solved as with ``"double"`` (float32 factorisation
    failed or the refinement did not converge).
    """
    present = np.unique(image)
    vectors = np.concatenate(
        [values.astype(np.float64), (image[None, :] == present[:, None]).astype(np.float64)]
    )
    try:
        sol, sums, steps = solve_cholesky_mixed(sys_.A, sys_.b, sys_.C, settings.solver, vectors,
                                                sys_.operator.matvec, overwrite_a=True)  # fmt: skip
    except MixedPrecisionError as err:
        logger.warning("stamp (j=%d, i=%d): mixed-precision solve failed (%s); solving this stamp in float64",
                       *stamp, err)  # fmt: skip
        A64 = sys_.operator.dense(np.empty(sys_.A.shape))
        n_out, m, n = sys_.b.shape
        rhs = np.empty((n_out, m + values.shape[0] + n_img, n))
        rhs[:, :m] = sys_.b
        return (*_solve_sums(A64, rhs, sys_.C, values, image, n_img, settings), -1)
    n_layer = values.shape[0]
    layers = np.ascontiguousarray(sums[:, :, :n_layer].transpose(0, 2, 1))
    W = np.zeros(sums.shape[:2] + (n_img,))
    W[:, :, present] = sums[:, :, n_layer:]
    return sol, layers, W, steps


def _stamp_products(sol, layers: np.ndarray, W: np.ndarray, taper: np.ndarray):
    """Layers, maps and per-image weights of one solved stamp (§4.8); the sums are tapered here."""
    layers *= taper  # the taper is per output pixel: applied to the sums
    W *= taper[None, :, None]
    tsum = W.sum(axis=2)
    absw = np.abs(W).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(absw[..., None] > 0, W / absw[..., None], 0.0)
        neff_untapered = np.where(absw > 0, 1.0 / np.sum(frac**2, axis=2), 0.0)
    maps = {"U": sol.uc * taper, "S": sol.sigma * taper, "K": sol.kappa * taper, "T": tsum,
            "N": neff_untapered * taper}  # fmt: skip
    return layers, maps, W.sum(axis=1)  # per-image total over the stamp (n_out, n_img)


def run_block(pixels: BlockPixels, images, geometry: MosaicGeometry, ibx: int, iby: int, stamps,
              settings: EngineSettings) -> BlockResult:  # fmt: skip
    """Coadd the stamps of one block.

    Parameters
    ----------
    pixels : BlockPixels
        The block's input pixels (all layers).
    images : list
        The relevant input images in block image order (see `SystemBuilder`).
    geometry : MosaicGeometry
        Mosaic geometry.
    ibx, iby : int
        Block indices.
    stamps : list of tuple of int
        OutStamps ``(j, i)`` to compute, in processing order (STOP already applied).
    settings : EngineSettings
        Engine settings.

    Returns
    -------
    BlockResult
    """
    with scipy.fft.set_workers(numba.get_num_threads()):  # FFTs use the job's thread budget
        return _run(pixels, images, geometry, ibx, iby, stamps, settings)


def _run(pixels, images, geometry, ibx, iby, stamps, settings) -> BlockResult:
    lay = geometry.layout
    n_out, n_layer, n_img = settings.n_out, pixels.values.shape[0], len(images)
    side_f, side = lay.nside_accum_px, lay.nside_padded_px
    acc = np.zeros((n_out, n_layer, side_f, side_f))
    acc_maps = {c: np.zeros((n_out, side_f, side_f)) for c in MAP_LETTERS}
    inweight = np.zeros((n_out, n_img, lay.n1_padded, lay.n1_padded), dtype=np.float32)
    taper = stamp_taper(lay.n2, lay.fade).ravel()
    builder = SystemBuilder(pixels, images, geometry, ibx, iby, stamps, settings, reuse_buffers=True)
    timings = {"system": 0.0, "solve": 0.0, "products": 0.0}
    mixed, for_sums = settings.mixed_precision, settings.solve_for_sums
    refine_steps: list[int] = []
    t_start = time.monotonic()
    for s, (j, i) in enumerate(stamps):
        t0 = time.monotonic()
        sys_ = builder.system(s, np.float32 if mixed else np.float64, n_layer + n_img if for_sums else 0)
        t1 = time.monotonic()
        values, image = pixels.values[:, sys_.index], pixels.image[sys_.index]
        if mixed:
            sol, layers, W, steps = _solve_mixed(sys_, values, image, n_img, settings, (j, i))
            refine_steps.append(steps)
        elif for_sums:
            sol, layers, W = _solve_sums(sys_.A, sys_.rhs, sys_.C, values, image, n_img, settings)
        else:
            sol = solve_stamp(settings.linear_algebra, sys_.A, sys_.b, sys_.C, settings.solver,
                              positions=(sys_.pos_in, sys_.pos_out), rho=settings.rho, n_out=n_out,
                              overwrite_a=True, overwrite_b=True)  # fmt: skip
        t2 = time.monotonic()
        if not (mixed or for_sums):
            layers, W = _weight_sums(sol, values, image, n_img)
        layers, maps, per_image = _stamp_products(sol, layers, W, taper)
        rows, cols = geometry.accumulator_slices(j, i)
        n2f = lay.n2_faded_px
        acc[:, :, rows, cols] += layers.reshape(n_out, n_layer, n2f, n2f)
        for c in MAP_LETTERS:
            acc_maps[c][:, rows, cols] += maps[c].reshape(n_out, n2f, n2f)
        inweight[:, :, j - 1, i - 1] = per_image / lay.n2**2
        builder.advance(s)
        t3 = time.monotonic()
        timings["system"] += t1 - t0
        timings["solve"] += t2 - t1
        timings["products"] += t3 - t2
        _log_stamp(s, len(stamps), j, i, sys_.index.size, sol, t_start, t1 - t0, t2 - t1)
        sys_ = sol = layers = maps = W = None  # not held while the next stamp is built
    ramp = fade_ramp(lay.fade)
    _untaper(acc, 0, side_f - 1, ramp)
    j_min, j_max, i_min, i_max = geometry.stamp_range(ibx, iby)
    fk, n2 = lay.fade, lay.n2
    for c in MAP_LETTERS:  # maps: un-taper at the edges of the computed region
        m = acc_maps[c]
        m[..., (j_min - 1) * n2 : (j_min - 1) * n2 + ramp.size, :] /= ramp[:, None]
        m[..., j_max * n2 + 2 * fk - ramp.size : j_max * n2 + 2 * fk, :] /= ramp[::-1, None]
        m[..., :, (i_min - 1) * n2 : (i_min - 1) * n2 + ramp.size] /= ramp[None, :]
        m[..., :, i_max * n2 + 2 * fk - ramp.size : i_max * n2 + 2 * fk] /= ramp[None, ::-1]
    crop = slice(fk, fk + side)
    layers_out = acc[:, :, crop, crop].astype(np.float32)
    maps_out = {c: acc_maps[c][:, crop, crop] for c in MAP_LETTERS}
    timings["cache_peak_bytes"] = builder.submatrices.peak_bytes
    if refine_steps:  # mixed precision: mean refinement steps of the stamps solved so, and fallbacks
        done = [x for x in refine_steps if x >= 0]
        timings["refine_steps"] = float(np.mean(done)) if done else 0.0
        timings["float64_fallbacks"] = len(refine_steps) - len(done)
    for name in ("submatrices", "pair_overlaps", "out_overlaps", "ffts"):
        timings[f"cache_peak_bytes_{name}"] = getattr(builder, name).peak_bytes
        timings[f"cache_computed_{name}"] = getattr(builder, name).n_computed
    return BlockResult(layers_out, maps_out, inweight, len(stamps), timings)


def _log_stamp(s, n_stamps, j, i, n_in, sol, t_start, t_sys, t_solve) -> None:
    elapsed = time.monotonic() - t_start
    uc = np.percentile(sol.uc, [50, 99]) if sol.uc.size else (np.nan, np.nan)
    sig = np.percentile(sol.sigma, [50, 99]) if sol.sigma.size else (np.nan, np.nan)
    logger.info(
        "stamp %d of %d (j=%d, i=%d): n=%d input px; system %.2f s, solve %.2f s; U/C median %.2e p99 %.2e; "
        "Sigma median %.3f p99 %.3f; %.1f s elapsed, %.2f stamps/s",
        s + 1, n_stamps, j, i, n_in, t_sys, t_solve, uc[0], uc[1], sig[0], sig[1], elapsed,
        (s + 1) / max(elapsed, 1e-9),
    )  # fmt: skip
