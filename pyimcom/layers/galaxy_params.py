"""Per-object galaxy parameters of the ``gsext<n>`` / ``gsextchrom<n>`` layers (report §1.3.12, §1.4.2).

Every HEALPix pixel at resolution ``n`` (``nside = 2**n``, ``lenpix = 12 * 4**n`` pixels) carries one
potential galaxy.  Its random parameters come from one long stream of uniform doubles, seen as a
table ``R[row, p]`` (``row = 0, 1, 2``, ``p = 0 .. lenpix - 1``) where ``R[row, p]`` is the
``(row * lenpix + p)``-th double of ``numpy.random.Generator(numpy.random.PCG64(seed)).random()``
(each double is ``(w >> 11) * 2**-53`` of one 64-bit output ``w``).  `uniform_rows` reads any entries
of that table in O(number of entries) by advancing the PCG64 state over the gaps, so the same sky
object gets the same parameters in every SCA, exposure and mosaic.  The index ``p`` is the
**NESTED** HEALPix index (the truth catalogue must use it too: report §3.5 quirk 1, fixed here).

Model ``"exp1"`` (the only one of the reference): ``u0, u1, u2 = R[0, p], R[1, p], R[2, p]``;
half-light radius ``0.5 / 4**u0`` arcsec (log-uniform on (0.125, 0.5]), ellipticity modulus
``|g| = 0.5 sqrt(u1)``, position angle ``2 pi u2`` (``g1 = |g| cos 2 pi u2``, ``g2 = |g| sin 2 pi u2``:
uniform over the disc ``|g| < 0.5``), Sersic index 1.  The recipe options ``n=``, ``hlr=`` and
``shape=`` replace the corresponding values for every object (``n=`` is recorded in the parameter
table, unlike the reference's catalogue).

Sky frame: a local orthonormal frame ``(X, Y)`` with **X = West, Y = North**, in arcsec.  A round
unit-flux profile is mapped by ``J_s R(theta) J_g`` (`sky_shape_matrix`): the intrinsic shape
``J_g``, then the optional rotation ``rot=`` (counter-clockwise on the sky, West towards North), then
the optional area-preserving "logarithmic" shear ``shear=`` ``J_s = expm([[s1, s2], [s2, -s1]])``.
With X = West, positive ``g2`` stretches along the X = Y diagonal, i.e. NW-SE (report §1.3.12
documentation quirk: trust the maths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, PyIMCOMValueError

__all__ = [
    "GALAXY_DTYPE",
    "DEFAULT_SEED",
    "SERSIC_N_RANGE",
    "GsextOptions",
    "uniform_rows",
    "galaxy_params",
    "shear_matrix",
    "sky_shape_matrix",
    "reduced_shear",
    "final_ellipticity",
]

DEFAULT_SEED = 4096  # default seed of the gsext parameter stream (reference)
SERSIC_N_RANGE = (0.3, 6.2)  # Sersic indices GalSim can draw (galsim.Sersic limits)
_HLR_MAX_ARCSEC = 0.5  # exp1: hlr = 0.5 / 4**u0 [arcsec]
_GMAX = 0.5  # exp1: |g| = 0.5 sqrt(u1)
_MAX_HEALPIX_N = 29

GALAXY_DTYPE = np.dtype(
    [
        ("ipix_nest", np.int64),
        ("hlr_arcsec", np.float64),
        ("g1", np.float64),
        ("g2", np.float64),
        ("sersic_n", np.float64),
    ]
)
"""Intrinsic parameters of one galaxy: NESTED index, half-light radius [arcsec], intrinsic
reduced-shear ellipticity (g1, g2) in the sky frame (X = West, Y = North), Sersic index (before
``rot=`` and ``shear=``, which `sky_shape_matrix` applies)."""


def _opt_error(recipe_text: str, key: str, value: str, what: str) -> ConfigError:
    return ConfigError(f"EXTRAINPUT entry {recipe_text!r}: option {key}={value!r}: {what}")


def _opt_float(recipe_text: str, key: str, value: str) -> float:
    try:
        out = float(value)
    except ValueError:
        out = math.nan
    if not math.isfinite(out):
        raise _opt_error(recipe_text, key, value, "must be a finite number")
    return out


def _opt_pair(recipe_text: str, key: str, value: str) -> tuple[float, float]:
    parts = value.split(":")
    if len(parts) != 2:
        raise _opt_error(recipe_text, key, value, "must be two numbers g1:g2")
    return _opt_float(recipe_text, key, parts[0]), _opt_float(recipe_text, key, parts[1])


@dataclass(frozen=True)
class GsextOptions:
    """Options of a ``gsext<n>[,options]`` / ``gsextchrom<n>,<psfdir>[,options]`` recipe.

    Attributes
    ----------
    seed : int
        Seed of the parameter stream (``seed=``), >= 0. Default: 4096.
    rot_deg : float or None
        Rotation applied after the intrinsic shape, counter-clockwise on the sky (West towards North)
        [deg] (``rot=``). Default: None (no rotation).
    shear : tuple of float or None
        ``(s1, s2)`` of the area-preserving shear ``expm([[s1, s2], [s2, -s1]])`` (``shear=s1:s2``);
        the equivalent reduced shear is ``tanh|s| s/|s|``. Default: None.
    sersic_n : float
        Sersic index (``n=``), in `SERSIC_N_RANGE`. Default: 1 (exponential).
    hlr_arcsec : float or None
        Half-light radius for all objects [arcsec] (``hlr=``), > 0. Default: None (random).
    shape : tuple of float or None
        Intrinsic ellipticity ``(g1, g2)`` for all objects (``shape=g1:g2``), ``|g| < 1``.
        Default: None (random).

    Examples
    --------
    >>> GsextOptions.from_recipe((("n", "0.5"), ("shape", "0.2:0.1")), "gsext14,n=0.5,shape=0.2:0.1")
    GsextOptions(seed=4096, rot_deg=None, shear=None, sersic_n=0.5, hlr_arcsec=None, shape=(0.2, 0.1))
    """

    seed: int = DEFAULT_SEED
    rot_deg: float | None = None
    shear: tuple[float, float] | None = None
    sersic_n: float = 1.0
    hlr_arcsec: float | None = None
    shape: tuple[float, float] | None = None

    @classmethod
    def from_recipe(cls, options, recipe_text: str) -> GsextOptions:
        """Parse the option tuple of a parsed `pyimcom.layers.recipes.Recipe`.

        Parameters
        ----------
        options : iterable of (str, str)
            ``(key, value)`` pairs (keys lower case): ``seed``, ``rot``, ``shear``, ``n``, ``hlr``,
            ``shape``.
        recipe_text : str
            The recipe string, for error messages.

        Returns
        -------
        GsextOptions

        Raises
        ------
        ConfigError
            If a key is unknown or repeated, or a value is malformed or out of range; the message
            names the recipe and the option.
        """
        kwargs: dict = {}
        names = {"seed": "seed", "rot": "rot_deg", "shear": "shear", "n": "sersic_n", "hlr": "hlr_arcsec",
                 "shape": "shape"}  # fmt: skip
        for key, value in options:
            key, value = str(key).strip().lower(), str(value).strip()
            if key not in names:
                raise _opt_error(recipe_text, key, value, f"unknown option; allowed: {', '.join(names)}")
            if names[key] in kwargs:
                raise _opt_error(recipe_text, key, value, "option given more than once")
            if key == "seed":
                if not value.isdigit():
                    raise _opt_error(recipe_text, key, value, "must be a non-negative integer")
                kwargs["seed"] = int(value)
            elif key == "rot":
                kwargs["rot_deg"] = _opt_float(recipe_text, key, value)
            elif key == "shear":
                kwargs["shear"] = _opt_pair(recipe_text, key, value)
            elif key == "n":
                n = _opt_float(recipe_text, key, value)
                if not SERSIC_N_RANGE[0] <= n <= SERSIC_N_RANGE[1]:
                    raise _opt_error(recipe_text, key, value, f"Sersic index must be in {SERSIC_N_RANGE}")
                kwargs["sersic_n"] = n
            elif key == "hlr":
                hlr = _opt_float(recipe_text, key, value)
                if hlr <= 0:
                    raise _opt_error(recipe_text, key, value, "half-light radius must be > 0 [arcsec]")
                kwargs["hlr_arcsec"] = hlr
            else:  # shape
                g1, g2 = _opt_pair(recipe_text, key, value)
                if g1 * g1 + g2 * g2 >= 1.0:
                    raise _opt_error(recipe_text, key, value, "ellipticity must satisfy g1**2 + g2**2 < 1")
                kwargs["shape"] = (g1, g2)
        return cls(**kwargs)


def _check_lenpix(lenpix) -> int:
    if isinstance(lenpix, bool) or not isinstance(lenpix, (int, np.integer)) or lenpix < 1:
        raise PyIMCOMValueError(f"lenpix must be a positive integer; got {lenpix!r}")
    return int(lenpix)


def uniform_rows(seed: int, lenpix: int, ipix, nrows: int = 3) -> np.ndarray:
    """Random-access read of the parameter stream: ``R[row, p]`` for the requested ``p``.

    ``R[row, p]`` is the ``(row * lenpix + p)``-th double drawn by
    ``numpy.random.Generator(numpy.random.PCG64(seed)).random()``, i.e. ``(w >> 11) * 2**-53`` of the
    ``(row * lenpix + p)``-th 64-bit output ``w`` of the bit generator.  The requested entries are
    sorted, the PCG64 state is `advance`-d over the gaps and contiguous runs are drawn in one call,
    so the cost is O(``nrows * len(ipix)``) whatever ``lenpix`` (``12 * 4**14 ≈ 3.2e9`` and beyond).

    Parameters
    ----------
    seed : int
        Seed of ``PCG64`` (SeedSequence initialisation), >= 0.
    lenpix : int
        Row length of the table (``12 * 4**n`` for HEALPix resolution ``n``), >= 1.
    ipix : array_like of int, shape (m,)
        Column indices, ``0 <= ipix < lenpix``; any order, duplicates allowed.
    nrows : int, optional
        Number of rows to read, >= 1. Default: 3.

    Returns
    -------
    ndarray, shape (nrows, m), float64
        ``out[row, k] = R[row, ipix[k]]``, in [0, 1).

    Raises
    ------
    PyIMCOMValueError
        If an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> direct = np.random.Generator(np.random.PCG64(7)).random(3 * 10).reshape(3, 10)
    >>> bool(np.array_equal(uniform_rows(7, 10, [9, 2, 2]), direct[:, [9, 2, 2]]))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PyIMCOMValueError(f"seed must be a non-negative integer; got {seed!r}")
    lenpix = _check_lenpix(lenpix)
    if isinstance(nrows, bool) or not isinstance(nrows, (int, np.integer)) or nrows < 1:
        raise PyIMCOMValueError(f"nrows must be a positive integer; got {nrows!r}")
    cols = np.atleast_1d(np.asarray(ipix))
    if cols.ndim != 1 or (cols.size and not np.issubdtype(cols.dtype, np.integer)):
        raise PyIMCOMValueError(f"ipix must be a 1-D array of integers; got shape {cols.shape}, {cols.dtype}")
    cols = cols.astype(np.int64)
    if cols.size and (cols.min() < 0 or cols.max() >= lenpix):
        raise PyIMCOMValueError(f"ipix must lie in 0 .. lenpix - 1 = {lenpix - 1}")
    out = np.empty((int(nrows), cols.size), dtype=np.float64)
    if cols.size == 0:
        return out
    uniq, inverse = np.unique(cols, return_inverse=True)
    # run starts/lengths of consecutive indices within one row (same in every row)
    brk = np.flatnonzero(np.diff(uniq) != 1) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [uniq.size]))
    bitgen = np.random.PCG64(int(seed))
    pos = 0  # number of 64-bit outputs consumed so far
    vals = np.empty(uniq.size, dtype=np.uint64)
    for row in range(int(nrows)):
        base = row * lenpix
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            first = base + int(uniq[a])
            if first > pos:
                bitgen.advance(first - pos)
            vals[a:b] = bitgen.random_raw(b - a)
            pos = first + (b - a)
        out[row] = ((vals >> np.uint64(11)).astype(np.float64) * 2.0**-53)[inverse]
    return out


