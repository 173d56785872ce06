"""Science images: file names, headers, WCS and pixels, per input format (spec §2.3).

A small registry maps the ``INDATA`` format tag to a `ScienceFormat` object; adding a format means
writing one subclass decorated with ``@_register``.  Supported tags:

* ``anlsim`` -- OpenUniverse 2024 "simple model":
  ``{indir}/simple/Roman_WAS_simple_model_{F}_{obsid}_{sca}.fits``
* ``dc2_imsim`` -- Roman+Rubin DC2: ``{indir}/simple/dc2_{F}_{obsid}_{sca}.fits``

Both hold the image in HDU ``SCI`` (2-D, ``[y, x]``, electrons per pixel per exposure) with the
constant sky level in keyword ``SKY_MEAN`` and the WCS (TAN-SIP allowed) in the same header.
``L2_2506`` (ASDF) is recognised but not supported yet.

Besides the science image, a format names the files of the file-read layers (layers spec §1.2):

* truth image (``truth[,s]`` layer), primary HDU, same shape and units as the science layer:
  ``anlsim`` -- ``{indir}/truth/Roman_WAS_truth_{F}_{obsid}_{sca}.fits`` (the reference has no
  anlsim truth file and falls back to the science file; this package uses the OpenUniverse truth
  name that the reference uses for its L2 truth files, and the synthetic survey writes it);
  ``dc2_imsim`` -- ``{indir}/truth/dc2_{F}_{obsid}_{sca}.fits``.
* sky-noise realisation (``skyerr`` layer): HDU ``ERR`` of the ``dc2_imsim`` science file minus
  ``SKY_MEAN`` of its ``SCI`` header; ``anlsim`` files have no such HDU (`ScienceFormat.read_skyerr`
  raises `ConfigError`).

Pixel convention: 0-based coordinates, integer values at pixel centres, ``(x, y)`` order, arrays
indexed ``[y, x]``.  The FITS 1-based ``CRPIX`` is handled by astropy: always call the WCS with
``origin=0``, e.g. ``wcs.all_pix2world(x, y, 0)``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..errors import ConfigError, InputFileError, PyIMCOMValueError
from ..instrument import FILTER_NAMES, check_sca
from .fitsutil import atomic_write, open_fits

__all__ = ["ScienceFormat", "get_format", "format_tags", "write_anlsim_image", "write_truth_image"]

logger = logging.getLogger(__name__)

_FORMATS: dict[str, type[ScienceFormat]] = {}
_NOT_SUPPORTED = {"L2_2506": "ASDF L2 inputs (format L2_2506) are not supported yet"}
# Structural keywords that must not be copied from a user header into an image extension.
_STRUCTURAL = {
    "SIMPLE",
    "XTENSION",
    "BITPIX",
    "NAXIS",
    "NAXIS1",
    "NAXIS2",
    "EXTEND",
    "PCOUNT",
    "GCOUNT",
    "EXTNAME",
    "BSCALE",
    "BZERO",
}


def _register(cls):
    _FORMATS[cls.tag] = cls
    return cls


class ScienceFormat:
    """Reader of the science images of one input format (FITS with a ``SCI`` HDU).

    Subclasses set ``tag``, ``template`` and ``truth_template``; the templates are formatted with
    ``indir``, ``F`` (4-character filter name), ``obsid`` and ``sca`` (both without zero padding).
    ``has_skyerr`` tells whether the science files carry the ``ERR`` HDU of the ``skyerr`` layer.
    """

    tag: str = ""
    template: str = ""
    truth_template: str = ""
    has_skyerr: bool = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tag={self.tag!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def science_path(self, indir: str | os.PathLike, filter_name: str, obsid: int, sca: int) -> str:
        """Return the path of the science image of one exposure and SCA.

        Parameters
        ----------
        indir : str or os.PathLike
            Input data directory (``INDATA[0]`` of the configuration).
        filter_name : str
            4-character filter name of the exposure, e.g. ``'H158'``.
        obsid : int
            Observation ID (row of the observation table), >= 0.
        sca : int
            SCA number, 1..18.

        Returns
        -------
        str
            Path (the file need not exist).

        Raises
        ------
        PyIMCOMValueError
            If the filter name is unknown or ``obsid`` is negative.
        ConfigError
            If ``sca`` is not in 1..18.

        Examples
        --------
        >>> get_format("anlsim").science_path("/d", "H158", 12, 3)
        '/d/simple/Roman_WAS_simple_model_H158_12_3.fits'
        """
        return self._format_path(self.template, indir, filter_name, obsid, sca)

    def truth_path(self, indir: str | os.PathLike, filter_name: str, obsid: int, sca: int) -> str:
        """Return the path of the noiseless truth image of one exposure and SCA (``truth`` layer).

        Parameters
        ----------
        indir : str or os.PathLike
            Input data directory (``INDATA[0]`` of the configuration).
        filter_name : str
            4-character filter name of the exposure, e.g. ``'H158'``.
        obsid : int
            Observation ID (row of the observation table), >= 0.
        sca : int
            SCA number, 1..18.

        Returns
        -------
        str
            Path (the file need not exist).

        Raises
        ------
        PyIMCOMValueError
            If the filter name is unknown or ``obsid`` is negative.
        ConfigError
            If ``sca`` is not in 1..18.

        Examples
        --------
        >>> get_format("anlsim").truth_path("/d", "H158", 12, 3)
        '/d/truth/Roman_WAS_truth_H158_12_3.fits'
        >>> get_format("dc2_imsim").truth_path("/d", "Y106", 12, 3)
        '/d/truth/dc2_Y106_12_3.fits'
        """
        return self._format_path(self.truth_template, indir, filter_name, obsid, sca)

    @staticmethod
    def _format_path(template: str, indir, filter_name: str, obsid: int, sca: int) -> str:
        if filter_name not in FILTER_NAMES:
            raise PyIMCOMValueError(
                f"unknown filter name {filter_name!r}; allowed: {', '.join(FILTER_NAMES)}"
            )
        if isinstance(obsid, bool) or not isinstance(obsid, (int, np.integer)) or obsid < 0:
            raise PyIMCOMValueError(f"obsid must be a non-negative integer; got {obsid!r}")
        sca = check_sca(sca)
        return template.format(indir=os.fspath(indir), F=filter_name, obsid=int(obsid), sca=sca)

    def read_header(self, path: str | os.PathLike) -> fits.Header:
        """Return the header of HDU ``SCI`` (no pixels are read).

        Parameters
        ----------
        path : str or os.PathLike
            Science image file.

        Returns
        -------
        astropy.io.fits.Header
            Copy of the ``SCI`` header.

        Raises
        ------
        InputFileError
            If the file is missing, unreadable or has no ``SCI`` HDU.
        """
        path = os.fspath(path)
        with open_fits(path, what="science image") as hdul:
            return self._sci_hdu(hdul, path).header.copy()

    def read_shape(self, path: str | os.PathLike) -> tuple[int, int]:
        """Return the image shape ``(ny, nx)`` from ``NAXIS2``/``NAXIS1`` without reading pixels.

        Parameters
        ----------
        path : str or os.PathLike
            Science image file.

        Returns
        -------
        tuple of int
            ``(ny, nx)`` [pixels].

        Raises
        ------
        InputFileError
            If the file is missing, unreadable, has no ``SCI`` HDU or the image is not 2-D.
        """
        header = self.read_header(path)
        self._check_2d(header, os.fspath(path))
        return int(header["NAXIS2"]), int(header["NAXIS1"])

    def read_wcs(self, path: str | os.PathLike) -> WCS:
        """Return the celestial WCS of the ``SCI`` header (TAN-SIP distortion included).

        Parameters
        ----------
        path : str or os.PathLike
            Science image file.

        Returns
        -------
        astropy.wcs.WCS
            2-axis celestial WCS.  Use it with 0-based pixel coordinates (integer = pixel centre),
            i.e. ``wcs.all_pix2world(x, y, 0)`` and ``wcs.all_world2pix(ra_deg, dec_deg, 0)``;
            sky coordinates are in degrees.

        Raises
        ------
        InputFileError
            If the file is missing or unreadable, or the header has no 2-axis celestial WCS.
        """
        path = os.fspath(path)
        header = self.read_header(path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(header, naxis=2)
        except Exception as exc:  # astropy raises a variety of types for bad WCS headers
            raise InputFileError(f"science image {path}: invalid WCS in HDU 'SCI': {exc}") from exc
        if wcs.naxis != 2 or not wcs.has_celestial:
            raise InputFileError(
                f"science image {path}: HDU 'SCI' has no 2-axis celestial WCS (CTYPE = {wcs.wcs.ctype})"
            )
        return wcs

    def read_science(self, path: str | os.PathLike) -> np.ndarray:
        """Return the sky-subtracted science image ``SCI - SKY_MEAN``.

        Parameters
        ----------
        path : str or os.PathLike
            Science image file.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(ny, nx)``, indexed ``[y, x]`` [electrons per pixel per exposure].
            The subtraction is done in float64 and rounded once to float32.

        Raises
        ------
        InputFileError
            If the file is missing or unreadable, has no ``SCI`` HDU, the image is not 2-D, or the
            ``SKY_MEAN`` keyword is missing or not a number.
        """
        path = os.fspath(path)
        with open_fits(path, what="science image") as hdul:
            hdu = self._sci_hdu(hdul, path)
            self._check_2d(hdu.header, path)
            sky_mean = self._sky_mean(hdu.header, path)
            data = np.asarray(hdu.data, dtype=np.float64)
        return (data - sky_mean).astype(np.float32)

    def read_skyerr(self, path: str | os.PathLike) -> np.ndarray:
        """Return the simulation's sky-noise realisation ``ERR - SKY_MEAN`` (``skyerr`` layer).

        ``ERR`` is an image HDU of the science file with the shape of ``SCI``; ``SKY_MEAN`` is read
        from the ``SCI`` header.  Only formats with ``has_skyerr`` (``dc2_imsim``) have it.

        Parameters
        ----------
        path : str or os.PathLike
            Science image file.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(ny, nx)``, indexed ``[y, x]`` [electrons per pixel per exposure].
            The subtraction is done in float64 and rounded once to float32.

        Raises
        ------
        ConfigError
            If the format has no ``ERR`` HDU (``anlsim``); the message names the recipe and format.
        InputFileError
            If the file is missing or unreadable, has no ``SCI`` or ``ERR`` HDU, ``SKY_MEAN`` is
            missing or not a number, or ``ERR`` is not 2-D with the shape of ``SCI``.
        """
        if not self.has_skyerr:
            with_err = [t for t, cls in _FORMATS.items() if cls.has_skyerr]
            raise ConfigError(
                f"EXTRAINPUT recipe 'skyerr' needs the ERR HDU of the science file, which INDATA format "
                f"{self.tag!r} does not have; formats with it: {', '.join(with_err)}"
            )
        path = os.fspath(path)
        with open_fits(path, what="science image") as hdul:
            sci = self._sci_hdu(hdul, path)
            self._check_2d(sci.header, path)
            sky_mean = self._sky_mean(sci.header, path)
            try:
                err = hdul["ERR"]
            except KeyError:
                names = [h.name for h in hdul]
                raise InputFileError(
                    f"science image {path} has no HDU 'ERR' (needed by the skyerr layer); "
                    f"HDUs present: {names}"
                ) from None
            shape = None if err.data is None else err.data.shape
            sci_shape = (int(sci.header["NAXIS2"]), int(sci.header["NAXIS1"]))
            if shape != sci_shape:
                raise InputFileError(
                    f"science image {path}: HDU 'ERR' has shape {shape}; expected the 'SCI' shape {sci_shape}"
                )
            data = np.asarray(err.data, dtype=np.float64)
        return (data - sky_mean).astype(np.float32)

    def read_truth(self, path: str | os.PathLike, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Return the noiseless truth image (primary HDU) of one exposure and SCA.

        Parameters
        ----------
        path : str or os.PathLike
            Truth file (see `truth_path`).
        shape : tuple of int, optional
            Expected ``(ny, nx)`` (the science image's); None: any 2-D shape.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(ny, nx)``, indexed ``[y, x]`` [file units; the synthetic survey writes
            electrons per pixel per exposure without sky].

        Raises
        ------
        InputFileError
            If the file is missing or unreadable, or the primary HDU is not a 2-D image (of the
            expected shape); the message names the path.
        """
        path = os.fspath(path)
        with open_fits(path, what="truth image") as hdul:
            data = hdul[0].data
            found = None if data is None else data.shape
            if found is None or len(found) != 2 or (shape is not None and found != tuple(shape)):
                want = "a 2-D image" if shape is None else f"shape {tuple(shape)}"
                raise InputFileError(f"truth image {path}: primary HDU has shape {found}; expected {want}")
            return np.array(data, dtype=np.float32)

    @staticmethod
    def _sky_mean(header: fits.Header, path: str) -> float:
        if "SKY_MEAN" not in header:
            raise InputFileError(f"science image {path}: keyword SKY_MEAN missing from HDU 'SCI'")
        sky_mean = header["SKY_MEAN"]
        if isinstance(sky_mean, bool) or not isinstance(sky_mean, (int, float)):
            raise InputFileError(f"science image {path}: keyword SKY_MEAN = {sky_mean!r} is not a number")
        return float(sky_mean)

    @staticmethod
    def _sci_hdu(hdul: fits.HDUList, path: str):
        try:
            return hdul["SCI"]
        except KeyError:
            names = [h.name for h in hdul]
            raise InputFileError(f"science image {path} has no HDU 'SCI'; HDUs present: {names}") from None

    @staticmethod
    def _check_2d(header: fits.Header, path: str) -> None:
        if header.get("NAXIS", 0) != 2:
            raise InputFileError(
                f"science image {path}: HDU 'SCI' must be a 2-D image; got NAXIS = {header.get('NAXIS')}"
            )


