"""Permanent pixel masks (``PMASK``, spec §2.5).

The permanent mask file holds a cube ``[18, ny, nx]`` in its primary HDU; slice ``sca - 1`` belongs
to SCA ``sca``.  Returned masks are boolean images indexed ``[y, x]`` with **True = usable pixel**.

.. warning::
   Which pixel values are "good" follows the reference *code*, not its README:

   * header keyword ``GOODVAL = 0``: pixels equal to 0 are good, non-zero pixels are masked;
   * ``GOODVAL`` absent, or any other value: **non-zero pixels are good**, zero pixels are masked.

   The reference configuration README says the opposite for the default case (non-zero = masked).
   We follow the code so that the reference's mask files give the same result; write ``GOODVAL``
   explicitly in new files to avoid any ambiguity.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..errors import InputFileError
from ..instrument import N_SCA, check_sca
from .fitsutil import open_fits

__all__ = ["read_permanent_mask"]

logger = logging.getLogger(__name__)


def read_permanent_mask(
    path: str | os.PathLike, sca: int, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Read the permanent mask of one SCA (True = usable pixel).

    Only slice ``sca - 1`` of the cube is read from disk.

    .. warning::
       If the primary header has ``GOODVAL = 0``, pixels equal to 0 are good.  Otherwise
       (``GOODVAL`` absent or any other value) **non-zero pixels are good**.  This is the reference
       code's convention; the reference README states the opposite (non-zero = masked).

    Parameters
    ----------
    path : str or os.PathLike
        Mask file; primary HDU is a cube of shape ``(18, ny, nx)``.
    sca : int
        SCA number, 1..18.
    shape : tuple of int or None
        Expected image shape ``(ny, nx)`` [pixels]; None to accept any. Default: None.

    Returns
    -------
    numpy.ndarray
        bool, shape ``(ny, nx)``, indexed ``[y, x]``; True where the pixel is usable.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, the primary HDU is not a 3-D cube with 18 SCA slices,
        or its image shape differs from ``shape``.
    ConfigError
        If ``sca`` is not in 1..18.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from astropy.io import fits
    >>> p = os.path.join(tempfile.mkdtemp(), "pmask.fits")
    >>> fits.PrimaryHDU(np.ones((18, 2, 2), dtype=np.uint8)).writeto(p)
    >>> bool(read_permanent_mask(p, 1).all())
    True
    """
    path = os.fspath(path)
    sca = check_sca(sca)
    with open_fits(path, what="permanent mask file") as hdul:
        hdu = hdul[0]
        header = hdu.header
        naxis = header.get("NAXIS", 0)
        cube_shape = tuple(int(header.get(f"NAXIS{k}", 0)) for k in range(naxis, 0, -1))
        if naxis != 3 or cube_shape[0] != N_SCA:
            raise InputFileError(
                f"permanent mask file {path}: primary HDU has shape {cube_shape}; "
                f"expected a cube ({N_SCA}, ny, nx) with one slice per SCA"
            )
        if shape is not None and cube_shape[1:] != tuple(shape):
            raise InputFileError(
                f"permanent mask file {path}: image shape {cube_shape[1:]}; expected {tuple(shape)}"
            )
        goodval = header.get("GOODVAL")
        image = np.asarray(hdu.section[sca - 1, :, :])
    zero_is_good = goodval is not None and not isinstance(goodval, str) and goodval == 0
    good = image == 0 if zero_is_good else image != 0
    logger.debug("permanent mask %s SCA %d: GOODVAL=%r, %d usable pixels", path, sca, goodval, good.sum())
    return good