def galaxy_params(resolution_n: int, ipix_nest, opts: GsextOptions) -> np.ndarray:
    """Intrinsic parameters of the galaxies at the given NESTED HEALPix pixels ("exp1" model).

    ``u0, u1, u2 = uniform_rows(opts.seed, 12 * 4**n, ipix_nest)``; ``hlr = 0.5 / 4**u0`` arcsec,
    ``|g| = 0.5 sqrt(u1)``, ``g1 + i g2 = |g| exp(2 pi i u2)``, Sersic index ``opts.sersic_n``;
    ``opts.hlr_arcsec`` and ``opts.shape`` replace the random values when set.  Rotation and shear
    are not applied (see `sky_shape_matrix`, `final_ellipticity`).

    Parameters
    ----------
    resolution_n : int
        HEALPix resolution ``n`` (``nside = 2**n``), 0 .. 29.
    ipix_nest : array_like of int, shape (m,)
        NESTED indices, ``0 <= ipix < 12 * 4**n``.
    opts : GsextOptions
        Recipe options.

    Returns
    -------
    ndarray, shape (m,), dtype `GALAXY_DTYPE`
        In the order of ``ipix_nest``.

    Raises
    ------
    PyIMCOMValueError
        If ``resolution_n`` or an index is out of range.

    Examples
    --------
    >>> p = galaxy_params(14, [1511867059], GsextOptions())
    >>> bool(0.125 < p["hlr_arcsec"][0] <= 0.5 and p["g1"][0] ** 2 + p["g2"][0] ** 2 < 0.25)
    True
    """
    if (
        isinstance(resolution_n, bool)
        or not isinstance(resolution_n, (int, np.integer))
        or not 0 <= resolution_n <= _MAX_HEALPIX_N
    ):
        raise PyIMCOMValueError(
            f"resolution_n must be an integer in 0..{_MAX_HEALPIX_N}; got {resolution_n!r}"
        )
    ipix = np.atleast_1d(np.asarray(ipix_nest))
    u = uniform_rows(opts.seed, 12 * 4 ** int(resolution_n), ipix, 3)
    out = np.empty(ipix.size, dtype=GALAXY_DTYPE)
    out["ipix_nest"] = ipix
    out["hlr_arcsec"] = _HLR_MAX_ARCSEC / 4.0 ** u[0] if opts.hlr_arcsec is None else opts.hlr_arcsec
    if opts.shape is None:
        gmag = _GMAX * np.sqrt(u[1])
        out["g1"] = gmag * np.cos(2.0 * np.pi * u[2])
        out["g2"] = gmag * np.sin(2.0 * np.pi * u[2])
    else:
        out["g1"], out["g2"] = opts.shape
    out["sersic_n"] = opts.sersic_n
    return out