@_register
class AnlsimFormat(ScienceFormat):
    """OpenUniverse 2024 "simple model" images (tag ``anlsim``)."""

    tag = "anlsim"
    template = "{indir}/simple/Roman_WAS_simple_model_{F}_{obsid}_{sca}.fits"
    truth_template = "{indir}/truth/Roman_WAS_truth_{F}_{obsid}_{sca}.fits"


@_register
class Dc2ImsimFormat(ScienceFormat):
    """Roman+Rubin DC2 images (tag ``dc2_imsim``)."""

    tag = "dc2_imsim"
    template = "{indir}/simple/dc2_{F}_{obsid}_{sca}.fits"
    truth_template = "{indir}/truth/dc2_{F}_{obsid}_{sca}.fits"
    has_skyerr = True


def format_tags() -> tuple[str, ...]:
    """Return the supported science-format tags.

    Returns
    -------
    tuple of str
        Tags accepted by `get_format`.

    Examples
    --------
    >>> format_tags()
    ('anlsim', 'dc2_imsim')
    """
    return tuple(_FORMATS)


def get_format(tag: str) -> ScienceFormat:
    """Return the reader of an input format.

    Parameters
    ----------
    tag : str
        Format tag (second element of ``INDATA``): ``'anlsim'`` or ``'dc2_imsim'``.

    Returns
    -------
    ScienceFormat
        The format object.

    Raises
    ------
    ConfigError
        If the tag is unknown, or is ``'L2_2506'`` (ASDF inputs are not supported yet).

    Examples
    --------
    >>> get_format("dc2_imsim").tag
    'dc2_imsim'
    """
    if tag in _NOT_SUPPORTED:
        raise ConfigError(f"INDATA format {tag!r}: {_NOT_SUPPORTED[tag]}; supported: {', '.join(_FORMATS)}")
    if tag not in _FORMATS:
        raise ConfigError(f"unknown INDATA format {tag!r}; supported: {', '.join(_FORMATS)}")
    return _FORMATS[tag]()


