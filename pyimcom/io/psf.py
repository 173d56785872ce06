"""Input PSF files and the evaluation of an input PSF at an SCA position (spec §2.4).

File layouts (in the ``INPSF`` directory):

* ``anlsim`` and ``L2_2506``: ``psf_polyfit_{obsid}.fits``.  Primary HDU empty; HDU ``k`` (1..18)
  holds SCA ``k`` as a cube ``[ncoef, N, N]`` of Legendre coefficients, ``ncoef = (p+1)**2``,
  oversampled by ``ov``, pixel tophat **not** included, PSF centred at ``((N-1)/2, (N-1)/2)``.
* ``dc2_imsim``: ``dc2_psf_{obsid}.fits``; HDU ``k`` = SCA ``k``, a 2-D ``[N, N]`` oversampled PSF
  with no spatial variation, tophat not included.

Legendre basis at the 0-based SCA pixel ``(x, y)`` (integer = pixel centre) of an SCA of
``nx × ny`` pixels: ``u = (x - (nx-1)/2) / (nx/2)``, ``v = (y - (ny-1)/2) / (ny/2)`` (for Roman,
``(x - 2043.5)/2044``); coefficient slice ``k = n*(p+1) + m`` multiplies ``P_m(u) * P_n(v)``
(x order fastest).  `InputPSF.at` returns the PSF convolved with the native-pixel tophat and
normalised so that its sum over the oversampled array is ≈ 1 (spec §2.4 step 4).  All arrays are
indexed ``[y, x]``; PSF arrays are on the oversampled grid.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping

import numpy as np
from astropy.io import fits
from numpy.polynomial import legendre as npleg

from ..errors import InputFileError, PyIMCOMValueError
from ..instrument import N_SCA, SCA_NSIDE, check_sca
from .fitsutil import atomic_write, open_fits

__all__ = [
    "PSF_FORMATS",
    "psf_path",
    "legendre_order",
    "read_legendre_cube",
    "legendre_weights",
    "evaluate_legendre",
    "tophat_pad",
    "tophat_convolve",
    "normalise_psf",
    "InputPSF",
    "write_legendre_psf_file",
]

logger = logging.getLogger(__name__)

# format tag -> (file name template, file holds Legendre cubes)
_PSF_FILES = {
    "anlsim": ("psf_polyfit_{obsid}.fits", True),
    "L2_2506": ("psf_polyfit_{obsid}.fits", True),
    "dc2_imsim": ("dc2_psf_{obsid}.fits", False),
}
PSF_FORMATS = tuple(_PSF_FILES)


def _check_fmt(fmt: str) -> str:
    if fmt not in _PSF_FILES:
        raise PyIMCOMValueError(f"unknown PSF format {fmt!r}; allowed: {', '.join(PSF_FORMATS)}")
    return fmt


def _check_ov(ov) -> float:
    if isinstance(ov, bool) or not isinstance(ov, (int, float, np.integer, np.floating)) or not ov > 0:
        raise PyIMCOMValueError(f"PSF oversampling factor ov must be a positive number; got {ov!r}")
    return ov


def psf_path(inpsf_dir: str | os.PathLike, fmt: str, obsid: int) -> str:
    """Return the PSF file of an observation (the file need not exist).

    Parameters
    ----------
    inpsf_dir : str or os.PathLike
        PSF directory (``INPSF[0]``).
    fmt : str
        PSF format: ``'anlsim'``, ``'L2_2506'`` or ``'dc2_imsim'``.
    obsid : int
        Observation ID, >= 0 (written without zero padding).

    Returns
    -------
    str
        ``{inpsf_dir}/psf_polyfit_{obsid}.fits`` or ``{inpsf_dir}/dc2_psf_{obsid}.fits``.

    Raises
    ------
    PyIMCOMValueError
        If ``fmt`` is unknown or ``obsid`` is negative.

    Examples
    --------
    >>> psf_path("/p", "dc2_imsim", 7)
    '/p/dc2_psf_7.fits'
    """
    template, _ = _PSF_FILES[_check_fmt(fmt)]
    if isinstance(obsid, bool) or not isinstance(obsid, (int, np.integer)) or obsid < 0:
        raise PyIMCOMValueError(f"obsid must be a non-negative integer; got {obsid!r}")
    return os.path.join(os.fspath(inpsf_dir), template.format(obsid=int(obsid)))


def legendre_order(ncoef: int) -> int:
    """Return the Legendre order ``p`` of a cube with ``ncoef = (p+1)**2`` slices.

    Parameters
    ----------
    ncoef : int
        Number of coefficient slices, a perfect square >= 1.

    Returns
    -------
    int
        ``p = sqrt(ncoef) - 1``.

    Raises
    ------
    PyIMCOMValueError
        If ``ncoef`` is not a perfect square >= 1.

    Examples
    --------
    >>> legendre_order(4), legendre_order(9)
    (1, 2)
    """
    if isinstance(ncoef, bool) or not isinstance(ncoef, (int, np.integer)) or ncoef < 1:
        raise PyIMCOMValueError(f"number of Legendre coefficients must be a positive integer; got {ncoef!r}")
    root = math.isqrt(int(ncoef))
    if root * root != ncoef:
        raise PyIMCOMValueError(
            f"number of Legendre coefficients must be a perfect square (p+1)**2; got {ncoef}"
        )
    return root - 1


def _read_sca_hdu(path: str, sca: int, ndim: int, what: str) -> np.ndarray:
    """Read HDU ``sca`` of a PSF file as float64 and check its number of dimensions."""
    sca = check_sca(sca)
    with open_fits(path, what="PSF file") as hdul:
        if len(hdul) <= sca:
            raise InputFileError(f"PSF file {path} has no HDU {sca} for SCA {sca}; it has {len(hdul)} HDUs")
        data = hdul[sca].data
        if data is None or data.ndim != ndim:
            shape = None if data is None else data.shape
            raise InputFileError(f"PSF file {path}, SCA {sca}: expected a {what}; got data of shape {shape}")
        return np.array(data, dtype=np.float64)


def read_legendre_cube(path: str | os.PathLike, sca: int) -> np.ndarray:
    """Read the Legendre coefficient cube of one SCA (HDU ``sca``).

    Parameters
    ----------
    path : str or os.PathLike
        Legendre PSF file (``psf_polyfit_{obsid}.fits``).
    sca : int
        SCA number, 1..18.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(ncoef, N, N)``; each slice is indexed ``[y, x]`` on the oversampled grid.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, HDU ``sca`` is missing or not 3-D, or ``ncoef`` is
        not a perfect square.
    ConfigError
        If ``sca`` is not in 1..18.
    """
    path = os.fspath(path)
    cube = _read_sca_hdu(path, sca, 3, "3-D Legendre cube [ncoef, N, N]")
    try:
        legendre_order(cube.shape[0])
    except PyIMCOMValueError as exc:
        raise InputFileError(f"PSF file {path}, SCA {sca}: {exc}") from None
    return cube


def legendre_weights(x: float, y: float, nx: int = SCA_NSIDE, ny: int = SCA_NSIDE, p: int = 1) -> np.ndarray:
    """Return the Legendre basis weights at an SCA pixel position.

    Parameters
    ----------
    x, y : float
        0-based SCA pixel position (integer = pixel centre) [native pixels].
    nx, ny : int
        SCA size along x and y [native pixels]. Default: `SCA_NSIDE` (4088).
    p : int
        Legendre order, >= 0. Default: 1.

    Returns
    -------
    numpy.ndarray
        float64, shape ``((p+1)**2,)``; element ``n*(p+1) + m`` is ``P_m(u) * P_n(v)``.

    Raises
    ------
    PyIMCOMValueError
        If ``p`` is not a non-negative integer.

    Examples
    --------
    >>> legendre_weights(0.0, 1.5, nx=4, ny=4).tolist()
    [1.0, -0.75, 0.0, -0.0]
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0:
        raise PyIMCOMValueError(f"Legendre order p must be a non-negative integer; got {p!r}")
    u = (float(x) - (nx - 1) / 2.0) / (nx / 2.0)
    v = (float(y) - (ny - 1) / 2.0) / (ny / 2.0)
    pu = npleg.legvander(np.array([u]), int(p))[0]
    pv = npleg.legvander(np.array([v]), int(p))[0]
    return np.outer(pv, pu).ravel()