def shear_matrix(s1, s2) -> np.ndarray:
    """``expm([[s1, s2], [s2, -s1]])`` in closed form, shape ``(..., 2, 2)``.

    With ``A = [[s1, s2], [s2, -s1]]``, ``A @ A = s**2 I`` (``s = hypot(s1, s2)``), so
    ``expm(A) = cosh(s) I + sinh(s)/s A`` (determinant 1).

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.allclose(shear_matrix(0.3, 0.0), np.diag([np.exp(0.3), np.exp(-0.3)])))
    True
    """
    s1, s2 = np.broadcast_arrays(np.asarray(s1, dtype=np.float64), np.asarray(s2, dtype=np.float64))
    s = np.hypot(s1, s2)
    c = np.cosh(s)
    k = np.where(s > 0, np.sinh(s) / np.where(s > 0, s, 1.0), 1.0)
    return np.stack([np.stack([c + k * s1, k * s2], -1), np.stack([k * s2, c - k * s1], -1)], -2)


def sky_shape_matrix(g1, g2, opts: GsextOptions) -> np.ndarray:
    """Linear map of the round profile in the sky frame (X = West, Y = North): ``J_s R(theta) J_g``.

    ``J_g = [[1 + g1, g2], [g2, 1 - g1]] / sqrt(1 - g1**2 - g2**2)`` (intrinsic shape, axis ratio
    ``(1 - |g|)/(1 + |g|)``, determinant 1), ``R(theta) = [[cos, -sin], [sin, cos]]`` with
    ``theta = opts.rot_deg`` (counter-clockwise, West towards North; identity if None) and
    ``J_s = shear_matrix(*opts.shear)`` (identity if None).  A profile ``f`` becomes
    ``f(M^-1 X)``: its second-moment matrix ``C`` becomes ``M C M^T``.

    Parameters
    ----------
    g1, g2 : array_like, broadcastable
        Intrinsic ellipticity, ``g1**2 + g2**2 < 1``.
    opts : GsextOptions
        Recipe options (``rot_deg``, ``shear``).

    Returns
    -------
    ndarray, shape (..., 2, 2), float64

    Examples
    --------
    >>> import numpy as np
    >>> m = sky_shape_matrix(0.2, 0.0, GsextOptions())
    >>> bool(np.allclose(m, np.diag([1.2, 0.8]) / np.sqrt(0.96)))
    True
    """
    g1, g2 = np.broadcast_arrays(np.asarray(g1, dtype=np.float64), np.asarray(g2, dtype=np.float64))
    norm = 1.0 / np.sqrt(1.0 - g1 * g1 - g2 * g2)
    m = np.stack([np.stack([(1 + g1) * norm, g2 * norm], -1), np.stack([g2 * norm, (1 - g1) * norm], -1)], -2)
    if opts.rot_deg is not None:
        c, s = math.cos(math.radians(opts.rot_deg)), math.sin(math.radians(opts.rot_deg))
        m = np.array([[c, -s], [s, c]]) @ m
    if opts.shear is not None:
        m = shear_matrix(*opts.shear) @ m
    return m