def write_anlsim_image(path: str | os.PathLike, sci, header, sky_mean: float) -> str:
    """Write a science image in the anlsim/dc2 layout, atomically.

    The file has an empty primary HDU and an image HDU ``SCI`` (float32) whose header holds the
    given WCS cards and ``SKY_MEAN``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    sci : array_like
        Image including the sky, shape ``(ny, nx)``, indexed ``[y, x]``; written as float32
        [electrons per pixel per exposure].
    header : astropy.io.fits.Header, astropy.wcs.WCS or Mapping
        WCS cards (TAN-SIP allowed).  A `~astropy.wcs.WCS` is converted with
        ``to_header(relax=True)`` so SIP terms are kept.  Structural keywords are ignored.
    sky_mean : float
        Constant sky level stored as ``SKY_MEAN`` [electrons per pixel per exposure].

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If ``sci`` is not 2-D or ``header`` has an unsupported type.
    """
    sci = np.asarray(sci, dtype=np.float32)
    if sci.ndim != 2:
        raise PyIMCOMValueError(f"write_anlsim_image: sci must be 2-D [ny, nx]; got shape {sci.shape}")
    if isinstance(header, WCS):
        cards = header.to_header(relax=True)
    elif isinstance(header, (fits.Header, Mapping)):
        cards = header
    else:
        raise PyIMCOMValueError(
            f"write_anlsim_image: header must be a FITS Header, WCS or mapping; got {type(header).__name__}"
        )
    hdu = fits.ImageHDU(sci, name="SCI")
    for key, value in cards.items():
        if key.upper() not in _STRUCTURAL and key not in ("", "COMMENT", "HISTORY"):
            hdu.header[key] = value
    hdu.header["SKY_MEAN"] = (float(sky_mean), "constant sky level [e/pix/exposure]")
    return atomic_write(fits.HDUList([fits.PrimaryHDU(), hdu]), path)


def write_truth_image(path: str | os.PathLike, data) -> str:
    """Write a truth image (primary HDU, float32) atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (see `ScienceFormat.truth_path`).
    data : array_like
        Noiseless image, shape ``(ny, nx)``, indexed ``[y, x]`` [electrons per pixel per exposure].

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If ``data`` is not 2-D.
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 2:
        raise PyIMCOMValueError(f"write_truth_image: data must be 2-D [ny, nx]; got shape {data.shape}")
    return atomic_write(fits.PrimaryHDU(data), path)
