"""Log-scale 16-bit encoding of the ancillary maps of a block output file (core spec §5.1).

Each map HDU (``FIDELITY``, ``SIGMA``, ``KAPPA``, ``INWTSUM``, ``EFFCOVER``) stores a positive
quantity ``x`` as the 16-bit integer

    ``q = clip(floor(c * log10(max(x, 1e-32)) + 0.5), q_min, q_max)``

where ``c`` is the map's coefficient and ``[q_min, q_max]`` the range of its dtype.  The header
keyword ``UNIT`` gives the size of one stored unit in bels, ``b = 1/c``, written as a signed number,
an optional SI prefix (``m`` = 1e-3, ``u`` = 1e-6, ``n`` = 1e-9) and ``B`` (e.g. ``'-0.2mB'``); its
comment is the formula.  Decoding is ``x = 10**(b * q)``, except that the *saturation code* at the
tiny-``x`` end (``q_max`` when ``b < 0``, ``q_min`` when ``b > 0``) decodes to exactly 0.

Files written by old versions of the reference carried a positive ``UNIT`` together with a comment
starting with ``-``; the readers here flip the sign of ``b`` in that case (with a warning), as the
reference's ``HDU_to_bels`` does.

Notes
-----
Consequences of the encoding worth knowing (they are the reference's behaviour): a fidelity map
cannot represent ``U/C > 1`` (it clips to ``q = 0``, i.e. ``U/C = 1``), and an ``EFFCOVER`` value of
exactly 1 is stored as ``q = 0``, the saturation code, so it decodes to 0.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ..errors import PyIMCOMValueError, PyIMCOMWarning

__all__ = [
    "LogMapSpec",
    "MAP_SPECS",
    "MAP_EXTNAMES",
    "LOG_FLOOR",
    "map_spec",
    "encode_log_map",
    "decode_log_map",
    "unit_to_bels",
    "hdu_to_bels",
]

LOG_FLOOR = 1e-32  # smallest x taken into the logarithm when encoding [same unit as x]


@dataclass(frozen=True)
class LogMapSpec:
    """Encoding of one ancillary map.

    Parameters
    ----------
    extname : str
        FITS ``EXTNAME`` of the map, e.g. ``'FIDELITY'``.
    letter : str
        One-letter ``OUTMAPS`` code (``U``, ``S``, ``K``, ``T``, ``N``).
    coef : float
        Coefficient ``c`` of the encoding (stored units per decade of ``x``).
    dtype : numpy.dtype
        Storage dtype (``uint16`` or ``int16``).
    unit : str
        Value of the ``UNIT`` header keyword (bels per stored unit, ``= 1/coef``).
    comment : str
        Comment of the ``UNIT`` keyword (the encoding formula).
    """

    extname: str
    letter: str
    coef: float
    dtype: np.dtype
    unit: str
    comment: str

    @property
    def q_range(self) -> tuple[int, int]:
        """Smallest and largest storable code of the dtype."""
        info = np.iinfo(self.dtype)
        return int(info.min), int(info.max)


#: The ancillary maps, in the order in which their HDUs appear in a block output file.
MAP_SPECS: dict[str, LogMapSpec] = {
    spec.extname: spec
    for spec in (
        LogMapSpec("FIDELITY", "U", -5000.0, np.dtype(np.uint16), "-0.2mB", "-5000*log10(U/C)"),
        LogMapSpec("SIGMA", "S", -10000.0, np.dtype(np.int16), "-0.1mB", "-10000*log10(Sigma)"),
        LogMapSpec("KAPPA", "K", -5000.0, np.dtype(np.uint16), "-0.2mB", "-5000*log10(kappa)"),
        LogMapSpec("INWTSUM", "T", 200000.0, np.dtype(np.int16), "5uB", "200000*log10(Tsum)"),
        LogMapSpec("EFFCOVER", "N", 50000.0, np.dtype(np.uint16), "20uB", "50000*log10(Neff)"),
    )
}

MAP_EXTNAMES = tuple(MAP_SPECS)  # HDU order of the maps in a block output file

_SI_PREFIX = {"": "1", "m": "1e-3", "u": "1e-6", "n": "1e-9"}  # exact decimal factors
_UNIT_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([mun]?)B\s*$")


def map_spec(name: str) -> LogMapSpec:
    """Return the encoding of a map given its ``EXTNAME`` or its ``OUTMAPS`` letter.

    Parameters
    ----------
    name : str
        ``'FIDELITY'``, ``'SIGMA'``, ``'KAPPA'``, ``'INWTSUM'``, ``'EFFCOVER'`` or one of the letters
        ``U``, ``S``, ``K``, ``T``, ``N`` (case-insensitive).

    Returns
    -------
    LogMapSpec
        The map's encoding.

    Raises
    ------
    PyIMCOMValueError
        If ``name`` is none of these.

    Examples
    --------
    >>> map_spec("T").extname, map_spec("sigma").unit
    ('INWTSUM', '-0.1mB')
    """
    key = str(name).strip().upper()
    if key in MAP_SPECS:
        return MAP_SPECS[key]
    for spec in MAP_SPECS.values():
        if spec.letter == key:
            return spec
    allowed = ", ".join(f"{s.extname} ({s.letter})" for s in MAP_SPECS.values())
    raise PyIMCOMValueError(f"unknown output map {name!r}; allowed maps (letters): {allowed}")


def encode_log_map(x, name: str) -> np.ndarray:
    """Encode a positive quantity as the 16-bit log-scale integers of a map HDU.

    Parameters
    ----------
    x : array_like of float
        Values to encode, any shape [unit of the map's quantity, e.g. U/C is dimensionless].
        Values below 1e-32 (including zero, negative values and NaN) are stored as the saturation
        code and decode to 0; values beyond the other end of the range are clipped.
    name : str
        Map ``EXTNAME`` or ``OUTMAPS`` letter (see `map_spec`).

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``; dtype of the map (``uint16`` or ``int16``).

    Raises
    ------
    PyIMCOMValueError
        If ``name`` is not a known map.

    Examples
    --------
    >>> encode_log_map([1.0, 0.1, 2.0, 0.0], "FIDELITY").tolist()
    [0, 5000, 0, 65535]
    """
    spec = map_spec(name)
    x64 = np.fmax(np.asarray(x, dtype=np.float64), LOG_FLOOR)  # fmax maps NaN to the floor
    q = np.floor(spec.coef * np.log10(x64) + 0.5)
    q_min, q_max = spec.q_range
    return np.clip(q, q_min, q_max).astype(spec.dtype)


def unit_to_bels(unit: str) -> float:
    """Convert a ``UNIT`` string of a map HDU to bels per stored unit.

    Parameters
    ----------
    unit : str
        A signed number, an optional SI prefix (``m``, ``u``, ``n``) and ``B``, e.g. ``'-0.2mB'``.
        Surrounding blanks are ignored.

    Returns
    -------
    float
        Bels per stored unit (non-zero).

    Raises
    ------
    PyIMCOMValueError
        If the string cannot be parsed or gives zero (the message quotes the string).  The
        reference returns NaN here; an explicit error is clearer.

    Examples
    --------
    >>> unit_to_bels("-0.2mB"), unit_to_bels("5uB")
    (-0.0002, 5e-06)
    """
    match = _UNIT_RE.match(unit) if isinstance(unit, str) else None
    if match is None:
        raise PyIMCOMValueError(
            f"cannot parse map UNIT {unit!r}: expected a number, an optional SI prefix m/u/n and 'B' "
            f"(bels per stored unit), e.g. '-0.2mB' or '5uB'"
        )
    # Multiply in decimal so that e.g. '5uB' gives the correctly rounded float 5e-06.
    bels = float(Decimal(match.group(1)) * Decimal(_SI_PREFIX[match.group(2)]))
    if bels == 0.0 or not np.isfinite(bels):
        raise PyIMCOMValueError(f"map UNIT {unit!r} gives {bels} bels per stored unit; it must be non-zero")
    return bels


def _signed_bels(unit: str, comment: str) -> float:
    """Bels per stored unit with the legacy sign fix (positive UNIT but a comment starting with '-')."""
    bels = unit_to_bels(unit)
    if bels > 0 and str(comment or "").lstrip().startswith("-"):
        warnings.warn(
            f"map UNIT {unit!r} is positive but its comment {comment!r} starts with '-' (legacy file); "
            "using the negative value",
            PyIMCOMWarning,
            stacklevel=3,
        )
        bels = -bels
    return bels


def hdu_to_bels(hdu) -> float:
    """Return the bels per stored unit of a map HDU from its ``UNIT`` keyword.

    Parameters
    ----------
    hdu : astropy.io.fits ImageHDU or PrimaryHDU
        A map HDU with a ``UNIT`` keyword.

    Returns
    -------
    float
        Bels per stored unit; negative when the UNIT is positive but its comment starts with ``-``
        (legacy files, a `PyIMCOMWarning` is issued).

    Raises
    ------
    PyIMCOMValueError
        If the header has no ``UNIT`` keyword (the message names the HDU) or it cannot be parsed.

    Examples
    --------
    >>> from astropy.io import fits
    >>> h = fits.ImageHDU(name="SIGMA")
    >>> h.header["UNIT"] = ("-0.1mB", "-10000*log10(Sigma)")
    >>> hdu_to_bels(h)
    -0.0001
    """
    header = hdu.header
    if "UNIT" not in header:
        raise PyIMCOMValueError(f"map HDU {hdu.name!r} has no UNIT keyword, so it cannot be decoded")
    return _signed_bels(header["UNIT"], header.comments["UNIT"])


def decode_log_map(q, unit: str, comment: str = "", dtype=None) -> np.ndarray:
    """Decode the 16-bit log-scale integers of a map HDU to linear values.

    Parameters
    ----------
    q : array_like of int
        Stored codes, any shape.
    unit : str
        The HDU's ``UNIT`` value (see `unit_to_bels`).
    comment : str
        The comment of the ``UNIT`` keyword; a positive ``unit`` with a comment starting with ``-``
        is a legacy file and the sign of the unit is flipped. Default: ``""``.
    dtype : numpy dtype, optional
        Storage dtype whose range defines the saturation code. Default: None (the dtype of ``q``,
        which must then be an integer dtype).

    Returns
    -------
    numpy.ndarray
        float64, same shape as ``q``: ``10**(b * q)``, and exactly 0 where ``q`` is the saturation
        code (``q_max`` of the dtype when ``b < 0``, ``q_min`` when ``b > 0``).

    Raises
    ------
    PyIMCOMValueError
        If ``unit`` cannot be parsed, or ``dtype`` is not given and ``q`` is not an integer array.

    Examples
    --------
    >>> import numpy as np
    >>> decode_log_map(np.array([0, 5000, 65535], dtype=np.uint16), "-0.2mB").tolist()
    [1.0, 0.1, 0.0]
    """
    q = np.asarray(q)
    storage = np.dtype(dtype) if dtype is not None else q.dtype
    if not np.issubdtype(storage, np.integer):
        raise PyIMCOMValueError(
            f"decode_log_map needs integer codes to locate the saturation code; got dtype {q.dtype} "
            "(pass dtype=np.uint16 or np.int16)"
        )
    bels = _signed_bels(unit, comment)
    info = np.iinfo(storage)
    saturated = q == (info.max if bels < 0 else info.min)
    return np.where(saturated, 0.0, np.power(10.0, bels * q.astype(np.float64)))
