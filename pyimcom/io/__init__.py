"""Readers and writers of PyIMCOM's input files (FITS).

This sub-package is the only place where FITS conventions are converted: 1-based FITS pixel
indices (``CRPIX``), FITS axis order (``NAXIS1`` = x fastest) and 1-based HDU/SCA numbering.
Everything it returns follows the package pixel contract: 0-based pixel coordinates with integer
values at pixel centres, ordered ``(x, y)``; arrays indexed ``[y, x]``; SCAs numbered 1..18.
Every writer is atomic (temporary file + rename, see `atomic_write`).
"""

from .fitsutil import atomic_write, ensure_parent_dir, open_fits
from .labnoise import labnoise_path, read_labnoise, write_labnoise
from .masks import read_permanent_mask
from .obstable import ObsTable, read_obs_table, write_obs_table
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
from .science import ScienceFormat, format_tags, get_format, write_anlsim_image

__all__ = [
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
]
