"""Parsing of the EXTRAINPUT layer recipes (layers spec §1.3).

Each EXTRAINPUT string names one extra layer coadded with the same weights as the science layer.  The
strings are matched case-insensitively, once, when the configuration is loaded; an unknown string is
an error naming it (the reference silently leaves such a layer at zero).

Recognised families (``<n>``: HEALPix resolution, nside = 2**n; ``<q>``: seed index):
``truth[,s]``, ``whitenoise<q>``, ``1fnoise<q>``, ``labnoise``, ``skyerr``, ``cstar<n>``,
``nstar<n>,<flux>,<sky>,<q>``, ``gsstar<n>``, ``gstrstar<n>``, ``gsfdstar<n>,<A>``,
``gsext<n>[,options]``, ``gsextchrom<n>,<psfdir>[,options]``, ``noise,<label>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["Recipe", "FAMILIES", "MAX_RESOLUTION", "parse_recipe", "parse_recipes"]


@dataclass(frozen=True)
class Recipe:
    """One parsed EXTRAINPUT entry.

    Attributes
    ----------
    text : str
        The string as given (surrounding blanks removed).
    family : str
        Lower-case family name, e.g. ``"whitenoise"``.
    args : tuple
        Parsed parameters: ``(q,)`` for noise layers, ``(n,)`` for star grids, ``(scale,)`` for truth,
        ``(n, flux_e, sky_e, q)`` for nstar, ``(n, amplitude)`` for gsfdstar, ``(n, options)`` for
        gsext (options: tuple of ``(key, value)`` strings), ``(n, psfdir, options)`` for gsextchrom,
        ``(label,)`` for noise.
    """

    text: str
    family: str
    args: tuple = ()


MAX_RESOLUTION = 29  # largest HEALPix resolution n (nside = 2**n) healpy supports


def _number(text: str, what: str, recipe: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"EXTRAINPUT entry {recipe!r}: {what} must be a finite number; got {text!r}")
    return value


def _resolution(text: str, recipe: str) -> int:
    n = int(text)
    if n > MAX_RESOLUTION:
        raise ConfigError(
            f"EXTRAINPUT entry {recipe!r}: HEALPix resolution n must be in 0..{MAX_RESOLUTION}; got {n}"
        )
    return n


def _integer(text: str, what: str, recipe: str) -> int:
    if not re.fullmatch(r"\d+", text.strip()):
        raise ConfigError(f"EXTRAINPUT entry {recipe!r}: {what} must be a non-negative integer; got {text!r}")
    return int(text)


def _options(parts: list[str], recipe: str) -> tuple[tuple[str, str], ...]:
    from .galaxy_params import GsextOptions

    out = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"EXTRAINPUT entry {recipe!r}: option {part!r} must have the form key=value")
        out.append((key.strip().lower(), value.strip()))
    GsextOptions.from_recipe(out, recipe)  # unknown keys and bad values fail at configuration load
    return tuple(out)


# (family, regular expression on the lower-cased text, argument parser)
_PATTERNS = (
    ("truth", r"truth(?:,(.+))?", lambda m, t: (_number(m[1], "the scale", t) if m[1] else 1.0,)),
    ("whitenoise", r"whitenoise(\d+)", lambda m, t: (int(m[1]),)),
    ("1fnoise", r"1fnoise(\d+)", lambda m, t: (int(m[1]),)),
    ("labnoise", r"labnoise", lambda m, t: ()),
    ("skyerr", r"skyerr", lambda m, t: ()),
    ("cstar", r"cstar(\d+)", lambda m, t: (_resolution(m[1], t),)),
    ("nstar", r"nstar(\d+),([^,]+),([^,]+),([^,]+)",
     lambda m, t: (_resolution(m[1], t), _number(m[2], "the flux", t), _number(m[3], "the sky", t),
                   _integer(m[4], "the seed index q", t))),
    ("gsstar", r"gsstar(\d+)", lambda m, t: (_resolution(m[1], t),)),
    ("gstrstar", r"gstrstar(\d+)", lambda m, t: (_resolution(m[1], t),)),
    ("gsfdstar", r"gsfdstar(\d+),(.+)",
     lambda m, t: (_resolution(m[1], t), _number(m[2], "the amplitude A", t))),
    ("gsextchrom", r"gsextchrom(\d+),([^,]+)((?:,[^,]+)*)",
     lambda m, t: (_resolution(m[1], t), m[2], _options([p for p in m[3].split(",") if p], t))),
    ("gsext", r"gsext(\d+)((?:,[^,]+)*)",
     lambda m, t: (_resolution(m[1], t), _options([p for p in m[2].split(",") if p], t))),
    ("noise", r"noise,(\S+)", lambda m, t: (m[1],)),
)  # fmt: skip
FAMILIES = tuple(f for f, _, _ in _PATTERNS)


def parse_recipe(text: str) -> Recipe:
    """Parse one EXTRAINPUT string (case-insensitive).

    Parameters
    ----------
    text : str
        The entry, e.g. ``"whitenoise1"`` or ``"nstar14,2e5,86,3"``.

    Returns
    -------
    Recipe

    Raises
    ------
    ConfigError
        If the string matches no family, or a parameter is malformed (the message names the string).

    Examples
    --------
    >>> parse_recipe("NSTAR14,2e5,86,3")
    Recipe(text='NSTAR14,2e5,86,3', family='nstar', args=(14, 200000.0, 86.0, 3))
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"EXTRAINPUT entries must be non-empty strings; got {text!r}")
    stripped = text.strip()
    low = stripped.lower()
    for family, pattern, parse in _PATTERNS:
        m = re.fullmatch(pattern, low)
        if m:
            if family in ("gsextchrom", "noise"):  # keep the case of paths and labels
                m = re.fullmatch(pattern, stripped, flags=re.IGNORECASE)
            return Recipe(stripped, family, parse(m, stripped))
    raise ConfigError(
        f"EXTRAINPUT entry {text!r} is not a known layer recipe; known families: {', '.join(FAMILIES)} "
        "(e.g. 'whitenoise1', 'cstar14', 'nstar14,2e5,86,3', 'gsext14,seed=100')"
    )


def parse_recipes(extrainput) -> tuple[Recipe, ...]:
    """Parse every EXTRAINPUT entry (the science layer is implicit and not listed)."""
    return tuple(parse_recipe(t) for t in extrainput)
