"""Planning: which input images each block needs, and the strip of every image.

The plan is made from the observation table and the input images' WCS headers only (no pixels), so it
is cheap and re-linking pixel data does not change it.  For each block:

1. *Candidates* (core §3.7): exposures in the mosaic's filter whose SCA ``k`` has its nominal field
   centre within ``R`` of the block centre, ``R`` = SCA half-diagonal + block half-diagonal, here grown
   by the input-acceptance margin and a tolerance for the approximate SCA table (so the exact test below
   decides, never the coarse one).  Candidates whose science file does not exist are dropped.
2. *Exact footprint test*: the image is needed if at least one of its pixel centres lands in the block's
   padded region grown by the acceptance radius ``rho = INPAD / dθ`` on every side, i.e. block pixel
   coordinates in the closed square ``[-0.5 - rho, NsideP - 0.5 + rho]`` (`pyimcom.footprint`).

Two modes (`PlanSettings.mode`):

* ``"wcs"`` (default): steps 1 and 2 above; reads the WCS header of every candidate image.
* ``"pointing"``: step 1 only, from the observation table alone: no input file is opened or even
  needs to exist.  The lists are supersets of the ``"wcs"`` ones (an image whose field-centre disc
  touches the block but none of whose pixels do is kept; the coadd then finds it irrelevant and skips
  it).  Use it to inspect a production mosaic (``snakemake -n``) before any pixel data is in place,
  or when reading thousands of headers is too slow.

Strips (DESIGN §3): a strip is ``strip_rows`` consecutive block rows (``iby``), by default
``ceil(SCA diagonal / block side) + 1``; an image belongs to the strip of the lowest block row that needs
it: ``strip = min(iby) // strip_rows``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from .errors import PyIMCOMValueError
from .footprint import count_pixels_in_box
from .geometry import MosaicGeometry, block_filename
from .instrument import SCA_DIAGONAL_ARCSEC, SCA_FIELD_X_DEG, SCA_FIELD_Y_DEG, filter_name
from .io.atomic import atomic_write_text
from .io.obstable import ObsTable
from .io.science import ScienceFormat
from .pointing import sky_to_field

__all__ = [
    "PlanSettings",
    "block_images",
    "default_strip_rows",
    "candidate_images",
    "block_box",
    "make_plan",
    "write_plan",
    "read_plan",
    "PLAN_FORMAT",
    "PLAN_MODES",
]

logger = logging.getLogger(__name__)

PLAN_FORMAT = "pyimcom-plan/1"
PLAN_MODES = ("wcs", "pointing")
SCA_TABLE_TOLERANCE_DEG = 0.005  # slack for the approximate SCA field-centre table [deg]


@dataclass(frozen=True)
class PlanSettings:
    """What the planner needs to know.

    Parameters
    ----------
    geometry : MosaicGeometry
        Mosaic geometry.
    margin_out_px : float
        Acceptance radius ``rho = INPAD / dθ`` [output pixels].
    filter_code : int
        Filter of the mosaic (``FILTER``).
    indir : str
        Directory of the input images (``INDATA[0]``).
    informat : ScienceFormat
        Input format (``INDATA[1]``).
    outstem : str
        Output stem (``OUT``), used for the block file names recorded in the plan.
    strip_rows : int or None
        Block rows per strip; None for `default_strip_rows`. Default: None.
    mode : {"wcs", "pointing"}
        ``"wcs"``: candidates tested against the images' WCS footprints (files must exist);
        ``"pointing"``: candidates from the observation table alone (see the module docstring).
        Default: ``"wcs"``.
    """

    geometry: MosaicGeometry
    margin_out_px: float
    filter_code: int
    indir: str
    informat: ScienceFormat
    outstem: str
    strip_rows: int | None = None
    mode: str = "wcs"

    def __post_init__(self):
        if self.mode not in PLAN_MODES:
            raise PyIMCOMValueError(f"plan mode must be one of {PLAN_MODES}; got {self.mode!r}")

    def resolved_strip_rows(self) -> int:
        """``strip_rows``, or the default when it is None."""
        return default_strip_rows(self.geometry) if self.strip_rows is None else int(self.strip_rows)


def default_strip_rows(geometry: MosaicGeometry) -> int:
    """Default block rows per strip: ``ceil(SCA diagonal / block side) + 1``.

    Examples
    --------
    >>> from pyimcom.geometry import BlockLayout
    >>> g = MosaicGeometry(0.0, 0.0, 180.0, 36, BlockLayout(80, 32, 2, 3), 0.0390625 / 3600)
    >>> default_strip_rows(g)  # 636" / 100"
    8
    """
    block_arcsec = geometry.layout.nside_px * geometry.dtheta_deg * 3600.0
    return math.ceil(SCA_DIAGONAL_ARCSEC / block_arcsec) + 1


def block_box(settings: PlanSettings) -> tuple[float, float, float, float]:
    """Closed square of block pixel coordinates whose input pixels a block may use."""
    rho = settings.margin_out_px
    hi = settings.geometry.layout.nside_padded_px - 0.5 + rho
    return (-0.5 - rho, hi, -0.5 - rho, hi)


def candidate_images(obs: ObsTable, settings: PlanSettings, ibx: int, iby: int) -> list[tuple[int, int]]:
    """Coarse candidates ``(obsid, sca)`` of a block from the pointings alone (core §3.7, widened).

    Returns
    -------
    list of tuple of int
        Sorted ``(obsid, sca)`` pairs, SCA numbered 1..18.
    """
    geo = settings.geometry
    ra_c, dec_c = geo.block_center_sky(ibx, iby)
    X, Y, front = sky_to_field(ra_c, dec_c, obs.ra_deg, obs.dec_deg, obs.pa_deg)
    radius = geo.search_radius_deg() + settings.margin_out_px * geo.dtheta_deg * math.sqrt(2.0)
    radius += SCA_TABLE_TOLERANCE_DEG
    dist = np.hypot(X[:, None] - SCA_FIELD_X_DEG[None, :], Y[:, None] - SCA_FIELD_Y_DEG[None, :])
    ok = (dist < radius) & front[:, None] & (obs.filter_code == settings.filter_code)[:, None]
    obsids, k = np.nonzero(ok)
    return sorted((int(o), int(s) + 1) for o, s in zip(obsids, k, strict=True))


class _ImageCache:
    """Existence, WCS and shape of input images, read once each."""

    def __init__(self, settings: PlanSettings):
        self.settings = settings
        self._info: dict[tuple[int, int], tuple[WCS, tuple[int, int]] | None] = {}

    def get(self, obsid: int, sca: int):
        key = (obsid, sca)
        if key not in self._info:
            fmt = self.settings.informat
            path = fmt.science_path(self.settings.indir, filter_name(self.settings.filter_code), obsid, sca)
            self._info[key] = (fmt.read_wcs(path), fmt.read_shape(path)) if os.path.exists(path) else None
        return self._info[key]


def _block_images(obs, settings, ibx, iby, cache, box) -> list[tuple[int, int]]:
    if settings.mode == "pointing":
        return candidate_images(obs, settings, ibx, iby)
    out_wcs = settings.geometry.block_wcs(ibx, iby)
    images = []
    for obsid, sca in candidate_images(obs, settings, ibx, iby):
        info = cache.get(obsid, sca)
        if info is not None and count_pixels_in_box(info[0], info[1], out_wcs, box) > 0:
            images.append((obsid, sca))
    return images


def block_images(obs: ObsTable, settings: PlanSettings, ibx: int, iby: int) -> list[tuple[int, int]]:
    """The sorted ``(obsid, sca)`` images one block needs (the plan entry of that block).

    Parameters
    ----------
    obs : ObsTable
        Observation table.
    settings : PlanSettings
        Geometry, acceptance margin, filter and input location.
    ibx, iby : int
        Block indices.

    Returns
    -------
    list of tuple of int
        Sorted ``(obsid, sca)`` pairs whose science file exists and has pixels in the block's padded
        region grown by INPAD (mode ``"wcs"``), or the pointing candidates (mode ``"pointing"``).
    """
    return _block_images(obs, settings, ibx, iby, _ImageCache(settings), block_box(settings))


def make_plan(obs: ObsTable, settings: PlanSettings) -> dict:
    """Compute the plan of a mosaic.

    Parameters
    ----------
    obs : ObsTable
        Observation table (row index = obsid).
    settings : PlanSettings
        Geometry, acceptance margin, filter and input location.

    Returns
    -------
    dict
        JSON-ready plan: ``format``; ``mosaic`` (``nblock``, ``strip_rows``, ``n_strips``);
        ``blocks`` in block-number order, each with ``ibx``, ``iby``, ``this_sub``, ``file`` and the
        sorted ``images`` ``[[obsid, sca], ...]``; ``images`` sorted by ``(obsid, sca)``, each with
        ``obsid``, ``sca``, ``strip`` and the ``blocks`` (block numbers) that need it.
    """
    geo = settings.geometry
    nb = geo.nblock
    box = block_box(settings)
    cache = _ImageCache(settings)
    needed_by: dict[tuple[int, int], list[int]] = {}
    blocks = []
    t0 = time.monotonic()
    for this_sub in range(nb * nb):
        ibx, iby = divmod(this_sub, nb)
        images = [[o, s] for o, s in _block_images(obs, settings, ibx, iby, cache, box)]
        for obsid, sca in images:
            needed_by.setdefault((obsid, sca), []).append(this_sub)
        if not images:
            logger.warning("block (%d, %d) overlaps no input image", ibx, iby)
        blocks.append(
            {
                "ibx": ibx,
                "iby": iby,
                "this_sub": this_sub,
                "file": block_filename(settings.outstem, ibx, iby),
                "images": images,
            }
        )
        dt = time.monotonic() - t0
        logger.info(
            "planned block %d of %d (%d images); %.1f s elapsed, %.1f blocks/s",
            this_sub + 1,
            nb * nb,
            len(images),
            dt,
            (this_sub + 1) / max(dt, 1e-9),
        )
    rows = settings.resolved_strip_rows()
    image_list = []
    for (obsid, sca), subs in sorted(needed_by.items()):
        lowest_row = min(s % nb for s in subs)
        image_list.append({"obsid": obsid, "sca": sca, "strip": lowest_row // rows, "blocks": sorted(subs)})
    return {
        "format": PLAN_FORMAT,
        "mosaic": {"nblock": nb, "strip_rows": rows, "n_strips": math.ceil(nb / rows), "mode": settings.mode},
        "blocks": blocks,
        "images": image_list,
    }


def write_plan(plan: dict, path: str | os.PathLike) -> str:
    """Write a plan as JSON (deterministic: sorted keys, fixed indentation), atomically."""
    text = json.dumps(plan, indent=1, sort_keys=True)
    text = re.sub(r"\[\s*(-?\d+),\s*(-?\d+)\s*\]", r"[\1, \2]", text)  # one (obsid, sca) pair per line
    return atomic_write_text(text + "\n", path)


def read_plan(path: str | os.PathLike) -> dict:
    """Read a plan written by `write_plan`.

    Raises
    ------
    PyIMCOMValueError
        If the file is not a plan of this format.
    """
    with open(path) as f:
        plan = json.load(f)
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
        raise PyIMCOMValueError(f"{path} is not a PyIMCOM plan (expected format {PLAN_FORMAT!r})")
    return plan
