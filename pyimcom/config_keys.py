"""The keywords of the PyIMCOM configuration JSON: defaults, types, allowed values, (de)serialisation.

One table (`_KEYS`) lists every keyword of the reference (core spec §1.2) with the attribute(s) it
fills, its checker and default; `_complete` resolves aliases, warns about unknown keywords, fills
defaults and validates.  Every check raises `ConfigError` naming the keyword, the value received and
what is allowed.  `pyimcom.config.Config` is the user-facing object built on this table.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError, PyIMCOMWarning
from .geometry import BlockLayout, MosaicGeometry
from .instrument import FILTER_NAMES, IMAGING_FILTERS
from .layers.recipes import parse_recipe

_ARCSEC_PER_DEG = 3600.0  # [arcsec / deg]
_RAD_PER_ARCSEC = math.pi / (180.0 * _ARCSEC_PER_DEG)  # [rad / arcsec]
_REQUIRED = object()  # marks a keyword without default
_DESTRIPE_KEYS = frozenset(
    ("DSMODEL", "DSOUT", "CGMODEL", "DSCOST", "DSOBSFILE", "DSNOISEFILE", "DSRESTART", "GAINDIR", "AMPCOLS")
)  # accepted silently, never written (destriping module)
_DATA_FORMATS = ("anlsim", "dc2_imsim", "L2_2506")
_PSF_FORMATS = (*_DATA_FORMATS, "piff")
_TARGET_PSFS = ("GAUSSIAN", "AIRYOBSC", "AIRYUNOBSC")
_KERNELS = ("Eigen", "Cholesky", "Iterative", "Empirical")
_MAP_LETTERS = "USKTN"
_SIGMA_DEFAULT = 1.5 / 2.355  # default target-PSF Gaussian sigma [native pixels]


# ----------------------------------------------------------------------------- checkers
def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, (float, np.floating))) and math.isfinite(v)


def _is_str(v) -> bool:
    return isinstance(v, str)


def _is_list(v) -> bool:
    return isinstance(v, (list, tuple))


def _is_even_pos(v) -> bool:
    return v >= 2 and v % 2 == 0


def _absent(v) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def _fail(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{key} must be {allowed}; got {value!r}")


def _rule(is_type: Callable, allowed: str, ok: Callable | None = None) -> Callable[[str, Any], None]:
    """Checker: the value must pass ``is_type`` and then ``ok``; otherwise a ConfigError."""

    def check(key: str, value: Any) -> None:
        if not (is_type(value) and (ok is None or ok(value))):
            _fail(key, value, allowed)

    return check


def _seq(*items: tuple[str, Callable]) -> Callable[[str, Any], None]:
    """Checker of a fixed-length JSON list; items are (element name, element checker)."""
    names = ", ".join(name for name, _ in items)

    def check(key: str, value: Any) -> None:
        if not _is_list(value) or len(value) != len(items):
            _fail(key, value, f"a list of {len(items)} elements [{names}]")
        for k, ((name, sub), element) in enumerate(zip(items, value, strict=True)):
            sub(f"{key}[{k}] ({name})", element)

    return check


def _enum(choices: tuple[str, ...]) -> Callable[[str, Any], None]:
    return _rule(_is_str, "one of " + ", ".join(map(repr, choices)), lambda v: v in choices)


_BOOL = _rule(lambda v: isinstance(v, bool), "true or false")
_NUM = _rule(_is_num, "a finite number")
_NONNEG_INT = _rule(_is_int, "an integer >= 0", lambda v: v >= 0)
_POS_INT = _rule(_is_int, "an integer >= 1", lambda v: v >= 1)
_PATH = _rule(_is_str, "a path string")
_OPT_PATH = _rule(lambda v: v is None or _is_str(v), '"" (or null) or a path string')
_SIGMA = _rule(_is_num, "a number >= 0 [native pixels]", lambda v: v >= 0)
_INPSF = _seq(
    ("path", _PATH),
    (
        "format",
        _rule(
            _is_str,
            "one of " + ", ".join(map(repr, _PSF_FORMATS)) + " or 'piff:<prefix>'",
            lambda v: v in _PSF_FORMATS or (v.startswith("piff:") and len(v) > 5),
        ),
    ),
    ("oversampling", _rule(_is_int, "a positive integer", lambda v: v > 0)),
)


def _check_psfsplit(key: str, value: Any) -> None:
    if _absent(value):
        return
    allowed = 'absent, "" or [r1, r2, epsilon(, bin2x2)] with 0 <= r1 < r2 [native px] and epsilon >= 0'
    if not _is_list(value) or len(value) not in (3, 4) or not all(map(_is_num, value[:3])):
        _fail(key, value, allowed)
    if not (0 <= value[0] < value[1]) or value[2] < 0:
        _fail(key, value, allowed)
    if len(value) == 4 and not isinstance(value[3], bool):
        _fail(f"{key}[3] (bin2x2)", value[3], "true or false")


def _check_filter(key: str, value: Any) -> None:
    if not (_is_int(value) and value in IMAGING_FILTERS):
        allowed = ", ".join(f"{c} ({FILTER_NAMES[c]})" for c in IMAGING_FILTERS)
        known = _is_int(value) and 0 <= value < len(FILTER_NAMES)
        note = f" = {FILTER_NAMES[value]}, not an imaging filter" if known else ""
        raise ConfigError(f"{key} must be an imaging filter code, one of {allowed}; got {value!r}{note}")


_PADSIDES = _rule(
    _is_str,
    "'all', 'auto', 'none' or a non-empty string of the letters B, T, L, R",
    lambda v: v in ("all", "auto", "none") or (v != "" and set(v) <= set("BTLR")),
)
_KAPPAC = _rule(
    lambda v: _is_list(v) and len(v) > 0 and all(_is_num(x) and x >= 0 for x in v),
    "a non-empty list of numbers >= 0 (kappa/C) in strictly ascending order",
    lambda v: all(b > a for a, b in zip(v[:-1], v[1:], strict=True)),
)
_EXTRAINPUT_LIST = _rule(
    _is_list,
    "a list of non-empty layer-name strings (the science layer is implicit)",
    lambda v: all(_is_str(x) and x for x in v),
)


def _EXTRAINPUT(key: str, value: Any) -> None:  # noqa: N802 (a checker, named like the others)
    """A list of layer recipes; each string must parse (`pyimcom.layers.recipes`)."""
    _EXTRAINPUT_LIST(key, value)
    for k, text in enumerate(value):
        try:
            parse_recipe(text)
        except ConfigError as exc:
            raise ConfigError(f"{key}[{k}]: {exc}") from None


# ----------------------------------------------------------------------------- keyword table
@dataclass(frozen=True)
class _Key:
    """One JSON keyword: attributes it fills, checker, default and (de)serialisation."""

    name: str  # JSON keyword
    attrs: tuple[str, ...]  # attribute names; several means the JSON list is unpacked
    check: Callable[[str, Any], None]
    default: Any = _REQUIRED
    kinds: str = ""  # one letter per attribute: 'f' -> float, 'i' -> int, other -> unchanged
    load: Callable[[Any], tuple] | None = None  # JSON value -> attribute values
    dump: Callable[..., Any] | None = None  # attribute values -> JSON value
    written: Callable[[dict], bool] | None = None  # to_file writes the key only when true


def _load_psfsplit(v) -> tuple:
    if _absent(v):
        return ("",)
    return ([float(v[0]), float(v[1]), float(v[2]), bool(v[3]) if len(v) > 3 else False],)


def _dump_psfsplit(p):
    if not _is_list(p):
        return p if p else None
    return [*p, False] if len(p) == 3 else list(p)


def _none_if_empty(v) -> tuple:
    return (v or None,)


def _empty_if_none(v):
    return "" if v is None else v


def _iterative(d: dict) -> bool:
    return d["LAKERNEL"] == "Iterative"


_EVEN = "an even integer >= 2"
_KEYS: tuple[_Key, ...] = (
    # I: input files
    _Key("OBSFILE", ("obsfile",), _rule(_is_str, "a non-empty path string", bool)),
    _Key("INDATA", ("inpath", "informat"), _seq(("path", _PATH), ("format", _enum(_DATA_FORMATS)))),
    _Key("FILTER", ("use_filter",), _check_filter, kinds="i"),
    _Key("INPSF", ("inpsf_path", "inpsf_format", "inpsf_oversamp"), _INPSF, kinds="..i"),
    _Key(
        "INPSFDRAW",
        ("inpsfdraw_path", "inpsfdraw_format", "inpsfdraw_oversamp"),
        lambda key, v: None if _absent(v) else _INPSF(key, v),
        None,
        load=lambda v: (None,) * 3 if _absent(v) else tuple(v),
        dump=lambda p, f, o: None if p is None else [p, f, o],
        written=lambda d: d["INPSFDRAW"] is not None,
    ),
    _Key(
        "PSFSPLIT",
        ("psfsplit",),
        _check_psfsplit,
        None,
        load=_load_psfsplit,
        dump=_dump_psfsplit,
        written=lambda d: d["PSFSPLIT"] is not None,
    ),
    _Key(
        "PORDER_IMSUBTRACT",
        ("porder_imsubtract",),
        _rule(_is_int, "an integer >= -1", lambda v: v >= -1),
        -1,
        "i",
    ),
    # II: masks and layers
    _Key("PMASK", ("permanent_mask",), _OPT_PATH, None),
    _Key(
        "CMASK", ("cr_mask_rate",), _rule(_is_num, "a probability in [0, 1)", lambda v: 0 <= v < 1), 0.0, "f"
    ),
    _Key("EXTRAINPUT", ("extrainput",), _EXTRAINPUT, [], load=lambda v: ([None, *v],), dump=lambda e: e[1:]),
    _Key("LABNOISETHRESHOLD", ("labnoisethreshold",), _NUM, 3.0, "f"),
    # III: area to coadd
    _Key(
        "CTR",
        ("ra", "dec"),
        _seq(
            ("RA [deg]", _NUM),
            ("Dec [deg]", _rule(_is_num, "a number in [-90, 90] [deg]", lambda v: abs(v) <= 90)),
        ),
        kinds="ff",
    ),
    _Key("LONPOLE", ("lonpole",), _NUM, 180.0, "f"),
    _Key("BLOCK", ("nblock",), _POS_INT, kinds="i"),
    _Key(
        "OUTSIZE",
        ("n1", "n2", "dtheta_arcsec"),
        _seq(
            ("n1", _rule(_is_int, f"{_EVEN} (PSFs are built in 2x2 stamp groups)", _is_even_pos)),
            ("n2", _POS_INT),
            ("dtheta [arcsec]", _rule(_is_num, "a number > 0 [arcsec]", lambda v: v > 0)),
        ),
        kinds="iif",
    ),
    # IV: postage stamps
    _Key("FADE", ("fade_kernel",), _NONNEG_INT, 3, "i"),
    _Key("PAD", ("postage_pad",), _NONNEG_INT, 0, "i"),
    _Key("PADSIDES", ("pad_sides",), _PADSIDES, "auto"),
    _Key("STOP", ("stoptile",), _NONNEG_INT, 0, "i"),
    # V: outputs
    _Key(
        "OUTMAPS",
        ("outmaps",),
        _rule(_is_str, "a string of the letters U, S, K, T, N", lambda v: set(v) <= set(_MAP_LETTERS)),
        "USKTN",
    ),
    _Key("OUT", ("outstem",), _rule(_is_str, "a non-empty path stem", bool)),
    _Key("TEMPFILE", ("tempfile",), _OPT_PATH, "", load=_none_if_empty, dump=_empty_if_none),
    _Key("INLAYERCACHE", ("inlayercache",), _OPT_PATH, "", load=_none_if_empty, dump=_empty_if_none),
    # VI: target output PSF (OUTPSFk / EXTRASMOOTHk are inserted after EXTRASMOOTH)
    _Key("NOUT", ("n_out",), _POS_INT, 1, "i"),
    _Key("OUTPSF", ("outpsf",), _enum(_TARGET_PSFS), "AIRYOBSC"),
    _Key("EXTRASMOOTH", ("sigmatarget",), _SIGMA, _SIGMA_DEFAULT, "f"),
    # VII: building the linear systems
    _Key("NPIXPSF", ("npixpsf",), _rule(_is_int, f"{_EVEN} [native pixels]", _is_even_pos), 48, "i"),
    _Key("PSFCIRC", ("psf_circ",), _BOOL, False),
    _Key("PSFNORM", ("psf_norm",), _BOOL, False),
    _Key(
        "AMPPEN",
        ("amp_penalty",),
        _seq(("amplitude", _NUM), ("width [native px]", _NUM)),
        [0.0, 0.0],
        load=lambda v: ([float(x) for x in v],),
        dump=list,
    ),
    _Key("FLATPEN", ("flat_penalty",), _rule(_is_num, "a number >= 0", lambda v: v >= 0), 0.0, "f"),
    _Key("PSFINTERP", ("psf_interp",), _enum(("D5512", "G4460")), "D5512"),
    _Key("INPAD", ("inpad_arcsec",), _rule(_is_num, "a number >= 0 [arcsec]", lambda v: v >= 0), 1.055, "f"),
    # VIII: solving the linear systems
    _Key("LAKERNEL", ("linear_algebra",), _enum(_KERNELS), "Cholesky"),
    _Key(
        "ITERRTOL",
        ("iter_rtol",),
        _rule(_is_num, "a number > 0", lambda v: v > 0),
        1.5e-3,
        "f",
        written=_iterative,
    ),
    _Key("ITERMAX", ("iter_max",), _POS_INT, 30, "i", written=_iterative),
    # not a reference keyword (the reference ignores it): precision of the one-node Cholesky solves
    _Key(
        "LAPRECISION",
        ("la_precision",),
        _enum(("double", "full", "mixed")),
        "double",
        written=lambda d: d["LAPRECISION"] != "double",
    ),  # fmt: skip
    _Key("EMPIRNQC", ("no_qlt_ctrl",), _BOOL, False, written=lambda d: d["LAKERNEL"] == "Empirical"),
    _Key(
        "KAPPAC",
        ("kappaC_arr",),
        _KAPPAC,
        [1e-5, 1e-4, 1e-3],
        load=lambda v: (np.array(v, dtype=float),),
        dump=lambda a: np.asarray(a).tolist(),
    ),
    _Key("UCMIN", ("uctarget",), _rule(_is_num, "a number >= 0", lambda v: v >= 0), 1e-6, "f"),
    _Key("SMAX", ("sigmamax",), _rule(_is_num, "a number > 0", lambda v: v > 0), 0.5, "f"),
    # pass-throughs copied into the CONFIG HDU header
    _Key("TILESCHM", ("tileschm",), _rule(_is_str, "a string"), "Not_specified"),
    _Key("RERUN", ("rerun",), _rule(_is_str, "a string"), "Not_specified"),
    _Key("MOSAIC", ("mosaic",), _rule(_is_int, "an integer"), -1, "i"),
)
_KEY_BY_NAME = {k.name: k for k in _KEYS}


def _extra_psf_names(n_out: int) -> list[tuple[str, str]]:
    """JSON keywords (OUTPSFk, EXTRASMOOTHk) of the extra target PSFs k = 2 .. n_out."""
    return [(f"OUTPSF{k}", f"EXTRASMOOTH{k}") for k in range(2, n_out + 1)]


def _check_consistency(d: dict) -> None:
    """Cross-keyword rules on a full JSON-form dictionary (types already checked)."""
    n1, n2, dtheta_arcsec = d["OUTSIZE"]
    if n2 <= 2 * d["FADE"]:
        _fail("FADE", d["FADE"], f"< n2/2 (n2 > 2*FADE) with n2 = OUTSIZE[1] = {n2}")
    width_arcsec = n2 * dtheta_arcsec
    if d["INPAD"] > width_arcsec * (1 + 1e-12):  # tolerance: 50 * 0.025 may round above 1.25
        allowed = f"<= one stamp width n2*dtheta = {n2}*{dtheta_arcsec} = {width_arcsec:.6g} arcsec"
        _fail("INPAD", d["INPAD"], allowed + " (only the 3x3 neighbouring stamps are searched) [arcsec]")
    nblock = d["BLOCK"]
    layout = BlockLayout(n1, n2, d["PAD"], d["FADE"])
    geometry = MosaicGeometry(0.0, 0.0, 180.0, nblock, layout, dtheta_arcsec / _ARCSEC_PER_DEG, d["PADSIDES"])
    corners = sorted({0, min(1, nblock - 1), nblock - 1})  # every distinct padding pattern
    for ibx in corners:
        for iby in corners:
            geometry.stamp_range(ibx, iby)  # raises ConfigError for an odd number of stamps


def _validate(d: dict) -> None:
    """Check every keyword of a full JSON-form dictionary, then the cross-keyword rules."""
    for name, value in d.items():
        spec = _KEY_BY_NAME.get(name)
        check = spec.check if spec else (_enum(_TARGET_PSFS) if name.startswith("OUTPSF") else _SIGMA)
        check(name, value)
    _check_consistency(d)


def _complete(raw: dict) -> dict:
    """Resolve ITERTOL, check required and unknown keywords, fill defaults and validate.

    Returns the full JSON-form dictionary (every keyword, in the reference order).
    """
    d = dict(raw)
    if "ITERTOL" in d:  # documented name of ITERRTOL (reference quirk Q1)
        alias = d.pop("ITERTOL")
        if "ITERRTOL" in d and d["ITERRTOL"] != alias:
            raise ConfigError(
                f"ITERTOL is an alias of ITERRTOL and both are given with different values "
                f"(ITERTOL = {alias!r}, ITERRTOL = {d['ITERRTOL']!r}); keep only ITERRTOL"
            )
        d["ITERRTOL"] = alias
    missing = [k.name for k in _KEYS if k.default is _REQUIRED and k.name not in d]
    if missing:
        required = ", ".join(k.name for k in _KEYS if k.default is _REQUIRED)
        raise ConfigError(f"missing required keyword(s) {', '.join(missing)} (required: {required})")
    n_out = d.get("NOUT", 1)
    _KEY_BY_NAME["NOUT"].check("NOUT", n_out)
    extras = _extra_psf_names(n_out)
    unknown = sorted(set(d) - set(_KEY_BY_NAME) - {n for pair in extras for n in pair} - _DESTRIPE_KEYS)
    if unknown:
        msg = f"unknown configuration keyword(s) ignored and not written back: {', '.join(unknown)}"
        warnings.warn(msg, PyIMCOMWarning, stacklevel=3)
    full = {}
    for spec in _KEYS:
        default = list(spec.default) if isinstance(spec.default, list) else spec.default
        full[spec.name] = d.get(spec.name, default)
        if spec.name == "EXTRASMOOTH":
            for psf_key, sigma_key in extras:
                full[psf_key], full[sigma_key] = d.get(psf_key, "AIRYOBSC"), d.get(sigma_key, _SIGMA_DEFAULT)
    _validate(full)
    return full
