"""The PyIMCOM configuration: the reference JSON keywords, their defaults, validation and round trip.

`Config` reads the flat JSON dictionary of the reference PyIMCOM (keywords ``OBSFILE``, ``OUTSIZE``,
``KAPPAC``, ...; core spec §1.2) and stores every value on an attribute with the reference's
internal name (``obsfile``, ``n1``, ``kappaC_arr``, ...), so scripts written for the reference keep
working.  Angles keep their JSON units: ``dtheta_arcsec`` and ``inpad_arcsec`` hold the numbers as
given [arcsec]; ``dtheta`` [deg] and ``instamp_pad`` [rad] are read-only properties derived from them,
so writing back never drifts (INPAD 0.8 stays 0.8).

The refresh step ``cfg()`` validates every keyword (`ConfigError` naming the keyword, the value and
what is allowed), recomputes the derived sizes (core spec §1.3) and applies the OUTMAPS side effects
of §1.4.  The constructor calls it; call it again after editing attributes.

Departures from the reference (DESIGN.md §5): ``ITERTOL`` is accepted as an alias of ``ITERRTOL``;
invalid values raise instead of failing later; unknown keywords give one `PyIMCOMWarning`;
``PADSIDES = "auto"`` pads every mosaic-boundary side (reference quirk Q7 fixed), and the number of
computed stamps per axis is checked to be even for every block (Q6).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from importlib.resources import files

import numpy as np

from .config_keys import (
    _ARCSEC_PER_DEG,
    _KEYS,
    _RAD_PER_ARCSEC,
    _complete,
    _extra_psf_names,
    _fail,
    _is_int,
    _validate,
)
from .errors import ConfigError, InputFileError, PyIMCOMError, PyIMCOMValueError
from .geometry import BlockLayout
from .instrument import PIXSCALE_ARCSEC, SCA_HALF_DIAGONAL_DEG
from .io.atomic import atomic_write_text
from .io.config_hdu import read_config_text

__all__ = ["Config", "DEFAULT_CONFIG_RESOURCE"]

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_RESOURCE = "configs/default_config.json"  # packaged default, relative to pyimcom/


def _json_default(obj):
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _parse_json(text: str, source: str) -> dict:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"configuration from {source} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        _fail(f"configuration from {source}", type(raw).__name__, "a JSON object of keywords")
    return raw


def _read_source(cfg_file) -> tuple[dict, str]:
    """Return (raw dictionary, description of the source) for a path, JSON text or ""."""
    if isinstance(cfg_file, str) and cfg_file == "":
        resource = files("pyimcom").joinpath(DEFAULT_CONFIG_RESOURCE)
        return _parse_json(resource.read_text(encoding="utf-8"), str(resource)), str(resource)
    try:
        path = os.fspath(cfg_file)
    except TypeError:
        raise ConfigError(
            f"Config expects a JSON file path, JSON text, '' or a dict; got {type(cfg_file).__name__}"
        ) from None
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                return _parse_json(f.read(), path), path
        except OSError as exc:
            raise InputFileError(f"cannot read configuration file {path}: {exc}") from exc
    if isinstance(cfg_file, str):
        try:
            return _parse_json(cfg_file, "JSON text"), "JSON text"
        except ConfigError:
            if cfg_file.lstrip().startswith("{"):
                raise
    raise InputFileError(f"configuration file not found: {path} (and the argument is not JSON text)")


# ----------------------------------------------------------------------------- Config
class Config:
    """PyIMCOM configuration with the reference JSON interface.

    Attributes use the reference's internal names (``obsfile``, ``n1``, ``kappaC_arr``, ...; the
    keyword table ``_KEYS`` and core spec §1.2 list them); derived sizes have units in their names
    (``nside_px``, ``search_radius_deg``, ...).  Edit attributes, then call ``cfg()``.

    Parameters
    ----------
    cfg_file : str, os.PathLike or dict
        Path of a JSON configuration file; or JSON text (used when it is not an existing path); or
        ``""`` for the packaged default ``pyimcom/configs/default_config.json``; or a dictionary of
        keywords; or, with ``inmode="block"``, a block output FITS file whose ``CONFIG`` HDU is read.
        ``None`` (the reference's interactive builder) is not supported. Default: ``""``.
    inmode : {None, "block"}
        ``"block"``: read the configuration stored in a block output file. Default: None.

    Attributes
    ----------
    dtheta_arcsec, inpad_arcsec : float
        Output pixel scale OUTSIZE[2] and acceptance radius INPAD [arcsec], exactly as given.
    stoptile : int
        STOP: if > 0, process only that many stamps. A plain attribute (``cfg.stoptile = 4``).
    layout : pyimcom.geometry.BlockLayout
        Block sizes for ``(n1, n2, PAD, FADE)``.
    nside_px, nside_padded_px, nside_accum_px : int
        Block side without padding, with padding (saved image) and of the accumulation array
        [output px] (reference ``Nside``, ``NsideP``, ``NsidePf``).
    n1_padded : int
        Stamps per padded block side ``n1 + 2 PAD`` (reference ``n1P``).
    n2_faded_px, m_out_px : int
        Stamp side with transition pixels ``n2 + 2 FADE`` [output px] (reference ``n2f``) and output
        pixels per linear system ``n2f**2``.
    n_inframe : int
        Number of coadded layers, ``1 + len(EXTRAINPUT)``.
    psf_nsamp, psf_nc, psf_nfft : int
        PSF sampling grid side ``NPIXPSF*ov - 1``, its centre index ``psf_nsamp // 2`` and the FFT
        size ``2*NPIXPSF*ov`` [PSF samples].
    dscale_out_px : float
        PSF sampling step ``(0.11 arcsec / ov) / dtheta`` [output px per sample].
    inpad_out_px : float
        Acceptance radius ``INPAD / dtheta`` [output px].
    search_radius_deg : float
        Radius of the coarse exposure search: SCA half-diagonal + ``NsideP*dtheta/sqrt(2)`` [deg].

    Raises
    ------
    ConfigError
        If a keyword is missing, has the wrong type or an invalid value (the message names it), or
        the text is not JSON.
    InputFileError
        If the file does not exist or cannot be read, or a block file has no CONFIG HDU.

    Examples
    --------
    >>> cfg = Config("")
    >>> cfg.n1, cfg.n2, cfg.dtheta_arcsec, cfg.Nside
    (4, 25, 0.04, 100)
    >>> cfg.stoptile = 4
    >>> '"STOP": 4' in cfg.to_file(None)
    True
    """

    __hash__ = None  # mutable; equality compares to_dict()

    def __init__(self, cfg_file: str | os.PathLike | Mapping = "", inmode: str | None = None) -> None:
        if inmode not in (None, "block"):
            _fail("inmode", inmode, "None or 'block'")
        if cfg_file is None:
            raise ConfigError(
                "Config(None) would start the reference's interactive dialogue, which is not supported; "
                "pass the path of a JSON configuration file (or JSON text, or '' for the default)"
            )
        if inmode == "block":
            path = os.fspath(cfg_file)
            raw, source = _parse_json(read_config_text(path), f"CONFIG HDU of {path}"), path
        elif isinstance(cfg_file, Mapping):
            raw, source = dict(cfg_file), "dict"
        else:
            raw, source = _read_source(cfg_file)
        self.cfg_file = None if source in ("dict", "JSON text") else source
        self._set_from_full(_complete(raw))
        self()
        logger.info("configuration loaded from %s", source)

    def _set_from_full(self, full: dict) -> None:
        """Set the attributes from a validated full JSON-form dictionary."""
        convert = {"f": float, "i": int}
        for spec in _KEYS:
            value = full[spec.name]
            values = spec.load(value) if spec.load else (value,) if len(spec.attrs) == 1 else tuple(value)
            for attr, v, kind in zip(spec.attrs, values, spec.kinds.ljust(len(spec.attrs)), strict=True):
                setattr(self, attr, convert[kind](v) if kind in convert else v)
        pairs = _extra_psf_names(self.n_out)
        self.outpsf_extra = [full[psf_key] for psf_key, _ in pairs]
        self.sigmatarget_extra = [float(full[sigma_key]) for _, sigma_key in pairs]

    def _full_dict(self) -> dict:
        """Every keyword (conditional ones included) in JSON form, from the current attributes."""
        full = {}
        for spec in _KEYS:
            values = [getattr(self, attr) for attr in spec.attrs]
            full[spec.name] = spec.dump(*values) if spec.dump else values[0] if len(values) == 1 else values
            if spec.name == "EXTRASMOOTH":
                extra = zip(self.outpsf_extra, self.sigmatarget_extra, strict=False)
                for k, (psf, sigma) in enumerate(extra, start=2):
                    full[f"OUTPSF{k}"], full[f"EXTRASMOOTH{k}"] = psf, sigma
        return full

    def __call__(self) -> None:
        """Validate the current attributes and recompute the derived quantities (refresh step).

        Call after editing attributes (the constructor calls it).  Applies the OUTMAPS side effects
        of the reference: ``Empirical`` removes ``T``; EMPIRNQC removes ``U`` and ``S``; ``Empirical``
        with neither ``U`` nor ``S`` sets ``no_qlt_ctrl = True``; ``Empirical`` or a single KAPPAC
        value removes ``K``.  Unpacks PSFSPLIT into ``psfsplit_r1``, ``psfsplit_r2`` [native px],
        ``psfsplit_epsilon`` and ``psfsplit_bin2x2``.

        Raises
        ------
        ConfigError
            If an attribute holds a value that its keyword does not allow (the message names the
            keyword).
        """
        n_extra = self.n_out - 1 if _is_int(self.n_out) else 0
        if len(self.outpsf_extra) != n_extra or len(self.sigmatarget_extra) != n_extra:
            extras = f"outpsf_extra = {self.outpsf_extra!r}, sigmatarget_extra = {self.sigmatarget_extra!r}"
            _fail("NOUT", self.n_out, f"1 + the number of extra target PSFs ({extras})")
        if not isinstance(self.extrainput, list) or not self.extrainput or self.extrainput[0] is not None:
            _fail("extrainput (EXTRAINPUT)", self.extrainput, "a list starting with None (science layer)")
        full = self._full_dict()
        _validate(full)
        self._set_from_full(full)
        split = self.psfsplit or [None, None, None, False]
        self.psfsplit_r1, self.psfsplit_r2, self.psfsplit_epsilon, self.psfsplit_bin2x2 = split
        self.n_inframe = len(self.extrainput)
        self._derive_sizes()
        if self.linear_algebra == "Empirical":
            self.outmaps = self.outmaps.replace("T", "")
            if self.no_qlt_ctrl:
                self.outmaps = self.outmaps.replace("U", "").replace("S", "")
            elif "U" not in self.outmaps and "S" not in self.outmaps:
                self.no_qlt_ctrl = True
        if self.linear_algebra == "Empirical" or self.kappaC_arr.size == 1:
            self.outmaps = self.outmaps.replace("K", "")

    def _derive_sizes(self) -> None:
        """Derived sizes of core spec §1.3 [output px unless the name says otherwise]."""
        self.layout = BlockLayout(self.n1, self.n2, self.postage_pad, self.fade_kernel)
        for name in ("nside_px", "nside_padded_px", "n1_padded", "n2_faded_px", "nside_accum_px", "m_out_px"):
            setattr(self, name, getattr(self.layout, name))
        ov = self.inpsf_oversamp
        self.psf_nsamp = self.npixpsf * ov - 1  # PSF sampling grid side [samples]
        self.psf_nc = self.psf_nsamp // 2  # centre index of that grid [samples]
        self.psf_nfft = 2 * self.npixpsf * ov  # FFT size [samples]
        self.dscale_out_px = (PIXSCALE_ARCSEC / ov) / self.dtheta_arcsec  # PSF sample step [output px]
        self.inpad_out_px = self.inpad_arcsec / self.dtheta_arcsec  # acceptance radius [output px]
        block_half_diagonal_deg = self.nside_padded_px * self.dtheta_deg / math.sqrt(2.0)
        self.search_radius_deg = SCA_HALF_DIAGONAL_DEG + block_half_diagonal_deg  # exposure search [deg]

    @property
    def dtheta_deg(self) -> float:
        """Output pixel scale [deg], from ``dtheta_arcsec`` (reference name: ``dtheta``)."""
        return self.dtheta_arcsec / _ARCSEC_PER_DEG

    @property
    def instamp_pad_rad(self) -> float:
        """Input-pixel acceptance radius INPAD [rad], from ``inpad_arcsec`` (reference: ``instamp_pad``)."""
        return self.inpad_arcsec * _RAD_PER_ARCSEC

    dtheta = dtheta_deg  # reference name [deg]
    instamp_pad = instamp_pad_rad  # reference name [rad]
    Nside = property(lambda self: self.nside_px, doc="Reference alias of ``nside_px``.")
    NsideP = property(lambda self: self.nside_padded_px, doc="Reference alias of ``nside_padded_px``.")
    n1P = property(lambda self: self.n1_padded, doc="Reference alias of ``n1_padded`` [stamps].")
    n2f = property(lambda self: self.n2_faded_px, doc="Reference alias of ``n2_faded_px``.")
    NsidePf = property(lambda self: self.nside_accum_px, doc="Reference alias of ``nside_accum_px``.")

    def to_dict(self) -> dict:
        """Return the configuration as the ordered JSON dictionary written by `to_file`.

        Returns
        -------
        dict
            Keywords in the reference order; conditional keywords (INPSFDRAW, PSFSPLIT, ITERRTOL,
            ITERMAX, EMPIRNQC, OUTPSFk, EXTRASMOOTHk) only where they apply.  Angles in arcsec.

        Examples
        --------
        >>> list(Config("").to_dict())[:3]
        ['OBSFILE', 'INDATA', 'FILTER']
        """
        full = self._full_dict()
        written = {spec.name: spec.written for spec in _KEYS if spec.written}
        return {name: value for name, value in full.items() if name not in written or written[name](full)}

    def to_file(self, fname: str | os.PathLike | None = None) -> str | None:
        """Write the configuration JSON (4-space indent), or return it as text.

        Parameters
        ----------
        fname : str, os.PathLike or None
            Destination file, written atomically (temporary file in the same directory, then
            `os.replace`; parent directories are created).  None: return the text instead.
            Default: None.

        Returns
        -------
        str or None
            The JSON text when ``fname`` is None, otherwise None.

        Raises
        ------
        PyIMCOMValueError
            If ``fname`` is ``""`` (the reference overwrote its packaged default; not supported).
        PyIMCOMError
            If the file cannot be written (the message names the path).

        Examples
        --------
        >>> Config("").to_file(None).splitlines()[1]
        '    "OBSFILE": "data/obs.fits",'
        """
        text = json.dumps(self.to_dict(), indent=4, default=_json_default)
        if fname is None:
            return text
        path = os.fspath(fname)
        if path == "":
            raise PyIMCOMValueError("to_file needs a destination path (or None to get the text); got ''")
        try:
            atomic_write_text(text, path)
        except OSError as exc:
            raise PyIMCOMError(f"cannot write configuration to {path}: {exc}") from exc
        logger.info("configuration written to %s", path)
        return None

    def __eq__(self, other: object) -> bool:
        return self.to_dict() == other.to_dict() if isinstance(other, Config) else NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self.to_dict(), default=_json_default)!r})"
