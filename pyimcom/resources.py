"""Job resource estimates (threads, memory, run time) that scale with the mosaic configuration.

The Snakemake rules ask for these instead of hard-coded numbers, so the same workflow requests a few
hundred MB and minutes for the demo mosaic and several GB and hours for a production block; a
cluster profile may still override any of them (``set-resources`` / ``set-threads``).  Every
function is a pure function of a `pyimcom.config.Config` and the retry ``attempt`` (1 for the first
try; each retry asks for proportionally more, so a job killed for memory or time gets more).

Units: memory in MB (10**6 bytes, Snakemake's ``mem_mb``), run time in minutes (``runtime``).
"""

from __future__ import annotations

import math

from .instrument import PIXSCALE_ARCSEC, SCA_NSIDE
from .layers.recipes import parse_recipes

__all__ = [
    "stamp_system_size",
    "coadd_threads",
    "coadd_mem_mb",
    "coadd_runtime_min",
    "layer_mem_mb",
    "layer_runtime_min",
    "report_mem_mb",
    "report_runtime_min",
]

EXPOSURES_PER_POINT = 6  # typical number of exposures covering a sky point (for sizing only)
FLOP_RATE_PER_THREAD = 2.0e10  # sustained LAPACK rate assumed per thread [FLOP/s]
OVERHEAD_FACTOR = 3.0  # wall time / (factorisation + solve time) assumed for sizing, with margin
MIN_RUNTIME_MIN = 10  # never ask for less [min]
# layer-building cost per SCA by recipe family (4088² images, one core) [min], generous
_LAYER_MINUTES = {"gsext": 4.0, "gsextchrom": 4.0, "gsstar": 2.0, "gstrstar": 2.0, "gsfdstar": 2.0}
_OTHER_LAYER_MINUTES = 0.5


def stamp_system_size(cfg) -> tuple[int, int]:
    """Typical ``(n, m)`` of one stamp's system: input pixels and output pixels × output PSFs.

    ``n ≈ EXPOSURES_PER_POINT × ((n2 dθ + 2 INPAD) / 0.11″)²`` (the input pixels within the padded
    stamp), ``m = (n2 + 2 FADE)² × NOUT``.
    """
    side_px = (cfg.n2 * cfg.dtheta_arcsec + 2 * cfg.inpad_arcsec) / PIXSCALE_ARCSEC
    n = int(EXPOSURES_PER_POINT * side_px**2)
    return n, int(cfg.m_out_px * cfg.n_out)


def _stamps(cfg) -> int:
    total = cfg.n1 * cfg.n1
    stop = getattr(cfg, "stoptile", 0) or 0
    return min(total, stop) if stop > 0 else total


def coadd_threads(cfg, max_threads: int = 8) -> int:
    """Threads for one block: 1 for toy stamps, up to ``max_threads`` when LAPACK dominates.

    Below ~1000 input pixels per stamp a stamp's factorisation is too small for threads to help;
    above ~4000 the BLAS-3 work scales well to 8 threads.
    """
    n, _ = stamp_system_size(cfg)
    wanted = 1 if n < 1000 else 2 if n < 4000 else 8
    return max(1, min(wanted, int(max_threads)))


def coadd_mem_mb(cfg, attempt: int = 1) -> int:
    """Memory of one block job [MB]: the stamp system (A, its factor, b, T) plus caches and the output.

    ``1500 + (3·8 n² + 4·8 m n)/10⁶ + output cube``, times ``attempt``.
    """
    n, m = stamp_system_size(cfg)
    out_mb = 4 * cfg.n_inframe * cfg.n_out * cfg.nside_padded_px**2 / 1e6
    return int(attempt * (1500 + (3 * 8 * n * n + 4 * 8 * m * n) / 1e6 + 2 * out_mb))


def coadd_runtime_min(cfg, threads: int = 1, attempt: int = 1) -> int:
    """Wall time of one block job [min]: stamps × (n³/3 + 2 n² m) FLOP at `FLOP_RATE_PER_THREAD`.

    Multiplied by `OVERHEAD_FACTOR` and ``attempt``; at least `MIN_RUNTIME_MIN`.
    """
    n, m = stamp_system_size(cfg)
    seconds = _stamps(cfg) * (n**3 / 3 + 2 * n * n * m) / (FLOP_RATE_PER_THREAD * max(1, threads))
    return int(attempt * max(MIN_RUNTIME_MIN, math.ceil(OVERHEAD_FACTOR * seconds / 60)))


def _n_layers(cfg) -> int:
    return len(cfg.extrainput)  # science + EXTRAINPUT


def layer_mem_mb(cfg, attempt: int = 1) -> int:
    """Memory of one layer job [MB]: the float32 stack of one 4088² SCA three times over, + 1 GB."""
    stack_mb = 4 * _n_layers(cfg) * SCA_NSIDE**2 / 1e6
    return int(attempt * (1000 + 3 * stack_mb))


def layer_runtime_min(cfg, attempt: int = 1) -> int:
    """Wall time of one layer job [min]: a per-recipe allowance summed over EXTRAINPUT."""
    recipes = parse_recipes(cfg.extrainput[1:])
    minutes = sum(_LAYER_MINUTES.get(r.family, _OTHER_LAYER_MINUTES) for r in recipes)
    return int(attempt * max(MIN_RUNTIME_MIN, math.ceil(2 * minutes)))


def report_mem_mb(cfg, attempt: int = 1) -> int:
    """Memory of the report job [MB]: one block's cube at a time, a binned mosaic image, figures."""
    cube_mb = 4 * cfg.n_inframe * cfg.n_out * cfg.nside_padded_px**2 / 1e6
    return int(attempt * (2000 + 3 * cube_mb))


def report_runtime_min(cfg, attempt: int = 1) -> int:
    """Wall time of the report job [min]: about 20 s per block, at least `MIN_RUNTIME_MIN`."""
    return int(attempt * max(MIN_RUNTIME_MIN, math.ceil(cfg.nblock**2 / 3)))
