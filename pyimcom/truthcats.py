"""Truth catalogue of the objects injected by the point-source and galaxy layers (layers spec §3).

`gen_truthcats_from_cfg(cfg)` writes ``<OUT>_TruthCat.fits``: one binary table ``TRUTH<n>`` per
HEALPix resolution ``n`` used by a ``cstar``, ``nstar``, ``gsstar``, ``gstrstar``, ``gsfdstar``,
``gsext`` or ``gsextchrom`` layer, listing every HEALPix centre of that resolution whose position
lies in the unique (unpadded) region of one block of the ``BLOCK x BLOCK`` mosaic.

Conventions
-----------
* Positions are 0-based block pixel coordinates (padding included): the object sits on array
  element ``[..., y, x]`` of its block's output cube; ``(xi, yi) = rint(x, y)``, ``(dx, dy)`` is the
  remainder.  Block WCSs come from the configuration (`pyimcom.geometry.MosaicGeometry.block_wcs`);
  block files are never read, so the catalogue does not depend on which blocks have been run.
* Block assignment: an object belongs to the one block whose unique region
  ``PAD*n2 <= xi, yi < NsideP - PAD*n2`` holds its rounded position; objects in a padding region
  are listed only with the block that owns them (layers spec §1.5.3).
* ``ipix`` is the RING index (as in the reference), ``ipix_nest`` the NESTED index.  Galaxy
  parameters are keyed by the NESTED index, as the ``gsext`` layers draw them.
* Galaxy columns describe the drawn galaxy.  The round Sersic profile of half-light radius ``r`` is
  mapped by ``M = J_s R J_g`` (`pyimcom.layers.galaxy_params.sky_shape_matrix`) in the sky frame
  X = West, Y = North; ``g1, g2`` are the reduced shear of the second-moment matrix ``M M^T`` and
  ``sersic_r = r sqrt(|det M|)`` is the area-equivalent ("circularised") half-light radius in
  arcsec (equal to ``r`` since ``det M = 1``).

The work is done by small pure functions in `pyimcom.truth` (block query and pixel mapping,
per-layer columns, tables); this module turns a `Config` into their inputs and writes the file.

Departures from the reference (layers spec §3.5, DESIGN.md §5): every block is catalogued from the
configuration; galaxy parameters use the NESTED index; ``rot=`` and ``shear=`` are composed exactly
as drawn (matrix exponential shear); the Sersic index is recorded; ``cstar`` layers are catalogued;
each resolution has its own table (no substring merging); recipes are matched case-insensitively.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from astropy.io import fits

from .config import Config
from .errors import ConfigError, InputFileError
from .geometry import block_filename
from .instrument import FILTER_NAMES, filter_name
from .io.fitsutil import atomic_write
from .settings import mosaic_geometry
from .truth import (
    CATALOGUED_FAMILIES,
    block_objects,
    catalogued_layers,
    drawn_galaxy_shape,
    layer_columns,
    table_hdu,
    truth_table,
)

__all__ = [
    "CATALOGUED_FAMILIES",
    "block_objects",
    "catalogued_layers",
    "drawn_galaxy_shape",
    "layer_columns",
    "truth_table",
    "truth_hdulist",
    "gen_truthcats_from_cfg",
    "gen_truthcats",
]

logger = logging.getLogger(__name__)


def truth_hdulist(cfg: Config) -> fits.HDUList:
    """The truth catalogue of a configuration as an HDU list (dummy primary HDU + one table per n).

    Parameters
    ----------
    cfg : Config
        Configuration; only its geometry, FILTER, OUT and EXTRAINPUT are used.

    Returns
    -------
    astropy.io.fits.HDUList
        ``PRIMARY`` (float64 zeros (2, 2)) then ``TRUTH<n>`` for each resolution, increasing ``n``.
    """
    geometry = mosaic_geometry(cfg)
    layer_names = ["" if e is None else e for e in cfg.extrainput]
    primary = fits.PrimaryHDU(np.zeros((2, 2), dtype=np.float64))
    primary.header.add_comment(
        "Trivial HDU: the truth tables of the injected objects at each HEALPix resolution follow "
        "(EXTNAME TRUTH<n>)."
    )
    hdus = [primary]
    filt, block0 = filter_name(cfg.use_filter), block_filename(cfg.outstem, 0, 0)
    groups = catalogued_layers(cfg.extrainput[1:])
    if not groups:
        logger.info("no cstar/nstar/gs* layer in EXTRAINPUT: the truth catalogue has no tables")
    for n, layers in groups.items():
        table = truth_table(geometry, n, layers)
        logger.info("TRUTH%d: %d objects in %d blocks", n, len(table), geometry.nblock**2)
        hdus.append(table_hdu(table, n, filt, block0, layer_names))
    return fits.HDUList(hdus)


def gen_truthcats_from_cfg(cfg: Config, path: str | os.PathLike | None = None) -> str:
    """Write the truth catalogue of a mosaic (the reference's entry point) and return its path.

    Parameters
    ----------
    cfg : Config
        Configuration of the mosaic.
    path : str or os.PathLike, optional
        Output file. Default: ``<OUT>_TruthCat.fits``.

    Returns
    -------
    str
        The path written (atomically: temporary file, then rename).

    Raises
    ------
    ConfigError
        If an EXTRAINPUT recipe or galaxy option is invalid.
    PyIMCOMError
        If the file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> cfg = Config("")
    >>> cfg.outstem = tempfile.mkdtemp() + "/demo_H"
    >>> gen_truthcats_from_cfg(cfg).endswith("demo_H_TruthCat.fits")
    True
    """
    path = os.fspath(path) if path is not None else f"{cfg.outstem}_TruthCat.fits"
    atomic_write(truth_hdulist(cfg), path)
    logger.info("truth catalogue written to %s", path)
    return path


_FILTER_LETTERS = {name[0]: code for code, name in enumerate(FILTER_NAMES) if name[0] in "YJHFK"}


def gen_truthcats(pars, cfg: Config | None = None) -> str:
    """Reference-style entry point ``gen_truthcats([name, filter, in_prefix, outstem])``.

    Parameters
    ----------
    pars : sequence
        ``[name, filter, in_prefix, outstem]``.  ``name`` is accepted and ignored (block WCSs always
        come from the configuration).  ``filter``: int code, or a letter ``Y/J/H/F/K`` that is then
        part of the block file prefix.  ``in_prefix``: block file stem; used only when ``cfg`` is
        None, to read the configuration from the CONFIG HDU of block ``(0, 0)``
        (``{in_prefix}{letter}_00_00_map.fits`` or ``..._00_00.fits``).  ``outstem``: if non-empty,
        write ``{outstem}TruthCat_{letter}.fits``, else ``<OUT>_TruthCat.fits``.
    cfg : Config, optional
        Configuration; when given, no file is read. Default: None.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ConfigError
        If ``pars`` is malformed or the filter disagrees with the configuration's FILTER.
    InputFileError
        If ``cfg`` is None and block ``(0, 0)`` cannot be found.
    """
    if len(pars) != 4:
        raise ConfigError(f"gen_truthcats expects [name, filter, in_prefix, outstem]; got {pars!r}")
    _, filt, in_prefix, outstem = pars
    if isinstance(filt, str):
        if filt not in _FILTER_LETTERS:
            raise ConfigError(f"gen_truthcats filter letter must be one of Y, J, H, F, K; got {filt!r}")
        code, letter_in_name = _FILTER_LETTERS[filt], filt
    elif isinstance(filt, (int, np.integer)) and not isinstance(filt, bool):
        code, letter_in_name = int(filt), ""
    else:
        raise ConfigError(f"gen_truthcats filter must be an int code or a letter Y/J/H/F/K; got {filt!r}")
    if cfg is None:
        stem = f"{in_prefix}{letter_in_name}_00_00"
        candidates = [f"{stem}_map.fits", f"{stem}.fits"]
        found = [p for p in candidates if os.path.isfile(p)]
        if not found:
            raise InputFileError(
                f"gen_truthcats needs the configuration: none of {candidates} exists (or pass cfg=)"
            )
        cfg = Config(found[0], inmode="block")
    if cfg.use_filter != code:
        raise ConfigError(
            f"gen_truthcats filter {filt!r} disagrees with the configuration's FILTER {cfg.use_filter}"
        )
    path = f"{outstem}TruthCat_{filter_name(code)[0]}.fits" if outstem else None
    return gen_truthcats_from_cfg(cfg, path)