def reduced_shear(matrix) -> tuple[np.ndarray, np.ndarray]:
    """Reduced-shear ellipticity ``(g1, g2)`` of a round profile mapped by ``matrix`` (shape (..., 2, 2)).

    With ``Q = M M^T``: ``g = (Q00 - Q11 + 2i Q01) / (Q00 + Q11 + 2 sqrt(det Q))`` (the ``g`` of the
    symmetric square root of ``Q``); invariant under rotations applied *before* ``M``.

    Examples
    --------
    >>> import numpy as np
    >>> g1, g2 = reduced_shear(sky_shape_matrix(0.2, 0.1, GsextOptions()))
    >>> round(float(g1), 12), round(float(g2), 12)
    (0.2, 0.1)
    """
    m = np.asarray(matrix, dtype=np.float64)
    q = m @ np.swapaxes(m, -1, -2)
    det = q[..., 0, 0] * q[..., 1, 1] - q[..., 0, 1] ** 2
    den = q[..., 0, 0] + q[..., 1, 1] + 2.0 * np.sqrt(np.maximum(det, 0.0))
    return (q[..., 0, 0] - q[..., 1, 1]) / den, 2.0 * q[..., 0, 1] / den


def final_ellipticity(params, opts: GsextOptions) -> tuple[np.ndarray, np.ndarray]:
    """Final reduced-shear ellipticity (sky frame) of galaxies after ``rot=`` and ``shear=``.

    Consistent with the drawn image (it uses the matrix exponential shear, unlike the reference
    truth catalogue, report §3.5 quirks 2-3): ``reduced_shear(sky_shape_matrix(g1, g2, opts))``.

    Parameters
    ----------
    params : ndarray of `GALAXY_DTYPE`
        From `galaxy_params`.
    opts : GsextOptions
        Recipe options.

    Returns
    -------
    g1, g2 : ndarray, float64
    """
    return reduced_shear(sky_shape_matrix(params["g1"], params["g2"], opts))
