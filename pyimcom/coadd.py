"""Coadd one block: the reference's ``Block`` API over small, testable pieces.

``Block(cfg=cfg, this_sub=j)`` runs block ``(ibx, iby) = divmod(j, BLOCK)`` and writes
``{OUT}_{ibx:02d}_{iby:02d}.fits`` -- the documented habit of the reference, kept for its users.  The
work is done by `BlockJob`: `BlockJob.from_config` gathers the settings and the block's input images
(from a plan entry or by planning the block on the spot), `BlockJob.run` coadds, `BlockJob.write`
writes the reference-compatible file.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .config import Config
from .engine.block import BlockResult, run_block
from .engine.inputs import InputImage
from .engine.partition import partition_block
from .engine.system import EngineSettings
from .geometry import MosaicGeometry, block_filename, block_index
from .instrument import filter_name
from .io.block_output import write_block
from .io.obstable import read_obs_table
from .layers.build import CachedLayerSource
from .memory import retain_freed_memory
from .plan import block_images
from .settings import engine_settings, input_image, layer_settings, mosaic_geometry, plan_settings

__all__ = ["Block", "BlockJob"]

logger = logging.getLogger(__name__)


@dataclass
class BlockJob:
    """Everything needed to coadd block ``(ibx, iby)``; construction does no work.

    Use `BlockJob.from_config`, then `run` and `write`.
    """

    cfg: Config
    ibx: int
    iby: int
    geometry: MosaicGeometry
    settings: EngineSettings
    images: list[InputImage]
    stop: int = 0

    @classmethod
    def from_config(cls, cfg: Config, ibx: int, iby: int, images=None, source=None) -> BlockJob:
        """Gather the settings and input images of a block.

        Parameters
        ----------
        cfg : Config
            Configuration.
        ibx, iby : int
            Block indices.
        images : list of (int, int), optional
            The block's ``(obsid, sca)`` list (its plan entry); planned on the spot when None.
        source : callable, optional
            Layer source ``source(image) -> (stack, mask)``; default: `CachedLayerSource` (reads the
            layer cache when present, otherwise builds every EXTRAINPUT layer and the mask, and writes
            the cache when INLAYERCACHE is set).
        """
        geometry = mosaic_geometry(cfg)
        obs = read_obs_table(cfg.obsfile)
        if images is None:
            images = block_images(obs, plan_settings(cfg), ibx, iby)
        source = source or CachedLayerSource(layer_settings(cfg))
        inputs = [input_image(cfg, obsid, sca, source, obs) for obsid, sca in images]
        return cls(cfg, ibx, iby, geometry, engine_settings(cfg), inputs, stop=int(cfg.stoptile))

    @property
    def path(self) -> str:
        """Output file of the block."""
        return block_filename(self.cfg.outstem, self.ibx, self.iby)

    def run(self) -> tuple[BlockResult, list[InputImage]]:
        """Coadd the block; returns the products and the relevant images (block image order).

        Once the inputs are read, switches the process's allocator to keep freed memory
        (`pyimcom.memory`; set ``PYIMCOM_RETAIN_MEMORY=0`` to prevent it): every stamp reuses the pages
        of the last one.  Not before: the full-SCA temporaries of reading the inputs (~0.5 GB) are
        then returned to the system instead of fragmenting the heap the stamps work in.
        """
        t0 = time.monotonic()
        geo = self.geometry
        stamps = geo.processing_order(self.ibx, self.iby, self.stop)
        needed = geo.instamps_needed(stamps)
        logger.info("block (%d, %d): %d stamps, %d candidate images", self.ibx, self.iby, len(stamps),
                    len(self.images))  # fmt: skip
        pixels, used = partition_block(self.images, geo, self.ibx, self.iby, needed, self.cfg.n_inframe)
        relevant = [self.images[k] for k in used]
        retain_freed_memory()
        t1 = time.monotonic()
        logger.info("input pixels: %d from %d images (%.1f s)", pixels.x.size, len(relevant), t1 - t0)
        if not relevant:  # e.g. a block on the mosaic edge outside the survey: an explicit empty block
            logger.warning("block (%d, %d) has no input pixels (no image overlaps it): writing an empty "
                           "block (all layers 0, no weights, U/C = 1)", self.ibx, self.iby)  # fmt: skip
        result = run_block(pixels, relevant, geo, self.ibx, self.iby, stamps, self.settings)
        result.timings["partition"] = t1 - t0
        result.timings["total"] = time.monotonic() - t0
        return result, relevant

    def write(self, result: BlockResult, relevant: list[InputImage]) -> str:
        """Write the block's output file (atomically) and return its path."""
        cfg = self.cfg
        pointings = [im.pointing_deg for im in relevant]
        ra, dec, pa = ([p[k] for p in pointings] for k in range(3))
        indata = {"obsid": [im.obsid for im in relevant], "sca": [im.sca for im in relevant], "ra": ra,
                  "dec": dec, "pa": pa}  # fmt: skip
        maps = {c: result.maps[c] for c in cfg.outmaps}
        return write_block(
            self.path, layers=result.layers, maps=maps, inweight=result.inweight, indata=indata,
            config_json=cfg.to_file(None), block_header=self.geometry.block_header(self.ibx, self.iby),
            filter_name=filter_name(cfg.use_filter), ibx=self.ibx, iby=self.iby,
            passthrough={"TILESCHM": cfg.tileschm, "RERUN": cfg.rerun, "MOSAIC": cfg.mosaic},
        )  # fmt: skip


class Block:
    """Run and write one block, as the reference's ``Block(cfg=cfg, this_sub=j)`` does.

    Parameters
    ----------
    cfg : Config
        Configuration (``cfg.stoptile`` limits the number of stamps).
    this_sub : int
        Block number; ``(ibx, iby) = divmod(this_sub, BLOCK)``.
    run_coadd : bool
        Run and write immediately (the reference's behaviour). Default: True.

    Attributes
    ----------
    job : BlockJob
        The work description.
    result : BlockResult or None
        Products, once run.
    path : str
        Output file.
    """

    def __init__(self, cfg: Config, this_sub: int = 0, run_coadd: bool = True):
        ibx, iby = block_index(this_sub, cfg.nblock)
        self.job = BlockJob.from_config(cfg, ibx, iby)
        self.path = self.job.path
        self.result = None
        if run_coadd:
            self.run()

    def run(self) -> str:
        """Coadd and write; returns the output path."""
        t0 = time.monotonic()
        self.result, relevant = self.job.run()
        self.job.write(self.result, relevant)
        logger.info("finished at t = %.2f s", time.monotonic() - t0)
        return self.path
