"""Readers and writers of PyIMCOM's files (FITS): inputs, block outputs, configuration tables.

This sub-package is the only place where FITS conventions are converted: 1-based FITS pixel
indices (``CRPIX``), FITS axis order (``NAXIS1`` = x fastest) and 1-based HDU/SCA numbering.
Everything it returns follows the package pixel contract: 0-based pixel coordinates with integer
values at pixel centres, ordered ``(x, y)``; arrays indexed ``[y, x]``; SCAs numbered 1..18.
Every writer is atomic (temporary file + rename, see `atomic_write`).
"""

from .atomic import atomic_write_text
from .block_output import write_block
from .config_hdu import config_table_hdu, read_config_text
from .fitsutil import atomic_write, ensure_parent_dir, open_fits
from .labnoise import labnoise_path, read_labnoise, write_labnoise
from .logmaps import decode_log_map, encode_log_map, hdu_to_bels, unit_to_bels
from .masks import read_permanent_mask
from .obstable import ObsTable, read_obs_table, write_obs_table
from .outimage import OutImage
from .psf import (
    PSF_FORMATS,
    InputPSF,
    evaluate_legendre,
    legendre_order,
    legendre_weights,
    normalise_psf,
    psf_path,
    read_legendre_cube,
    tophat_convolve,
    tophat_pad,
    write_legendre_psf_file,
)
from .science import ScienceFormat, format_tags, get_format, write_anlsim_image, write_truth_image

__all__ = [
    "atomic_write_text",
    "write_block",
    "config_table_hdu",
    "read_config_text",
    "decode_log_map",
    "encode_log_map",
    "hdu_to_bels",
    "unit_to_bels",
    "OutImage",
    "atomic_write",
    "ensure_parent_dir",
    "open_fits",
    "labnoise_path",
    "read_labnoise",
    "write_labnoise",
    "read_permanent_mask",
    "ObsTable",
    "read_obs_table",
    "write_obs_table",
    "PSF_FORMATS",
    "InputPSF",
    "evaluate_legendre",
    "legendre_order",
    "legendre_weights",
    "normalise_psf",
    "psf_path",
    "read_legendre_cube",
    "tophat_convolve",
    "tophat_pad",
    "write_legendre_psf_file",
    "ScienceFormat",
    "format_tags",
    "get_format",
    "write_anlsim_image",
    "write_truth_image",
]