def evaluate_legendre(cube, x: float, y: float, nx: int = SCA_NSIDE, ny: int = SCA_NSIDE) -> np.ndarray:
    """Evaluate a Legendre PSF cube at an SCA pixel position: ``sum_k w_k(x, y) * cube[k]``.

    Parameters
    ----------
    cube : array_like
        Coefficients, shape ``(ncoef, N, N)``, ``ncoef = (p+1)**2``.
    x, y : float
        0-based SCA pixel position (integer = pixel centre) [native pixels].
    nx, ny : int
        SCA size along x and y [native pixels]. Default: `SCA_NSIDE` (4088).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(N, N)`` (weights from `legendre_weights`).

    Raises
    ------
    PyIMCOMValueError
        If ``cube`` is not 3-D or its first dimension is not a perfect square.

    Examples
    --------
    >>> import numpy as np
    >>> float(evaluate_legendre(np.ones((4, 2, 2)), 0.0, 0.0, nx=4, ny=4)[0, 0])
    0.0625
    """
    cube = np.asarray(cube, dtype=np.float64)
    if cube.ndim != 3:
        raise PyIMCOMValueError(f"Legendre cube must be 3-D [ncoef, N, N]; got shape {cube.shape}")
    w = legendre_weights(x, y, nx, ny, legendre_order(cube.shape[0]))
    return np.tensordot(w, cube, axes=(0, 0))


