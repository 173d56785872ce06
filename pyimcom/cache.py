"""The input-layer cache: one layer stack and one mask file per input image (layers spec §2).

Files, for ``stem = INLAYERCACHE``:

* ``{stem}_{obsid:08d}_{sca:02d}.fits`` -- HDU 0: float32 ``[n_layer, ny, nx]`` (layer 0 = science,
  layer k = EXTRAINPUT[k-1]); its header lists the layers (``NLAYER``, ``LAYERnnn``) and ``RECIPEH``, a
  hash of everything the stack depends on.  HDU 1 ``SCIWCS``: uint8 zeros ``[ny, nx]`` whose header is
  the input WCS (incl. SIP) with ``WCSTYPE = 'FITS'`` (the reference's intended layout; its writer
  fails on this keyword, quirk Q4).
* ``{stem}_{obsid:08d}_{sca:02d}_mask.fits`` -- primary uint8 ``[ny, nx]``, 1 = usable, 0 = masked.

Reading a stack whose hash differs from the one the current configuration implies is an error naming
both layer lists: a cache is never silently reused for another recipe.  Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
from astropy.io import fits

from .errors import InputFileError
from .io.fitsutil import atomic_write, open_fits

__all__ = ["stack_path", "mask_path", "recipe_hash", "write_stack", "read_stack", "write_mask", "read_mask",
           "StaleCacheError"]  # fmt: skip


class StaleCacheError(InputFileError):
    """A cached layer stack was built for another recipe than the configuration's."""


def stack_path(stem: str, obsid: int, sca: int) -> str:
    """Layer-stack file of ``(obsid, sca)``.

    Examples
    --------
    >>> stack_path("cache/in_H", 14746, 16)
    'cache/in_H_00014746_16.fits'
    """
    return f"{stem}_{int(obsid):08d}_{int(sca):02d}.fits"


def mask_path(stem: str, obsid: int, sca: int) -> str:
    """Mask file of ``(obsid, sca)``.

    Examples
    --------
    >>> mask_path("cache/in_H", 14746, 16)
    'cache/in_H_00014746_16_mask.fits'
    """
    return f"{stem}_{int(obsid):08d}_{int(sca):02d}_mask.fits"


def recipe_hash(settings: dict) -> str:
    """A short, stable hash (16 hex digits) of the recipe-relevant settings (JSON-serialisable dict)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_stack(path: str, stack: np.ndarray, wcs_header: fits.Header, layers, rhash: str) -> str:
    """Write a layer stack atomically.

    Parameters
    ----------
    path : str
        Destination (`stack_path`).
    stack : numpy.ndarray
        ``(n_layer, ny, nx)`` layers, written as float32.
    wcs_header : astropy.io.fits.Header
        WCS of the input image (SIP allowed), copied into HDU 1.
    layers : sequence of str
        Layer names (``"SCI"`` then the EXTRAINPUT strings).
    rhash : str
        `recipe_hash` of the settings the stack was built from.
    """
    stack = np.asarray(stack, dtype=np.float32)
    if stack.ndim != 3 or stack.shape[0] != len(layers):
        raise InputFileError(
            f"layer stack for {path} has shape {stack.shape}; expected ({len(layers)}, ny, nx)"
        )
    primary = fits.PrimaryHDU(stack)
    primary.header["NLAYER"] = (len(layers), "number of layers (0 = science)")
    for k, name in enumerate(layers):
        primary.header[f"LAYER{k:03d}"] = str(name)
    primary.header["RECIPEH"] = (rhash, "hash of the recipe-relevant settings")
    wcs_hdu = fits.ImageHDU(
        np.zeros(stack.shape[1:], dtype=np.uint8), header=fits.Header(wcs_header), name="SCIWCS"
    )
    wcs_hdu.header["WCSTYPE"] = "FITS"
    return atomic_write(fits.HDUList([primary, wcs_hdu]), path)


def _layers(header: fits.Header) -> list[str]:
    return [str(header.get(f"LAYER{k:03d}", "?")) for k in range(int(header.get("NLAYER", 0)))]


def read_stack(path: str, rhash: str, layers=None, memmap: bool = True) -> np.ndarray:
    """Read a layer stack, checking that it was built for the expected recipe.

    Parameters
    ----------
    path : str
        Stack file.
    rhash : str
        Expected `recipe_hash`.
    layers : sequence of str, optional
        Expected layer names (for the error message).
    memmap : bool
        Memory-map the data (pixels are read when used). Default: True.

    Returns
    -------
    numpy.ndarray
        float32 ``(n_layer, ny, nx)`` (possibly a memory map in FITS byte order).

    Raises
    ------
    InputFileError
        If the file is missing or malformed.
    StaleCacheError
        If its recipe hash differs from ``rhash``.
    """
    with open_fits(path, what="layer cache file", memmap=memmap) as hdul:
        header = hdul[0].header
        found = header.get("RECIPEH")
        if found != rhash:
            raise StaleCacheError(
                f"layer cache {path} was built for another recipe (hash {found}, layers {_layers(header)}) "
                f"than the configuration's (hash {rhash}, layers {list(layers) if layers else '?'}); "
                "delete it or use another INLAYERCACHE stem"
            )
        data = hdul[0].data
        if data is None or data.ndim != 3:
            raise InputFileError(f"layer cache {path}: HDU 0 is not a 3-D stack")
        return data if memmap else np.asarray(data, dtype=np.float32)


def write_mask(path: str, mask: np.ndarray) -> str:
    """Write a usability mask (True = usable) as uint8 1/0, atomically."""
    return atomic_write(fits.PrimaryHDU(np.asarray(mask, dtype=np.uint8)), path)


def read_mask(path: str) -> np.ndarray:
    """Read a mask file; pixels > 0 are usable. Returns bool ``(ny, nx)``."""
    if not os.path.exists(path):
        raise InputFileError(f"mask cache file {path} does not exist")
    with open_fits(path, what="mask cache file") as hdul:
        return np.asarray(hdul[0].data) > 0
