"""The mosaic seen by the diagnostic report: block files, configuration, geometry and output paths.

`ReportContext` is built once per report (`ReportContext.open`) from one block file of the mosaic
and the write-up stem, and handed to every section's ``build(ctx)``.  It knows

* the mosaic file stem and suffix (``<stem>_{ibx:02d}_{iby:02d}<suffix>``), which blocks of the
  ``n x n`` sub-mosaic (``n = min(BLOCK, nblockmax)``) exist and which are missing;
* the configuration stored in the given block (`pyimcom.config.Config`), the block layout and the
  mosaic geometry;
* where the report writes: ``<dstem>_main.tex``, ``<dstem>_main.pdf`` and the data directory
  ``<dstem>_data/`` whose files all start with ``basename(dstem)``.

Block data are read one block at a time (`ReportContext.iter_unique_layers`, `ReportContext.open_block`)
so that memory stays bounded by one block whatever the size of the mosaic.  Pixel conventions are
those of `pyimcom.geometry`: 0-based, ``(x, y)`` order, arrays indexed ``[..., y, x]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from astropy.io import fits

from ..config import Config
from ..errors import InputFileError, PyIMCOMRangeError, PyIMCOMValueError
from ..geometry import MosaicGeometry
from ..instrument import filter_name
from ..io.fitsutil import open_fits
from ..io.outimage import OutImage

__all__ = ["ReportContext", "split_block_name"]

_BLOCK_NAME_RE = re.compile(
    r"^(?P<stem>.+)_(?P<ibx>\d{2})_(?P<iby>\d{2})(?P<suffix>(?:_map)?\.fits|\.cpr\.fits\.gz)$"
)


def _has_inputs(path: str) -> bool:
    """True when ``path`` is a block file whose ``INDATA`` table lists at least one input image."""
    if not os.path.isfile(path):
        return False
    try:
        return int(fits.getheader(path, "INDATA").get("NAXIS2", 0)) > 0
    except KeyError:  # no INDATA HDU: not a block this package wrote; let the readers complain
        return True


def split_block_name(path: str | os.PathLike) -> tuple[str, str, int, int]:
    """Split a block file name into mosaic stem, suffix and block indices.

    Parameters
    ----------
    path : str or os.PathLike
        A block file such as ``out/demo_H_00_00.fits``, the legacy ``..._00_00_map.fits`` or the
        compressed ``..._00_00.cpr.fits.gz``.  The name must end with the two-digit block indices.

    Returns
    -------
    tuple
        ``(stem, suffix, ibx, iby)``, e.g. ``('out/demo_H', '.fits', 0, 0)``.

    Raises
    ------
    PyIMCOMValueError
        If the name does not end in ``_XX_YY.fits``, ``_XX_YY_map.fits`` or ``_XX_YY.cpr.fits.gz``.

    Examples
    --------
    >>> split_block_name("out/demo_H_01_03_map.fits")
    ('out/demo_H', '_map.fits', 1, 3)
    """
    path = os.fspath(path)
    m = _BLOCK_NAME_RE.match(path)
    if m is None:
        raise PyIMCOMValueError(
            f"block file name {path!r} must end in _XX_YY.fits, _XX_YY_map.fits or _XX_YY.cpr.fits.gz "
            "(XX, YY = two-digit block indices), e.g. out/demo_H_00_00.fits"
        )
    return m["stem"], m["suffix"], int(m["ibx"]), int(m["iby"])


@dataclass(frozen=True)
class ReportContext:
    """Everything a report section needs to know about the mosaic and the report's output paths.

    Use `ReportContext.open` to build one from files; the constructor only stores values.

    Parameters
    ----------
    stem, suffix : str
        Block files are ``f"{stem}_{ibx:02d}_{iby:02d}{suffix}"``.
    cfg : pyimcom.config.Config
        The configuration stored in the block file given on the command line.
    dstem : str
        Write-up stem ``<writeupdir>/<writeupstem>``.
    nblockmax : int
        Only the lower-left ``min(BLOCK, nblockmax)`` squared blocks are used (a testing aid).
    n_layer : int
        Number of coadded layers in the block files (``1 + len(EXTRAINPUT)``).
    """

    stem: str
    suffix: str
    cfg: Config
    dstem: str
    nblockmax: int
    n_layer: int

    @classmethod
    def open(
        cls, block_file: str | os.PathLike, dstem: str | os.PathLike, nblockmax: int = 100
    ) -> ReportContext:
        """Read the configuration from one block file and set up the output locations.

        Parameters
        ----------
        block_file : str or os.PathLike
            Any block output file of the mosaic (see `split_block_name` for the accepted names).
        dstem : str or os.PathLike
            Write-up stem; ``<dstem>_main.tex`` etc. are written, and ``<dstem>_data/`` is created.
        nblockmax : int
            Use at most ``nblockmax`` blocks per side (>= 1). Default: 100.

        Returns
        -------
        ReportContext

        Raises
        ------
        PyIMCOMValueError
            If the name is malformed, ``dstem`` has an empty base name or ``nblockmax < 1``.
        InputFileError
            If the block file cannot be read, has no CONFIG HDU, is a compressed block (``CPRESS``
            HDU; decompress it first), or its primary array does not match its configuration.
        ConfigError
            If the stored configuration is invalid.
        """
        block_file = os.fspath(block_file)
        stem, suffix, _, _ = split_block_name(block_file)
        dstem = os.fspath(dstem)
        if not os.path.basename(dstem):
            raise PyIMCOMValueError(f"the write-up stem must end in a file-name stem; got {dstem!r}")
        if isinstance(nblockmax, bool) or not isinstance(nblockmax, (int, np.integer)) or nblockmax < 1:
            raise PyIMCOMValueError(f"nblockmax must be an integer >= 1; got {nblockmax!r}")
        img = OutImage(block_file)
        if "CPRESS" in img.hdu_names:
            raise InputFileError(
                f"{block_file} is a compressed block (CPRESS HDU); the report reads uncompressed "
                "blocks only: decompress the mosaic first"
            )
        cfg = Config(block_file, inmode="block")
        n_out, n_layer, ny, nx = img.shape
        if (ny, nx) != (cfg.NsideP, cfg.NsideP) or n_layer != cfg.n_inframe:
            raise InputFileError(
                f"{block_file}: primary array shape {img.shape} does not match its configuration "
                f"(n_layer = {cfg.n_inframe}, NsideP = {cfg.NsideP})"
            )
        return cls(stem, suffix, cfg, dstem, int(nblockmax), int(n_layer))

    # ---- mosaic ----------------------------------------------------------------------------------
    @property
    def nblock(self) -> int:
        """Blocks per side used by the report, ``min(BLOCK, nblockmax)``."""
        return min(self.cfg.nblock, self.nblockmax)

    @property
    def filter_name(self) -> str:
        """Four-character filter name, e.g. ``'H158'``."""
        return filter_name(self.cfg.use_filter)

    @property
    def layer_names(self) -> list[str]:
        """``['SCI', *EXTRAINPUT]`` in layer-index order."""
        return ["SCI", *self.cfg.extrainput[1:]]

    @property
    def pad_px(self) -> int:
        """Padding width ``PAD * n2`` [output px] on each side of the block array."""
        return self.cfg.postage_pad * self.cfg.n2

    @property
    def unique_slice(self) -> slice:
        """Slice of the unique (non-padding) region along either block axis."""
        return slice(self.pad_px, self.pad_px + self.cfg.Nside)

    @property
    def dtheta_arcsec(self) -> float:
        """Output pixel scale [arcsec]."""
        return float(self.cfg.dtheta_arcsec)

    @cached_property
    def geometry(self) -> MosaicGeometry:
        """The mosaic geometry (projection, block WCSs) from the configuration."""
        c = self.cfg
        return MosaicGeometry(c.ra, c.dec, c.lonpole, c.nblock, c.layout, c.dtheta_deg, c.pad_sides)

    def block_path(self, ibx: int, iby: int) -> str:
        """Return the file name of block ``(ibx, iby)``.

        Raises
        ------
        PyIMCOMRangeError
            If an index is outside ``0 .. BLOCK-1``.
        """
        for label, value in (("ibx", ibx), ("iby", iby)):
            if not 0 <= value < self.cfg.nblock:
                raise PyIMCOMRangeError(f"{label} = {value} is outside 0..{self.cfg.nblock - 1} (BLOCK)")
        return f"{self.stem}_{ibx:02d}_{iby:02d}{self.suffix}"

    def blocks(self) -> list[tuple[int, int]]:
        """All ``(ibx, iby)`` of the used sub-mosaic, ``iby`` outer and ``ibx`` inner."""
        return [(ibx, iby) for iby in range(self.nblock) for ibx in range(self.nblock)]

    @cached_property
    def present_blocks(self) -> tuple[tuple[int, int], ...]:
        """Blocks of `blocks` whose file exists and holds a coadd (checked once).

        An *empty* block -- the file the coadd writes for a block that no input image overlaps
        (zero rows in its ``INDATA`` table) -- counts as missing: it has no data to report on.
        """
        return tuple(b for b in self.blocks() if _has_inputs(self.block_path(*b)))

    @property
    def missing_blocks(self) -> tuple[tuple[int, int], ...]:
        """Blocks of `blocks` without a file, or whose file is an empty block."""
        present = set(self.present_blocks)
        return tuple(b for b in self.blocks() if b not in present)

    def outimage(self, ibx: int, iby: int) -> OutImage:
        """Return an `OutImage` reader of block ``(ibx, iby)``."""
        return OutImage(self.block_path(ibx, iby))

    def check_block(self, img: OutImage) -> None:
        """Raise `InputFileError` if a block's primary array does not have the mosaic's shape."""
        _, n_layer, ny, nx = img.shape
        if (n_layer, ny, nx) != (self.n_layer, self.cfg.NsideP, self.cfg.NsideP):
            raise InputFileError(
                f"{img.path}: primary array shape {img.shape} differs from the mosaic's "
                f"(n_out, {self.n_layer}, {self.cfg.NsideP}, {self.cfg.NsideP})"
            )

    def iter_unique_layers(
        self, ibx: int, iby: int, layers=None, j_out: int = 0
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(layer index, unique region)`` of one block, opening the file once.

        Parameters
        ----------
        ibx, iby : int
            Block indices (the file must exist).
        layers : iterable of int, optional
            Layer indices. Default: all layers.
        j_out : int
            Output PSF index. Default: 0.

        Yields
        ------
        tuple
            ``(k, image)`` with ``image`` float32 of shape ``(Nside, Nside)`` indexed ``[y, x]``.

        Raises
        ------
        InputFileError
            If the file is unreadable or its array does not match the mosaic.
        """
        img = self.outimage(ibx, iby)
        self.check_block(img)
        sl = self.unique_slice
        layers = range(self.n_layer) if layers is None else layers
        with open_fits(img.path, what="block output file") as hdul:
            cube = hdul[0].data
            for k in layers:
                yield k, np.array(cube[j_out, k, sl, sl], dtype=np.float32)

    # ---- output paths ------------------------------------------------------------------------------
    @property
    def writeup_dir(self) -> str:
        """Directory of the write-up (``'.'`` when ``dstem`` has no directory part)."""
        return os.path.dirname(self.dstem) or "."

    @property
    def title_stem(self) -> str:
        """``basename(dstem)``: the prefix of every file the report writes."""
        return os.path.basename(self.dstem)

    @property
    def data_dir(self) -> str:
        """``<dstem>_data``: directory of figures and data files."""
        return self.dstem + "_data"

    def data_path(self, name: str) -> str:
        """Return ``<dstem>_data/<basename(dstem)>_<name>`` (the reference's ``DS + '_' + name``)."""
        return os.path.join(self.data_dir, f"{self.title_stem}_{name}")

    def relpath(self, path: str) -> str:
        """Return ``path`` relative to the write-up directory (as written into the .tex file)."""
        return os.path.relpath(path, self.writeup_dir)