def tophat_pad(ov: float) -> int:
    """Return the padding of `tophat_convolve`: ``ceil(ov + 1)`` rounded up to a multiple of 4.

    Parameters
    ----------
    ov : float
        PSF oversampling factor, > 0.

    Returns
    -------
    int
        Zero padding on each side [oversampled pixels].

    Raises
    ------
    PyIMCOMValueError
        If ``ov`` is not positive.

    Examples
    --------
    >>> tophat_pad(8), tophat_pad(6)
    (12, 8)
    """
    n = math.ceil(_check_ov(ov) + 1)
    return 4 * ((n + 3) // 4)


def tophat_convolve(image, ov: float) -> np.ndarray:
    """Convolve an oversampled PSF with the native-pixel tophat (box average of full width ``ov``).

    The image is zero-padded by ``npad = tophat_pad(ov)`` on each side, its FFT is multiplied by
    ``sinc(ov*fx) * sinc(ov*fy)`` (normalised sinc, frequencies in cycles per oversampled pixel)
    and transformed back.  This is the box average of the band-limited interpolant of the image:
    unit DC gain (the sum is preserved) and no shift (the input centre is the output centre).

    Parameters
    ----------
    image : array_like
        Oversampled PSF, shape ``(ny, nx)``, indexed ``[y, x]``.
    ov : float
        Oversampling factor = tophat width [oversampled pixels], > 0.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(ny + 2*npad, nx + 2*npad)``.

    Raises
    ------
    PyIMCOMValueError
        If ``image`` is not 2-D or ``ov`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> out = tophat_convolve(np.full((8, 8), 1 / 64), 2)
    >>> out.shape, round(float(out.sum()), 12)
    ((16, 16), 1.0)
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise PyIMCOMValueError(f"tophat_convolve: image must be 2-D [ny, nx]; got shape {image.shape}")
    npad = tophat_pad(ov)
    padded = np.pad(image, npad)
    my, mx = padded.shape
    kernel = np.outer(np.sinc(ov * np.fft.fftfreq(my)), np.sinc(ov * np.fft.rfftfreq(mx)))
    return np.fft.irfft2(np.fft.rfft2(padded) * kernel, s=(my, mx))


def normalise_psf(image, fmt: str, ov: float) -> np.ndarray:
    """Apply the per-format normalisation (the result sums to ≈ 1 over the oversampled grid).

    ``anlsim`` files are in flux fraction per native-pixel area and are divided by ``ov**2`` (the
    reference hard-codes 64 = 8**2); ``L2_2506`` and ``dc2_imsim`` are returned unchanged.

    Parameters
    ----------
    image : array_like
        PSF array, any shape.
    fmt : str
        PSF format: ``'anlsim'``, ``'L2_2506'`` or ``'dc2_imsim'``.
    ov : float
        Oversampling factor, > 0.

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``image`` (a new array).

    Raises
    ------
    PyIMCOMValueError
        If ``fmt`` is unknown or ``ov`` is not positive.

    Examples
    --------
    >>> normalise_psf([64.0], "anlsim", 8).tolist(), normalise_psf([64.0], "dc2_imsim", 8).tolist()
    ([1.0], [64.0])
    """
    out = np.array(image, dtype=np.float64)
    if _check_fmt(fmt) == "anlsim":
        out /= float(_check_ov(ov)) ** 2
    return out


class InputPSF:
    """Input PSF of one observation; the file is read lazily and each SCA is cached.

    Parameters
    ----------
    path : str or os.PathLike
        PSF file of the observation (see `psf_path`).
    fmt : str
        PSF format: ``'anlsim'``, ``'L2_2506'`` or ``'dc2_imsim'``.
    ov : float
        Oversampling factor of the PSF arrays, > 0.
    sca_shape : tuple of int
        ``(ny, nx)`` size of an SCA [native pixels], for the Legendre abscissae.
        Default: ``(SCA_NSIDE, SCA_NSIDE)``.

    Raises
    ------
    PyIMCOMValueError
        If ``fmt``, ``ov`` or ``sca_shape`` is invalid.

    Examples
    --------
    >>> InputPSF("/p/psf_polyfit_3.fits", "anlsim", 8)  # reads nothing yet
    InputPSF('/p/psf_polyfit_3.fits', fmt='anlsim', ov=8, sca_shape=(4088, 4088))
    """

    def __init__(self, path, fmt: str, ov: float, sca_shape: tuple[int, int] = (SCA_NSIDE, SCA_NSIDE)):
        self.path = os.fspath(path)
        self.fmt = _check_fmt(fmt)
        self.ov = _check_ov(ov)
        if len(sca_shape) != 2 or any(int(n) < 1 for n in sca_shape):
            raise PyIMCOMValueError(f"sca_shape must be (ny, nx) with positive sizes; got {sca_shape!r}")
        self.sca_shape = (int(sca_shape[0]), int(sca_shape[1]))
        self._cache: dict[int, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"InputPSF({self.path!r}, fmt={self.fmt!r}, ov={self.ov!r}, sca_shape={self.sca_shape!r})"

    def __getstate__(self):
        return {**self.__dict__, "_cache": {}}  # do not ship cached arrays across processes

    def _data(self, sca: int) -> np.ndarray:
        sca = check_sca(sca)
        if sca not in self._cache:
            if _PSF_FILES[self.fmt][1]:
                self._cache[sca] = read_legendre_cube(self.path, sca)
            else:
                self._cache[sca] = _read_sca_hdu(self.path, sca, 2, "2-D PSF image [N, N]")
            logger.debug("read PSF %s SCA %d, shape %s", self.path, sca, self._cache[sca].shape)
        return self._cache[sca]

    def raw(self, sca: int, x: float, y: float) -> np.ndarray:
        """Return the PSF at an SCA position, without tophat or normalisation.

        Parameters
        ----------
        sca : int
            SCA number, 1..18.
        x, y : float
            0-based SCA pixel position (integer = pixel centre) [native pixels]; ignored for
            ``dc2_imsim`` (no spatial variation).

        Returns
        -------
        numpy.ndarray
            float64, shape ``(N, N)`` on the oversampled grid (a new array).

        Raises
        ------
        InputFileError, ConfigError
            As `at`.
        """
        data = self._data(sca)
        if data.ndim == 2:
            return data.copy()
        ny, nx = self.sca_shape
        return evaluate_legendre(data, x, y, nx, ny)

    def at(self, sca: int, x: float, y: float) -> np.ndarray:
        """Return the tophat-convolved, normalised PSF at an SCA position (sum ≈ 1).

        Parameters
        ----------
        sca : int
            SCA number, 1..18.
        x, y : float
            0-based SCA pixel position (integer = pixel centre) [native pixels].

        Returns
        -------
        numpy.ndarray
            float64, shape ``(N + 2*npad, N + 2*npad)`` with ``npad = tophat_pad(ov)``; the PSF
            centre is at the array centre.

        Raises
        ------
        InputFileError
            If the file or the SCA's HDU is missing or malformed.
        ConfigError
            If ``sca`` is not in 1..18.
        """
        return normalise_psf(tophat_convolve(self.raw(sca, x, y), self.ov), self.fmt, self.ov)


def write_legendre_psf_file(path, cubes: Mapping[int, np.ndarray], ov: float, obsid: int) -> str:
    """Write a Legendre PSF file (``psf_polyfit`` layout, all 18 SCAs) atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    cubes : Mapping[int, array_like]
        SCA number (1..18) -> coefficients, shape ``(ncoef, N, N)``, written as float32.  All
        cubes must have the same shape; SCAs absent from the mapping are written as zeros.
    ov : float
        Oversampling factor, stored as ``OVSAMP``.
    obsid : int
        Observation ID, stored as ``OBSID``.

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If ``cubes`` is empty, a cube is not 3-D, the shapes differ, or ``ncoef`` is not a perfect
        square.
    ConfigError
        If a key of ``cubes`` is not an SCA number 1..18.
    """
    arrays = {check_sca(sca): np.asarray(c, dtype=np.float32) for sca, c in cubes.items()}
    if not arrays:
        raise PyIMCOMValueError("write_legendre_psf_file: cubes is empty; give at least one SCA")
    shape = next(iter(arrays.values())).shape
    for sca, arr in arrays.items():
        if arr.ndim != 3 or arr.shape != shape:
            raise PyIMCOMValueError(
                f"write_legendre_psf_file: cube of SCA {sca} has shape {arr.shape}; expected 3-D {shape}"
            )
    cards = [
        ("CFORMAT", "Legendre basis"),
        ("PORDER", legendre_order(shape[0])),
        ("NCOEF", shape[0]),
        ("OVSAMP", ov),
        ("OBSID", int(obsid)),
        ("NSCA", N_SCA),
    ]
    hdus = [fits.PrimaryHDU(header=fits.Header(cards))]
    for sca in range(1, N_SCA + 1):
        hdu = fits.ImageHDU(arrays.get(sca, np.zeros(shape, dtype=np.float32)))
        hdu.header["SCA"] = (sca, "SCA number")
        hdus.append(hdu)
    return atomic_write(fits.HDUList(hdus), path)
