"""Observation table (``OBSFILE``): one row per exposure, row index = observation ID.

File layout (spec §2.1): HDU 1 is a binary table.  The 0-based row index is the observation ID
(``obsid``) used in every input file name; there is no obsid column.  Columns ``ra``, ``dec``
(pointing of the WFI field centre [deg]), ``pa`` (position angle of WFI +Y [deg]) and ``filter``
are required; ``date`` (MJD) and ``exptime`` [s] are optional.  ``filter`` holds either integer
filter codes or 4-character filter names (FITS format ``nA``), see `pyimcom.instrument`.
Column names are matched case-insensitively.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ..errors import ConfigError, InputFileError, PyIMCOMValueError
from ..instrument import FILTER_NAMES, filter_code, filter_name
from .fitsutil import atomic_write, open_fits

__all__ = ["ObsTable", "read_obs_table", "write_obs_table"]

logger = logging.getLogger(__name__)

_REQUIRED = ("ra", "dec", "pa", "filter")


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class ObsTable:
    """Observation table; element ``i`` of every array describes observation ``obsid = i``.

    Parameters
    ----------
    ra_deg : numpy.ndarray
        Right ascension of the WFI field centre, float64, shape ``(n_obs,)`` [deg].
    dec_deg : numpy.ndarray
        Declination of the WFI field centre, float64, shape ``(n_obs,)`` [deg].
    pa_deg : numpy.ndarray
        Position angle of WFI +Y, float64, shape ``(n_obs,)`` [deg].
    filter_code : numpy.ndarray
        Filter code (see `pyimcom.instrument.FILTER_NAMES`), int64, shape ``(n_obs,)``.
    date_mjd : numpy.ndarray
        Exposure date, float64, shape ``(n_obs,)`` [MJD]; NaN if the file has no ``date`` column.
    exptime_s : numpy.ndarray
        Exposure time, float64, shape ``(n_obs,)`` [s]; NaN if the file has no ``exptime`` column.
    path : str
        File the table was read from (``''`` if built in memory).

    Examples
    --------
    >>> import numpy as np
    >>> t = ObsTable(np.zeros(2), np.zeros(2), np.zeros(2), np.array([0, 2]),
    ...              np.full(2, np.nan), np.full(2, np.nan), "")
    >>> len(t)
    2
    """

    ra_deg: np.ndarray
    dec_deg: np.ndarray
    pa_deg: np.ndarray
    filter_code: np.ndarray
    date_mjd: np.ndarray
    exptime_s: np.ndarray
    path: str = ""

    def __post_init__(self):
        n = None
        for name in ("ra_deg", "dec_deg", "pa_deg", "filter_code", "date_mjd", "exptime_s"):
            dtype = np.int64 if name == "filter_code" else np.float64
            arr = _readonly(np.array(getattr(self, name), dtype=dtype).reshape(-1))
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise PyIMCOMValueError(
                    f"ObsTable column {name} has {arr.size} rows; expected {n} like ra_deg"
                )
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.ra_deg.size)


def _filter_codes(col: np.ndarray, path: str) -> np.ndarray:
    """Convert a ``filter`` column (integer codes or names) to int64 codes, validating each row."""
    codes = np.empty(len(col), dtype=np.int64)
    if col.dtype.kind in "SU":
        for row, value in enumerate(col):
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
            try:
                codes[row] = filter_code(text)
            except ConfigError:
                raise InputFileError(
                    f"observation table {path}: row {row} has unknown filter name {text.strip()!r}; "
                    f"allowed: {', '.join(FILTER_NAMES)}"
                ) from None
        return codes
    if col.dtype.kind not in "iuf":
        raise InputFileError(
            f"observation table {path}: column 'filter' has dtype {col.dtype}; "
            "expected integer codes or character strings (FITS format nA)"
        )
    values = np.asarray(col)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values >= len(FILTER_NAMES))
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"observation table {path}: row {row} has filter code {values[row].item()!r}; "
            f"expected an integer 0..{len(FILTER_NAMES) - 1}"
        )
    codes[:] = values.astype(np.int64)
    return codes


def read_obs_table(path: str | os.PathLike) -> ObsTable:
    """Read an observation table (HDU 1 binary table; row index = obsid).

    Parameters
    ----------
    path : str or os.PathLike
        FITS file (``OBSFILE`` of the configuration).

    Returns
    -------
    ObsTable
        The table; ``date_mjd`` / ``exptime_s`` are NaN where the columns are absent.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, HDU 1 is not a binary table, a required column
        (``ra``, ``dec``, ``pa``, ``filter``) is missing, or a filter value is unknown (the message
        names the file, row and value).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "obs.fits")
    >>> _ = write_obs_table(p, [10.0], [-40.0], [30.0], ["H158"], [61000.0], [139.8])
    >>> t = read_obs_table(p)
    >>> len(t), int(t.filter_code[0])
    (1, 2)
    """
    path = os.fspath(path)
    with open_fits(path, what="observation table") as hdul:
        if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
            raise InputFileError(
                f"observation table {path}: HDU 1 must be a binary table (one row per exposure); "
                f"file has {len(hdul)} HDU(s)"
            )
        data = hdul[1].data
        names = {name.lower(): name for name in hdul[1].columns.names}
        nrow = 0 if data is None else len(data)
        for col in _REQUIRED:
            if col not in names:
                raise InputFileError(
                    f"observation table {path}: required column {col!r} is missing; "
                    f"columns present: {list(names.values())}"
                )

        def column(name: str) -> np.ndarray:
            if name not in names:
                return np.full(nrow, np.nan)
            return np.array(data[names[name]]) if nrow else np.zeros(0)

        table = ObsTable(
            ra_deg=column("ra"),
            dec_deg=column("dec"),
            pa_deg=column("pa"),
            filter_code=_filter_codes(np.array(data[names["filter"]]), path) if nrow else np.zeros(0),
            date_mjd=column("date"),
            exptime_s=column("exptime"),
            path=path,
        )
    logger.info("read observation table %s: %d exposures", path, len(table))
    return table


def write_obs_table(
    path: str | os.PathLike,
    ra_deg,
    dec_deg,
    pa_deg,
    filter_names,
    date_mjd=None,
    exptime_s=None,
) -> str:
    """Write an observation table in the OpenUniverse "obseq" layout, atomically.

    Columns, in order: ``date D, exptime D, ra D, dec D, pa D, filter 4A`` in HDU 1.

    Parameters
    ----------
    path : str or os.PathLike
        Destination FITS file.
    ra_deg, dec_deg, pa_deg : array_like
        Pointing RA, Dec and position angle, float, shape ``(n_obs,)`` [deg].
    filter_names : sequence of str or int
        Filter of each exposure, shape ``(n_obs,)``: names such as ``'H158'`` or integer codes.
    date_mjd : array_like or None
        Exposure dates, shape ``(n_obs,)`` [MJD]. Default: None (NaN written).
    exptime_s : array_like or None
        Exposure times, shape ``(n_obs,)`` [s]. Default: None (NaN written).

    Returns
    -------
    str
        The destination path.

    Raises
    ------
    PyIMCOMValueError
        If the columns have different lengths.
    ConfigError
        If a filter name or code is unknown.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "obs.fits")
    >>> write_obs_table(p, [0.0], [0.0], [0.0], ["W146"]) == p
    True
    """
    ra = np.asarray(ra_deg, dtype=np.float64).reshape(-1)
    n = ra.size
    cols = {"ra": ra, "dec": dec_deg, "pa": pa_deg, "date": date_mjd, "exptime": exptime_s}
    for name, value in cols.items():
        arr = np.full(n, np.nan) if value is None else np.asarray(value, dtype=np.float64).reshape(-1)
        if arr.size != n:
            raise PyIMCOMValueError(f"write_obs_table: column {name} has {arr.size} rows; expected {n}")
        cols[name] = arr
    names = [
        filter_name(f) if isinstance(f, (int, np.integer)) else FILTER_NAMES[filter_code(f)]
        for f in filter_names
    ]
    if len(names) != n:
        raise PyIMCOMValueError(f"write_obs_table: filter_names has {len(names)} rows; expected {n}")
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name=c, format="D", array=cols[c]) for c in ("date", "exptime", "ra", "dec", "pa")]
        + [fits.Column(name="filter", format="4A", array=np.array(names, dtype="S4"))]
    )
    return atomic_write(fits.HDUList([fits.PrimaryHDU(), table]), path)
