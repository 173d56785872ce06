"""Small FITS helpers shared by the readers and writers of `pyimcom.io`.

* `open_fits` opens a file and turns "missing" and "not a FITS file" into `InputFileError` naming
  the path, so callers never see a bare ``FileNotFoundError`` or astropy ``OSError``.
* `atomic_write` writes an HDU list under a temporary name in the destination directory and renames
  it into place with `os.replace`, so a reader (or a Snakemake rule killed half-way) never sees a
  truncated file.
* `ensure_parent_dir` creates the parent directory of an output path.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from astropy.io import fits

from ..errors import InputFileError, PyIMCOMError, PyIMCOMValueError

__all__ = ["atomic_write", "ensure_parent_dir", "open_fits"]

logger = logging.getLogger(__name__)


def ensure_parent_dir(path: str | os.PathLike) -> str:
    """Create the parent directory of ``path`` if it does not exist yet.

    Parameters
    ----------
    path : str or os.PathLike
        Path of a file that is about to be written.

    Returns
    -------
    str
        The parent directory (``'.'`` when ``path`` has no directory part).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> ensure_parent_dir(os.path.join(d, "a", "b", "f.fits")) == os.path.join(d, "a", "b")
    True
    """
    parent = os.path.dirname(os.fspath(path)) or "."
    os.makedirs(parent, exist_ok=True)
    return parent


@contextlib.contextmanager
def open_fits(path: str | os.PathLike, what: str = "FITS file", **kwargs) -> Iterator[fits.HDUList]:
    """Open a FITS file read-only, raising `InputFileError` that names the path on failure.

    Parameters
    ----------
    path : str or os.PathLike
        File to open.
    what : str
        Short description of the file used in error messages (e.g. ``'science image'``).
        Default: ``'FITS file'``.
    **kwargs
        Passed to `astropy.io.fits.open` (e.g. ``memmap=False``).

    Yields
    ------
    astropy.io.fits.HDUList
        The open HDU list; it is closed when the ``with`` block ends.  Copy the data you need
        before leaving the block.

    Raises
    ------
    InputFileError
        If the file does not exist or is not a readable FITS file.

    Examples
    --------
    >>> with open_fits("/nonexistent/x.fits") as hdul:  # doctest: +IGNORE_EXCEPTION_DETAIL
    ...     pass
    Traceback (most recent call last):
    pyimcom.errors.InputFileError: FITS file not found: /nonexistent/x.fits
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputFileError(f"{what} not found: {path}")
    try:
        hdul = fits.open(path, mode="readonly", **kwargs)
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise InputFileError(f"{what} {path} is not a readable FITS file: {exc}") from exc
    try:
        yield hdul
    finally:
        hdul.close()


def _as_hdulist(hdul_or_hdu) -> fits.HDUList:
    """Wrap a single HDU into an HDU list (an extension HDU gets an empty primary HDU in front)."""
    if isinstance(hdul_or_hdu, fits.HDUList):
        return hdul_or_hdu
    if isinstance(hdul_or_hdu, fits.PrimaryHDU):
        return fits.HDUList([hdul_or_hdu])
    if isinstance(hdul_or_hdu, (fits.ImageHDU, fits.BinTableHDU, fits.TableHDU)):
        return fits.HDUList([fits.PrimaryHDU(), hdul_or_hdu])
    raise PyIMCOMValueError(
        f"atomic_write expects an astropy HDUList or HDU; got {type(hdul_or_hdu).__name__}"
    )


def atomic_write(hdul_or_hdu, path: str | os.PathLike, overwrite: bool = True) -> str:
    """Write a FITS file atomically: temporary file in the same directory, then `os.replace`.

    The temporary file is named ``.{name}.{pid}.tmp`` in the destination directory (same file
    system, so the rename is atomic).  It is removed if anything goes wrong.  Parent directories
    are created as needed.

    Parameters
    ----------
    hdul_or_hdu : astropy.io.fits.HDUList or astropy.io.fits HDU
        What to write.  A `~astropy.io.fits.PrimaryHDU` is written alone; an extension HDU
        (image or table) is written after an empty primary HDU.
    path : str or os.PathLike
        Destination file.
    overwrite : bool
        Replace an existing file at ``path``. Default: True.

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If ``hdul_or_hdu`` is not an HDU list or HDU.
    PyIMCOMError
        If ``path`` exists and ``overwrite`` is False, or if writing fails (the message names the
        destination path and the underlying error).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from astropy.io import fits
    >>> p = os.path.join(tempfile.mkdtemp(), "out", "x.fits")
    >>> atomic_write(fits.PrimaryHDU(np.zeros((2, 3))), p) == p
    True
    """
    path = os.fspath(path)
    hdul = _as_hdulist(hdul_or_hdu)
    if not overwrite and os.path.exists(path):
        raise PyIMCOMError(f"output file {path} already exists and overwrite=False")
    parent = ensure_parent_dir(path)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        hdul.writeto(tmp, overwrite=True)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError):
            raise PyIMCOMError(f"cannot write FITS file {path}: {exc}") from exc
        raise
    logger.debug("wrote %s", path)
    return path
