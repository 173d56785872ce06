"""WFI local field angles of a pointing (the coarse geometry of core §3.7).

A pointing is ``(ra_deg, dec_deg, pa_deg)``: the sky position of the WFI field centre and the position
angle of the WFI +Y axis.  Sky positions are mapped to local field angles ``(X, Y)`` [deg] by rotating
the pointing onto the pole and projecting orthographically:

* ``x1 = cos d cos(a - a0)``, ``y1 = cos d sin(a - a0)``, ``z1 = sin d``;
* ``x2 = sin d0 x1 - cos d0 z1``, ``y2 = y1``, ``z2 = cos d0 x1 + sin d0 z1``;
* ``X = -sin(PA) x2 - cos(PA) y2``, ``Y = -cos(PA) x2 + sin(PA) y2`` (radians converted to degrees).

With PA = 0, +Y points north and +X west.  Points with ``z2 <= 0`` lie on the far hemisphere.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sky_to_field", "field_to_sky"]


def sky_to_field(ra_deg, dec_deg, ra0_deg: float, dec0_deg: float, pa_deg: float):
    """Map sky positions to WFI local field angles of a pointing.

    Parameters
    ----------
    ra_deg, dec_deg : float or numpy.ndarray
        Sky positions [deg].
    ra0_deg, dec0_deg : float
        Pointing (WFI field centre) [deg].
    pa_deg : float
        Position angle of the WFI +Y axis, east of north [deg].

    Returns
    -------
    X_deg, Y_deg : numpy.ndarray
        Field angles [deg] (orthographic projection).
    front : numpy.ndarray of bool
        False where the position lies on the far hemisphere (``z2 <= 0``).

    Examples
    --------
    >>> X, Y, ok = sky_to_field(10.0, 0.1, 10.0, 0.0, 0.0)
    >>> round(float(X), 9), round(float(Y), 6), bool(ok)
    (0.0, 0.1, True)
    """
    a = np.radians(np.asarray(ra_deg, dtype=float) - ra0_deg)
    d = np.radians(np.asarray(dec_deg, dtype=float))
    d0 = np.radians(dec0_deg)
    pa = np.radians(pa_deg)
    x1 = np.cos(d) * np.cos(a)
    y1 = np.cos(d) * np.sin(a)
    z1 = np.sin(d)
    x2 = np.sin(d0) * x1 - np.cos(d0) * z1
    y2 = y1
    z2 = np.cos(d0) * x1 + np.sin(d0) * z1
    X = np.degrees(-np.sin(pa) * x2 - np.cos(pa) * y2)
    Y = np.degrees(-np.cos(pa) * x2 + np.sin(pa) * y2)
    return X, Y, z2 > 0


def field_to_sky(X_deg, Y_deg, ra0_deg: float, dec0_deg: float, pa_deg: float):
    """Inverse of `sky_to_field` on the front hemisphere.

    Parameters
    ----------
    X_deg, Y_deg : float or numpy.ndarray
        Field angles [deg]; ``hypot(X, Y)`` must be below 90 deg.
    ra0_deg, dec0_deg, pa_deg : float
        Pointing and position angle [deg].

    Returns
    -------
    ra_deg, dec_deg : numpy.ndarray
        Sky positions [deg], RA in ``[0, 360)``.

    Examples
    --------
    >>> ra, dec = field_to_sky(0.0, 0.1, 10.0, 0.0, 0.0)
    >>> round(float(ra), 9), round(float(dec), 6)
    (10.0, 0.1)
    """
    pa = np.radians(pa_deg)
    X = np.radians(np.asarray(X_deg, dtype=float))
    Y = np.radians(np.asarray(Y_deg, dtype=float))
    # [X, Y] = R [x2, y2] with R = [[-sin, -cos], [-cos, sin]], which is its own inverse.
    x2 = -np.sin(pa) * X - np.cos(pa) * Y
    y2 = -np.cos(pa) * X + np.sin(pa) * Y
    z2 = np.sqrt(np.clip(1.0 - x2 * x2 - y2 * y2, 0.0, None))
    d0 = np.radians(dec0_deg)
    x1 = np.sin(d0) * x2 + np.cos(d0) * z2
    z1 = -np.cos(d0) * x2 + np.sin(d0) * z2
    ra = (ra0_deg + np.degrees(np.arctan2(y2, x1))) % 360.0
    dec = np.degrees(np.arcsin(np.clip(z1, -1.0, 1.0)))
    return ra, dec
