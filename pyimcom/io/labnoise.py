"""Laboratory noise frames (``labnoise`` layer, spec §2.6).

A lab noise frame is the primary HDU of ``{indir}/labnoise/slope_{obsid}_{sca}.fits``: either the
active area (``nside × nside``) or the raw frame including the reference-pixel border
(``(nside + 2*REFPIX_BORDER)²``), which is cropped by `REFPIX_BORDER` on each side.  Arrays are
indexed ``[y, x]``.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from astropy.io import fits

from ..errors import InputFileError, PyIMCOMValueError
from ..instrument import REFPIX_BORDER, SCA_NSIDE, check_sca
from .fitsutil import atomic_write, open_fits

__all__ = ["labnoise_path", "read_labnoise", "write_labnoise"]

logger = logging.getLogger(__name__)


def labnoise_path(indir: str | os.PathLike, obsid: int, sca: int) -> str:
    """Return the lab noise file of one exposure and SCA (the file need not exist).

    Parameters
    ----------
    indir : str or os.PathLike
        Input data directory (``INDATA[0]``).
    obsid : int
        Observation ID, >= 0 (no zero padding).
    sca : int
        SCA number, 1..18 (no zero padding).

    Returns
    -------
    str
        ``{indir}/labnoise/slope_{obsid}_{sca}.fits``.

    Raises
    ------
    PyIMCOMValueError
        If ``obsid`` is negative.
    ConfigError
        If ``sca`` is not in 1..18.

    Examples
    --------
    >>> labnoise_path("/d", 12, 3)
    '/d/labnoise/slope_12_3.fits'
    """
    if isinstance(obsid, bool) or not isinstance(obsid, (int, np.integer)) or obsid < 0:
        raise PyIMCOMValueError(f"obsid must be a non-negative integer; got {obsid!r}")
    return f"{os.fspath(indir)}/labnoise/slope_{int(obsid)}_{check_sca(sca)}.fits"


def read_labnoise(path: str | os.PathLike, nside: int = SCA_NSIDE) -> np.ndarray:
    """Read a lab noise frame, cropping the reference-pixel border if present.

    Parameters
    ----------
    path : str or os.PathLike
        Lab noise file (primary HDU).
    nside : int
        Active SCA size [pixels]. Default: `SCA_NSIDE` (4088).

    Returns
    -------
    numpy.ndarray
        float32, shape ``(nside, nside)``, indexed ``[y, x]``.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, or the primary HDU is neither ``nside²`` nor
        ``(nside + 2*REFPIX_BORDER)²`` (the message names the path and the shape found).
    """
    path = os.fspath(path)
    raw_side = nside + 2 * REFPIX_BORDER
    with open_fits(path, what="lab noise file") as hdul:
        data = hdul[0].data
        shape = None if data is None else data.shape
        if shape == (nside, nside):
            out = np.array(data, dtype=np.float32)
        elif shape == (raw_side, raw_side):
            b = REFPIX_BORDER
            out = np.array(data[b:-b, b:-b], dtype=np.float32)
        else:
            raise InputFileError(
                f"lab noise file {path}: primary HDU has shape {shape}; expected ({nside}, {nside}) "
                f"or ({raw_side}, {raw_side}) including the {REFPIX_BORDER}-pixel reference border"
            )
    logger.debug("read lab noise %s (file shape %s)", path, shape)
    return out


def write_labnoise(path: str | os.PathLike, data) -> str:
    """Write a lab noise frame (primary HDU, float32) atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    data : array_like
        Noise frame, shape ``(ny, nx)``, indexed ``[y, x]``.

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If ``data`` is not 2-D.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "slope_0_1.fits")
    >>> read_labnoise(write_labnoise(p, np.ones((8, 8))), nside=8).dtype
    dtype('float32')
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 2:
        raise PyIMCOMValueError(f"write_labnoise: data must be 2-D [ny, nx]; got shape {data.shape}")
    return atomic_write(fits.PrimaryHDU(data), path)
