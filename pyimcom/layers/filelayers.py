"""File-read input layers: ``truth[,s]`` and ``skyerr`` (layers spec §1.3.1, §1.3.5, §1.2).

Both layers copy an image produced by the simulation that made the inputs; the file names and HDU
layouts belong to the INDATA format (`pyimcom.io.science.ScienceFormat`):

* ``truth[,s]`` -- the noiseless truth image of the exposure times ``s`` (default 1; ``s`` converts
  the truth file's units to those of the science layer).  File: `ScienceFormat.truth_path`, primary
  HDU, the shape of the science image.
* ``skyerr`` -- the simulation's sky-noise realisation, HDU ``ERR`` minus ``SKY_MEAN`` of the
  ``SCI`` header of the science file; only ``dc2_imsim`` files have it.

The ``labnoise`` layer (also a file read) is built by `pyimcom.io.labnoise.read_labnoise`.

Differences from the reference, on purpose:

* a missing truth file is an `InputFileError` naming the file, where the reference silently returns
  zeros (a coadded "truth" layer of zeros is indistinguishable from a real, empty one);
* ``skyerr`` on a format without an ``ERR`` HDU (``anlsim``) is a `ConfigError` naming the recipe and
  the format, where the reference would read the science file and fail or return garbage.

The reference's detector-to-science flip of ``L2_2506`` truth files (x reversed for SCAs divisible
by 3, y reversed otherwise) is not implemented because that format is not supported yet.

Images are float32 ``(ny, nx)``, indexed ``[y, x]`` (0-based pixel contract of `pyimcom.wcs`).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import InputFileError, PyIMCOMValueError
from ..io.science import ScienceFormat

__all__ = ["truth_layer", "skyerr_layer"]


def truth_layer(
    fmt: ScienceFormat,
    indir: str | os.PathLike,
    filter_name: str,
    obsid: int,
    sca: int,
    shape: tuple[int, int],
    scale: float = 1.0,
) -> np.ndarray:
    """Return the ``truth[,s]`` layer: the noiseless truth image of ``(obsid, sca)`` times ``scale``.

    Parameters
    ----------
    fmt : ScienceFormat
        INDATA format (names the truth file, see `ScienceFormat.truth_path`).
    indir : str or os.PathLike
        Input data directory (``INDATA[0]``).
    filter_name : str
        4-character filter name of the mosaic, e.g. ``'H158'``.
    obsid : int
        Observation ID, >= 0.
    sca : int
        SCA number, 1..18.
    shape : tuple of int
        ``(ny, nx)`` of the science image; the truth image must have it.
    scale : float, optional
        Factor ``s`` of the recipe (finite). Default: 1.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(ny, nx)``, indexed ``[y, x]`` [truth-file units times ``scale``].  The
        product is taken in float64 and rounded once to float32 (``scale = 1`` returns the file
        values exactly).

    Raises
    ------
    InputFileError
        If the truth file is missing or unreadable or its primary HDU does not have ``shape``; the
        message names the file.  (The reference returns zeros for a missing file.)
    PyIMCOMValueError
        If ``scale`` is not a finite number or the filter name / ``obsid`` is invalid.
    ConfigError
        If ``sca`` is not in 1..18.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from pyimcom.io.science import get_format, write_truth_image
    >>> d = tempfile.mkdtemp(); fmt = get_format("anlsim")
    >>> _ = write_truth_image(fmt.truth_path(d, "H158", 3, 7), np.ones((4, 5)))
    >>> truth_layer(fmt, d, "H158", 3, 7, (4, 5), scale=2.5)[0, 0]
    np.float32(2.5)
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not math.isfinite(scale):
        raise PyIMCOMValueError(f"truth layer: scale must be a finite number; got {scale!r}")
    path = fmt.truth_path(indir, filter_name, obsid, sca)
    data = fmt.read_truth(path, shape=tuple(shape))
    if scale == 1:
        return data
    return (data.astype(np.float64) * float(scale)).astype(np.float32)


def skyerr_layer(fmt: ScienceFormat, science_path: str | os.PathLike, shape: tuple[int, int]) -> np.ndarray:
    """Return the ``skyerr`` layer: ``ERR - SKY_MEAN`` of the science file.

    Parameters
    ----------
    fmt : ScienceFormat
        INDATA format; must have ``has_skyerr`` (``dc2_imsim``).
    science_path : str or os.PathLike
        Science image file of the exposure and SCA.
    shape : tuple of int
        ``(ny, nx)`` of the science image.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(ny, nx)``, indexed ``[y, x]`` [electrons per pixel per exposure].

    Raises
    ------
    ConfigError
        If the format has no ``ERR`` HDU (``anlsim``); the message names the recipe and the format.
    InputFileError
        If the file is missing or malformed (no ``ERR`` HDU, no ``SKY_MEAN``, wrong shape).
    """
    data = fmt.read_skyerr(science_path)
    if data.shape != tuple(shape):  # ERR matches SCI (checked on read); SCI must match the image
        path, want = os.fspath(science_path), tuple(shape)
        raise InputFileError(f"science image {path}: HDU 'ERR' has shape {data.shape}; expected {want}")
    return data
