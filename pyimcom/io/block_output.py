"""Writer of the block output file ``{OUT}_{ibx:02d}_{iby:02d}.fits`` (core spec §5).

HDUs, in this order (numpy shapes; FITS ``NAXIS1`` is the last axis):

==========  ===========  ======================================================================
EXTNAME     type         content
==========  ===========  ======================================================================
PRIMARY     image        float32 ``(n_out, n_layer, NsideP, NsideP)`` coadded layers; block WCS
CONFIG      ASCII table  configuration JSON, one ``A512`` row per line; pass-through labels,
                         ``FILTER``, ``BLOCKX``/``BLOCKY`` and software versions in the header
INDATA      binary table ``obsid`` (J), ``sca`` (I), ``ra``/``dec``/``pa`` (D, degree), ``valid`` (L)
INWEIGHT    image        float32 ``(n_out, n_img, n1P, n1P)`` mean weight of each image per stamp
INWTFLAT    image        float32 ``(n_out*n1P, n_img*n1P)``; ``[o*n1P + J, k*n1P + I]`` =
                         ``INWEIGHT[o, k, J, I]``
FIDELITY…   image        16-bit log-encoded maps (`pyimcom.io.logmaps`), block WCS plus ``UNIT``
==========  ===========  ======================================================================

The file name comes from `pyimcom.geometry.block_filename`; the block WCS header from
`pyimcom.geometry.MosaicGeometry.block_header`.  Stamp indices ``J`` (row, y) and ``I`` (column, x)
of ``INWEIGHT`` are 0-based here (``J = j - 1`` for the 1-based OutStamp index ``j``).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os

import numpy as np
from astropy.io import fits

from ..errors import PyIMCOMValueError
from ..instrument import filter_name as _filter_name_of_code
from .config_hdu import config_table_hdu
from .fitsutil import atomic_write
from .logmaps import MAP_EXTNAMES, encode_log_map, map_spec

__all__ = [
    "VERSION_PACKAGES",
    "PASSTHROUGH_DEFAULTS",
    "INDATA_COLUMNS",
    "version_keyword",
    "software_versions",
    "flatten_inweight",
    "write_block",
]

logger = logging.getLogger(__name__)

#: Packages whose versions are recorded in the CONFIG header (keyword from `version_keyword`).
VERSION_PACKAGES = ("numpy", "scipy", "astropy", "fitsio", "asdf", "pyimcom", "furry-parakeet")

#: Pass-through labels copied into the CONFIG header: keyword -> (default, comment).
PASSTHROUGH_DEFAULTS = {
    "TILESCHM": ("Not_specified", "tiling scheme label (pass-through)"),
    "RERUN": ("Not_specified", "rerun label (pass-through)"),
    "MOSAIC": (-1, "mosaic number (pass-through)"),
}

#: INDATA columns: name -> (FITS format, numpy dtype, unit).
INDATA_COLUMNS = {
    "obsid": ("J", np.int32, None),
    "sca": ("I", np.int16, None),
    "ra": ("D", np.float64, "degree"),
    "dec": ("D", np.float64, "degree"),
    "pa": ("D", np.float64, "degree"),
    "valid": ("L", np.bool_, None),
}


def version_keyword(package: str) -> str:
    """Return the CONFIG header keyword recording a package version.

    The keyword is ``'V'`` plus the first 7 characters of the package name, upper-cased, with
    ``-`` replaced by ``_`` (so that it is a valid FITS keyword).

    Parameters
    ----------
    package : str
        Distribution name, e.g. ``'furry-parakeet'``.

    Returns
    -------
    str
        At most 8 characters.

    Examples
    --------
    >>> version_keyword("numpy"), version_keyword("furry-parakeet")
    ('VNUMPY', 'VFURRY_P')
    """
    return "V" + package[:7].upper().replace("-", "_")


def software_versions(packages=VERSION_PACKAGES) -> dict[str, str]:
    """Return the installed versions of packages, ``'N/A'`` for those not installed.

    Parameters
    ----------
    packages : iterable of str
        Distribution names. Default: `VERSION_PACKAGES`.

    Returns
    -------
    dict of str to str
        Package name -> version string (from `importlib.metadata`) or ``'N/A'``.

    Examples
    --------
    >>> import numpy
    >>> software_versions(["numpy"])["numpy"] == numpy.__version__
    True
    """
    out = {}
    for package in packages:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "N/A"
    return out


def flatten_inweight(inweight: np.ndarray) -> np.ndarray:
    """Re-lay ``INWEIGHT`` for display as the 2-D ``INWTFLAT`` array.

    Parameters
    ----------
    inweight : numpy.ndarray
        Shape ``(n_out, n_img, n1P, n1P)``; any float dtype.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(n_out*n1P, n_img*n1P)``; element ``[o*n1P + J, k*n1P + I]`` equals
        ``inweight[o, k, J, I]``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> flatten_inweight(w).tolist()
    [[0.0, 1.0, 4.0, 5.0], [2.0, 3.0, 6.0, 7.0]]
    """
    n_out, n_img, n1p_y, n1p_x = inweight.shape
    flat = np.transpose(inweight, (0, 2, 1, 3)).reshape(n_out * n1p_y, n_img * n1p_x)
    return np.ascontiguousarray(flat, dtype=np.float32)


def _check_shape(name: str, array, shape_expected: tuple, meaning: str) -> np.ndarray:
    """Return ``array`` as a float array, raising if its shape differs (``None`` = any size)."""
    arr = np.asarray(array)
    ok = arr.ndim == len(shape_expected) and all(
        want is None or got == want for got, want in zip(arr.shape, shape_expected, strict=True)
    )
    if not ok or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        text = "(" + ", ".join("?" if s is None else str(s) for s in shape_expected) + ")"
        raise PyIMCOMValueError(
            f"{name} must be a real array of shape {meaning} = {text}; got shape {arr.shape}, "
            f"dtype {arr.dtype}"
        )
    return arr


def _indata_hdu(indata, n_img: int) -> fits.BinTableHDU:
    """Build the INDATA table from a mapping-like of columns (dict, astropy Table, record array)."""
    columns = []
    for name, (fmt, dtype, unit) in INDATA_COLUMNS.items():
        try:
            values = indata[name]
        except (KeyError, ValueError, IndexError):
            if name != "valid":
                raise PyIMCOMValueError(
                    f"indata has no column {name!r}; it needs obsid, sca, ra, dec, pa (and optionally valid)"
                ) from None
            values = np.ones(n_img, dtype=bool)
        values = np.asarray(values)
        if values.shape != (n_img,):
            raise PyIMCOMValueError(
                f"indata column {name!r} must have shape (n_img,) = ({n_img},), one row per input "
                f"image of inweight; got shape {values.shape}"
            )
        columns.append(fits.Column(name=name, format=fmt, unit=unit, array=values.astype(dtype)))
    return fits.BinTableHDU.from_columns(columns, name="INDATA")


def _config_cards(passthrough, filter_name, ibx: int, iby: int, versions) -> list[tuple]:
    """Header cards of the CONFIG HDU: pass-throughs, FILTER, BLOCKX/BLOCKY, software versions."""
    passthrough = dict(passthrough or {})
    unknown = sorted(set(passthrough) - set(PASSTHROUGH_DEFAULTS))
    if unknown:
        raise PyIMCOMValueError(
            f"passthrough has unknown keys {unknown}; allowed: {sorted(PASSTHROUGH_DEFAULTS)}"
        )
    cards = [
        (key, passthrough.get(key, default), comment)
        for key, (default, comment) in PASSTHROUGH_DEFAULTS.items()
    ]
    if not isinstance(filter_name, str):
        filter_name = _filter_name_of_code(filter_name)
    cards += [
        ("FILTER", filter_name, "filter name"),
        ("BLOCKX", ibx, "block index along x (ibx)"),
        ("BLOCKY", iby, "block index along y (iby)"),
    ]
    found = software_versions()
    found.update(versions or {})
    cards += [(version_keyword(p), str(found[p]), f"version of {p}") for p in VERSION_PACKAGES]
    return cards


def _map_hdus(maps, block_header: fits.Header, shape_expected: tuple) -> list[fits.ImageHDU]:
    """Encode the ancillary maps in HDU order; keys are OUTMAPS letters or EXTNAMEs."""
    by_extname = {}
    for key, values in (maps or {}).items():
        spec = map_spec(key)
        if spec.extname in by_extname:
            raise PyIMCOMValueError(f"maps gives {spec.extname} twice (keys {sorted(map(str, maps))})")
        by_extname[spec.extname] = _check_shape(
            f"maps[{key!r}] ({spec.extname})", values, shape_expected, "(n_out, NsideP, NsideP)"
        )
    hdus = []
    for extname in MAP_EXTNAMES:
        if extname in by_extname:
            spec = map_spec(extname)
            hdu = fits.ImageHDU(encode_log_map(by_extname[extname], extname), header=block_header.copy())
            hdu.name = extname
            hdu.header["UNIT"] = (spec.unit, spec.comment)
            hdus.append(hdu)
    return hdus


def write_block(
    path: str | os.PathLike,
    *,
    layers,
    maps,
    inweight,
    indata,
    config_json: str,
    block_header: fits.Header,
    filter_name,
    ibx: int,
    iby: int,
    passthrough,
    versions=None,
) -> str:
    """Write the output file of one block atomically (temporary name, then rename).

    Parameters
    ----------
    path : str or os.PathLike
        Destination, normally ``geometry.block_filename(OUT, ibx, iby)``; parents are created.
    layers : array_like of float
        Coadded layers, shape ``(n_out, n_layer, NsideP, NsideP)`` indexed ``[o, layer, y, x]``
        [input units per native-pixel area]; written as float32.  Layer 0 is the science layer.
    maps : dict of str to array_like of float
        Ancillary maps keyed by ``OUTMAPS`` letter (``U``, ``S``, ``K``, ``T``, ``N``) or EXTNAME,
        each of shape ``(n_out, NsideP, NsideP)`` [linear values: U/C, Σ, κ, ΣT, n_eff]; written
        log-encoded in the order FIDELITY, SIGMA, KAPPA, INWTSUM, EFFCOVER.  Maps not given are
        not written.
    inweight : array_like of float
        Mean weight of each input image per stamp, shape ``(n_out, n_img, n1P, n1P)`` indexed
        ``[o, k, J, I]`` (0-based stamp row ``J`` and column ``I``).
    indata : mapping of str to array_like
        Input images in block order (dict of columns, astropy Table or record array): ``obsid``,
        ``sca`` (1..18), ``ra``, ``dec``, ``pa`` [deg, the exposure pointing] and optionally
        ``valid`` (default all True); each of length ``n_img``.
    config_json : str
        The configuration JSON text (``Config.to_file(None)``).
    block_header : astropy.io.fits.Header
        Block WCS header (`pyimcom.geometry.MosaicGeometry.block_header`); copied into the primary
        and map HDUs.
    filter_name : str or int
        Filter name such as ``'H158'`` (an integer filter code is converted to its name).
    ibx, iby : int
        Block indices, >= 0.
    passthrough : mapping of str to str or int
        Pass-through labels ``TILESCHM``, ``RERUN`` (str) and ``MOSAIC`` (int); missing ones get the
        reference defaults (``'Not_specified'``, -1).
    versions : mapping of str to str, optional
        Package name -> version string overriding the detected versions (e.g. for reproducible
        test files). Default: None (use `software_versions`).

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If an array has the wrong shape (the message names the array and the expected shape), a
        map key, ``indata`` column or ``passthrough`` key is unknown or missing, ``ibx``/``iby``
        are negative, or ``block_header`` is not a FITS header.  Nothing is written then.
    ConfigError
        If ``filter_name`` is an integer that is not a filter code.
    PyIMCOMError
        If writing fails (no partial file is left at ``path``).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from astropy.io import fits
    >>> p = write_block(os.path.join(tempfile.mkdtemp(), "demo_H_00_00.fits"),
    ...     layers=np.zeros((1, 1, 8, 8)), maps={"U": np.full((1, 8, 8), 1e-3)},
    ...     inweight=np.ones((1, 1, 2, 2)), indata={"obsid": [5], "sca": [3], "ra": [60.0],
    ...     "dec": [-4.0], "pa": [0.0]}, config_json="{}", block_header=fits.Header(),
    ...     filter_name="H158", ibx=0, iby=0, passthrough={})
    >>> with fits.open(p) as hdul:
    ...     print([h.name for h in hdul])
    ['PRIMARY', 'CONFIG', 'INDATA', 'INWEIGHT', 'INWTFLAT', 'FIDELITY']
    """
    if not isinstance(block_header, fits.Header):
        raise PyIMCOMValueError(
            f"block_header must be an astropy.io.fits.Header (MosaicGeometry.block_header); "
            f"got {type(block_header).__name__}"
        )
    for label, value in (("ibx", ibx), ("iby", iby)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise PyIMCOMValueError(f"{label} must be an integer >= 0; got {value!r}")
    layers = _check_shape("layers", layers, (None, None, None, None), "(n_out, n_layer, NsideP, NsideP)")
    n_out, _, ny, nx = layers.shape
    if ny != nx:
        raise PyIMCOMValueError(f"layers must have square images (NsideP, NsideP); got shape {layers.shape}")
    inweight = _check_shape("inweight", inweight, (n_out, None, None, None), "(n_out, n_img, n1P, n1P)")
    if inweight.shape[2] != inweight.shape[3]:
        raise PyIMCOMValueError(f"inweight must have shape (n_out, n_img, n1P, n1P); got {inweight.shape}")
    map_hdus = _map_hdus(maps, block_header, (n_out, ny, nx))

    primary = fits.PrimaryHDU(np.asarray(layers, dtype=np.float32), header=block_header.copy())
    config = config_table_hdu(
        config_json, _config_cards(passthrough, filter_name, int(ibx), int(iby), versions)
    )
    hdul = fits.HDUList(
        [
            primary,
            config,
            _indata_hdu(indata, inweight.shape[1]),
            fits.ImageHDU(np.asarray(inweight, dtype=np.float32), name="INWEIGHT"),
            fits.ImageHDU(flatten_inweight(inweight), name="INWTFLAT"),
            *map_hdus,
        ]
    )
    atomic_write(hdul, path)
    logger.info("wrote block (%d, %d) with %d maps to %s", ibx, iby, len(map_hdus), os.fspath(path))
    return os.fspath(path)
