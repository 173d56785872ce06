"""Roman Wide Field Instrument (WFI) data used by PyIMCOM.

Every instrument constant is defined once, here, with its unit.  Other modules import these names;
nobody types 0.11 or 4088 anywhere else.

Conventions
-----------
* SCAs (sensor chip assemblies) are numbered ``sca = 1 .. 18``.  Arrays indexed by SCA in this module
  are 0-based, so SCA ``k`` is element ``k - 1``.
* Pixel coordinates on an SCA are 0-based with integer values at pixel centres, ordered ``(x, y)``;
  images are indexed ``[y, x]``.
* WFI local field angles ``(X, Y)`` are in degrees; with position angle PA = 0, +Y points north and +X
  points west (see `pyimcom.pointing`).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError

__all__ = [
    "PIXSCALE_ARCSEC",
    "PIXSCALE_DEG",
    "SCA_NSIDE",
    "SCA_NSIDE_WITH_REFPIX",
    "REFPIX_BORDER",
    "N_SCA",
    "N_READOUT_CHANNELS",
    "OBSCURATION",
    "FILTER_NAMES",
    "LAMBDA_OVER_D_NATIVE",
    "IMAGING_FILTERS",
    "SCA_FIELD_X_DEG",
    "SCA_FIELD_Y_DEG",
    "SCA_FPA_X_MM",
    "SCA_FPA_Y_MM",
    "SCA_ORIENT",
    "FPA_PIXEL_PITCH_MM",
    "FPA_RADIUS_MM",
    "SCA_DIAGONAL_ARCSEC",
    "filter_name",
    "filter_code",
    "check_sca",
    "sca_center_pix",
]

PIXSCALE_ARCSEC = 0.11  # nominal native pixel scale [arcsec / pixel]
PIXSCALE_DEG = PIXSCALE_ARCSEC / 3600.0  # nominal native pixel scale [deg / pixel]
SCA_NSIDE = 4088  # active pixels per SCA side (reference pixels excluded) [pixels]
REFPIX_BORDER = 4  # width of the reference-pixel border of a raw SCA frame [pixels]
SCA_NSIDE_WITH_REFPIX = SCA_NSIDE + 2 * REFPIX_BORDER  # raw frame side, 4096 [pixels]
N_READOUT_CHANNELS = 32  # readout channels across the raw SCA frame (x direction), 128 columns each
N_SCA = 18  # number of SCAs in the WFI focal plane
OBSCURATION = 0.31  # linear central obscuration of the telescope pupil [dimensionless]
FPA_PIXEL_PITCH_MM = 0.01  # pixel pitch in the focal plane [mm]
FPA_RADIUS_MM = 151.07129575137697  # radius of the circle circumscribing the focal plane [mm]
SCA_DIAGONAL_ARCSEC = 636.0  # diagonal of one SCA on the sky, rounded as in the run guide [arcsec]

# Filter table (reference codes).  Codes 7, 8, 9 are not imaging filters.
FILTER_NAMES = ("W146", "F184", "H158", "J129", "Y106", "Z087", "R062", "PRSM", "DARK", "GRSM", "K213")
# lambda/D of each filter in native pixels, index = filter code [native pixels]
LAMBDA_OVER_D_NATIVE = (1.155, 1.456, 1.250, 1.021, 0.834, 0.689, 0.491, 1.009, 0.000, 1.159, 1.685)
IMAGING_FILTERS = (0, 1, 2, 3, 4, 5, 6, 10)

# Approximate SCA centres in WFI local field angles, SCA 1..18 [deg]
# fmt: off
SCA_FIELD_X_DEG = np.array([-0.071, -0.071, -0.070, -0.206, -0.206, -0.206, -0.341, -0.341, -0.342,
                            0.071, 0.071, 0.070, 0.206, 0.206, 0.206, 0.341, 0.341, 0.342])
SCA_FIELD_Y_DEG = np.array([-0.037, 0.109, 0.240, -0.064, 0.083, 0.213, -0.129, 0.018, 0.147,
                            -0.037, 0.109, 0.240, -0.064, 0.083, 0.213, -0.129, 0.018, 0.147])
# Focal-plane positions of the SCA centres, SCA 1..18 [mm]
SCA_FPA_X_MM = np.array([-22.14, -22.29, -22.44, -66.42, -66.92, -67.42, -110.70, -111.48, -112.64,
                         22.14, 22.29, 22.44, 66.42, 66.92, 67.42, 110.70, 111.48, 112.64])
SCA_FPA_Y_MM = np.array([12.15, -37.03, -82.06, 20.90, -28.28, -73.06, 42.20, -6.98, -51.06,
                         12.15, -37.03, -82.06, 20.90, -28.28, -73.06, 42.20, -6.98, -51.06])
# Orientation sign of the SCA pixel axes relative to the focal-plane axes, SCA 1..18
SCA_ORIENT = np.array([-1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1])
# fmt: on

for _arr in (SCA_FIELD_X_DEG, SCA_FIELD_Y_DEG, SCA_FPA_X_MM, SCA_FPA_Y_MM, SCA_ORIENT):
    _arr.setflags(write=False)


def filter_name(code: int) -> str:
    """Return the 4-character name of a filter code.

    Parameters
    ----------
    code : int
        Filter code, 0 .. 10 (reference numbering; 7, 8, 9 are not imaging filters).

    Returns
    -------
    str
        Filter name, e.g. ``'H158'``.

    Raises
    ------
    ConfigError
        If the code is not in the filter table.

    Examples
    --------
    >>> filter_name(2)
    'H158'
    """
    if isinstance(code, bool) or not isinstance(code, (int, np.integer)) or not 0 <= code < len(FILTER_NAMES):
        raise ConfigError(f"filter code must be an integer 0..{len(FILTER_NAMES) - 1}; got {code!r}")
    return FILTER_NAMES[int(code)]


def filter_code(name: str) -> int:
    """Return the code of a filter given its name (case-insensitive).

    Parameters
    ----------
    name : str
        Filter name such as ``'H158'``; surrounding blanks are ignored.

    Returns
    -------
    int
        Filter code.

    Raises
    ------
    ConfigError
        If the name is not in the filter table.

    Examples
    --------
    >>> filter_code("h158")
    2
    """
    key = str(name).strip().upper()
    if key not in FILTER_NAMES:
        raise ConfigError(f"unknown filter name {name!r}; allowed: {', '.join(FILTER_NAMES)}")
    return FILTER_NAMES.index(key)


def check_sca(sca: int) -> int:
    """Validate an SCA number and return it as an int.

    Parameters
    ----------
    sca : int
        SCA number, 1 .. 18.

    Returns
    -------
    int
        The SCA number.

    Raises
    ------
    ConfigError
        If ``sca`` is not an integer in 1 .. 18.

    Examples
    --------
    >>> check_sca(18)
    18
    """
    if isinstance(sca, bool) or not isinstance(sca, (int, np.integer)) or not 1 <= sca <= N_SCA:
        raise ConfigError(f"SCA number must be an integer 1..{N_SCA}; got {sca!r}")
    return int(sca)


def sca_center_pix(nside: int = SCA_NSIDE) -> float:
    """Return the 0-based coordinate of the centre of an SCA of ``nside`` pixels per side.

    Parameters
    ----------
    nside : int
        Pixels per SCA side. Default: `SCA_NSIDE` (4088).

    Returns
    -------
    float
        ``(nside - 1) / 2`` [pixels], e.g. 2043.5 for Roman.

    Examples
    --------
    >>> sca_center_pix()
    2043.5
    """
    return (nside - 1) / 2.0


# One SCA side on the sky [deg]
SCA_SIDE_DEG = SCA_NSIDE * PIXSCALE_DEG
# Half-diagonal of an SCA, as used by the coarse exposure search [deg]
SCA_HALF_DIAGONAL_DEG = SCA_SIDE_DEG / math.sqrt(2.0)
