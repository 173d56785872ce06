"""Reader of a block output file (core spec §5; modelled on the reference's ``analysis.OutImage``).

`OutImage` gives named access to the HDUs written by `pyimcom.io.block_output.write_block` (or by
the reference PyIMCOM): coadded layers by index or by ``EXTRAINPUT`` name, decoded ancillary maps,
the ``INDATA`` table, the ``INWEIGHT`` array and the celestial WCS.  Arrays follow the package pixel
contract (indexed ``[..., y, x]``, 0-based).  The file is opened only when something is read, and
closed again before the method returns; headers are read once and cached.
"""

from __future__ import annotations

import json
import os
import re
from functools import cached_property

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from ..errors import InputFileError, PyIMCOMRangeError, PyIMCOMValueError
from .config_hdu import CONFIG_EXTNAME, read_config_text
from .fitsutil import open_fits
from .logmaps import decode_log_map, map_spec

__all__ = ["OutImage", "block_indices_from_name"]

_NAME_RE = re.compile(r"_(\d+)_(\d+)(?:_map)?(?:\.cpr)?\.fits(?:\.gz)?$")


def block_indices_from_name(path: str | os.PathLike) -> tuple[int, int] | None:
    """Parse the block indices from an output file name.

    Accepts ``{OUT}_{ibx:02d}_{iby:02d}.fits``, the legacy ``..._{ibx:02d}_{iby:02d}_map.fits`` and
    compressed ``....cpr.fits.gz`` names.

    Parameters
    ----------
    path : str or os.PathLike
        File name or path.

    Returns
    -------
    tuple of int or None
        ``(ibx, iby)``, or None if the name does not follow the pattern.

    Examples
    --------
    >>> block_indices_from_name("out/demo_H_03_17.fits"), block_indices_from_name("x_01_02_map.fits")
    ((3, 17), (1, 2))
    """
    match = _NAME_RE.search(os.path.basename(os.fspath(path)))
    return None if match is None else (int(match.group(1)), int(match.group(2)))


class OutImage:
    """Read access to one block output file.

    Parameters
    ----------
    path : str or os.PathLike
        Block output FITS file.  Nothing is read until an attribute or method needs it.

    Examples
    --------
    >>> img = OutImage("out/demo_H_01_02_map.fits")
    >>> img.path
    'out/demo_H_01_02_map.fits'
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"OutImage({self.path!r})"

    # ---- headers and configuration -----------------------------------------------------------
    @cached_property
    def _headers(self) -> dict[str, fits.Header]:
        """EXTNAME -> header copy of every HDU (first occurrence of a name)."""
        headers: dict[str, fits.Header] = {}
        with open_fits(self.path, what="block output file") as hdul:
            for hdu in hdul:
                headers.setdefault(hdu.name.upper(), hdu.header.copy())
        return headers

    @property
    def hdu_names(self) -> tuple[str, ...]:
        """EXTNAMEs of the HDUs in file order (``'PRIMARY'`` first)."""
        return tuple(self._headers)

    def header(self, extname: str = "PRIMARY") -> fits.Header:
        """Return a copy of the header of an HDU.

        Parameters
        ----------
        extname : str
            HDU name (case-insensitive). Default: ``'PRIMARY'``.

        Returns
        -------
        astropy.io.fits.Header
            Copy of the header.

        Raises
        ------
        InputFileError
            If the file has no such HDU (the message names the file and the HDUs present).
        """
        self._require(extname)
        return self._headers[extname.upper()].copy()

    def _require(self, extname: str) -> None:
        if extname.upper() not in self._headers:
            raise InputFileError(
                f"{self.path} has no {extname.upper()} HDU (HDUs present: {list(self.hdu_names)})"
            )

    @cached_property
    def cfg_text(self) -> str:
        """The configuration JSON text stored in the ``CONFIG`` HDU (str)."""
        return read_config_text(self.path)

    @cached_property
    def cfg_dict(self) -> dict:
        """The stored configuration parsed with `json` (dict; not validated)."""
        try:
            cfg = json.loads(self.cfg_text)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"the CONFIG HDU of {self.path} is not valid JSON: {exc}") from exc
        if not isinstance(cfg, dict):
            raise InputFileError(
                f"the CONFIG HDU of {self.path} holds a JSON {type(cfg).__name__}, not an object"
            )
        return cfg

    @property
    def layer_names(self) -> list[str]:
        """Names of the coadded layers: ``'SCI'`` then the configuration's ``EXTRAINPUT`` entries."""
        extra = self.cfg_dict.get("EXTRAINPUT") or []
        return ["SCI", *extra]

    @cached_property
    def block_index(self) -> tuple[int, int]:
        """``(ibx, iby)`` from the CONFIG header (``BLOCKX``/``BLOCKY``), else from the file name."""
        cfg_header = self._headers.get(CONFIG_EXTNAME, fits.Header())
        if "BLOCKX" in cfg_header and "BLOCKY" in cfg_header:
            return int(cfg_header["BLOCKX"]), int(cfg_header["BLOCKY"])
        parsed = block_indices_from_name(self.path)
        if parsed is None:
            raise InputFileError(
                f"cannot tell the block indices of {self.path}: its CONFIG header has no BLOCKX/BLOCKY and "
                "the name does not end in _XX_YY.fits or _XX_YY_map.fits"
            )
        return parsed

    @property
    def ibx(self) -> int:
        """Block index along x."""
        return self.block_index[0]

    @property
    def iby(self) -> int:
        """Block index along y."""
        return self.block_index[1]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """Shape ``(n_out, n_layer, NsideP, NsideP)`` of the primary (coadded-layer) array."""
        h = self._headers["PRIMARY"]
        if h.get("NAXIS") != 4:
            raise InputFileError(f"the primary HDU of {self.path} is not 4-D (NAXIS = {h.get('NAXIS')})")
        return tuple(int(h[f"NAXIS{k}"]) for k in (4, 3, 2, 1))

    # ---- data access ------------------------------------------------------------------------
    def _check_j_out(self, j_out) -> None:
        n_out = self.shape[0]
        if j_out is not None and not (isinstance(j_out, (int, np.integer)) and 0 <= j_out < n_out):
            raise PyIMCOMRangeError(
                f"j_out must be an integer in [0, {n_out}) or None for {self.path}; got {j_out!r}"
            )

    def _layer_index(self, layer) -> int:
        n_layer = self.shape[1]
        if isinstance(layer, str):
            names = self.layer_names
            if layer not in names:
                raise PyIMCOMValueError(f"{self.path} has no layer {layer!r}; layers are {names}")
            index = names.index(layer)
        elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            index = int(layer)
        else:
            raise PyIMCOMValueError(f"layer must be an int or a layer name; got {layer!r}")
        if not 0 <= index < n_layer:
            raise PyIMCOMRangeError(f"layer {layer!r} is outside [0, {n_layer}) in {self.path}")
        return index

    def get_coadded_layer(self, layer=0, j_out=0) -> np.ndarray:
        """Return one coadded layer.

        Parameters
        ----------
        layer : int or str
            Layer index (0 = science) or name (``'SCI'`` or an exact ``EXTRAINPUT`` string; the first
            match is used). Default: 0.
        j_out : int or None
            Output PSF index; None returns all of them. Default: 0.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(NsideP, NsideP)`` (``(n_out, NsideP, NsideP)`` when ``j_out`` is None),
            indexed ``[y, x]``.

        Raises
        ------
        PyIMCOMValueError
            If the layer name is unknown (the message lists the layers of the file).
        PyIMCOMRangeError
            If the layer index or ``j_out`` is out of range.
        InputFileError
            If the file is unreadable.
        """
        self._check_j_out(j_out)
        index = self._layer_index(layer)
        with open_fits(self.path, what="block output file") as hdul:
            cube = hdul[0].data
            data = cube[:, index] if j_out is None else cube[j_out, index]
            return np.array(data, dtype=np.float32)

    def get_output_map(self, name, j_out=0) -> np.ndarray:
        """Return one ancillary map decoded to linear values.

        Parameters
        ----------
        name : str
            Map EXTNAME (``FIDELITY``, ``SIGMA``, ``KAPPA``, ``INWTSUM``, ``EFFCOVER``) or
            ``OUTMAPS`` letter (``U``, ``S``, ``K``, ``T``, ``N``).
        j_out : int or None
            Output PSF index; None returns all of them. Default: 0.

        Returns
        -------
        numpy.ndarray
            float64, shape ``(NsideP, NsideP)`` (or ``(n_out, NsideP, NsideP)``): U/C, Σ, κ, ΣT or
            n_eff; exactly 0 where the stored value is the saturation code.

        Raises
        ------
        PyIMCOMValueError
            If ``name`` is not a map name or its UNIT cannot be parsed.
        InputFileError
            If the file has no such map HDU (the message names the file and the HDUs present).
        PyIMCOMRangeError
            If ``j_out`` is out of range.
        """
        extname = map_spec(name).extname
        self._require(extname)
        self._check_j_out(j_out)
        header = self._headers[extname]
        with open_fits(self.path, what="block output file") as hdul:
            q = np.array(hdul[extname].data)
        if "UNIT" not in header:
            raise InputFileError(f"the {extname} HDU of {self.path} has no UNIT keyword")
        x = decode_log_map(q, header["UNIT"], header.comments["UNIT"])
        return x if j_out is None else x[j_out]

    def indata(self) -> Table:
        """Return the ``INDATA`` table (columns ``obsid``, ``sca``, ``ra``, ``dec``, ``pa`` [deg], ``valid``).

        Raises
        ------
        InputFileError
            If the file has no ``INDATA`` HDU.
        """
        self._require("INDATA")
        # The reference writes TUNIT 'degree', which is not a FITS-standard unit string.
        table = Table.read(self.path, hdu="INDATA", character_as_bytes=False, unit_parse_strict="silent")
        for name in ("ra", "dec", "pa"):
            if name in table.colnames and str(table[name].unit) in ("degree", "deg"):
                table[name].unit = u.deg
        return table

    def inweight(self, j_out=None, flat=False) -> np.ndarray:
        """Return the mean input-image weights per stamp.

        Parameters
        ----------
        j_out : int or None
            Output PSF index; None returns all of them. Default: None.
        flat : bool
            Return the 2-D ``INWTFLAT`` layout ``(n_out*n1P, n_img*n1P)`` instead (``j_out`` must then
            be None). Default: False.

        Returns
        -------
        numpy.ndarray
            float32 ``INWEIGHT``, shape ``(n_out, n_img, n1P, n1P)`` indexed ``[o, k, J, I]``, or
            ``(n_img, n1P, n1P)`` for one ``j_out``; or ``INWTFLAT`` when ``flat``.

        Raises
        ------
        InputFileError
            If the HDU is missing.
        PyIMCOMValueError
            If ``flat`` is combined with a ``j_out``.
        """
        if flat and j_out is not None:
            raise PyIMCOMValueError("inweight(flat=True) returns all output PSFs; pass j_out=None")
        extname = "INWTFLAT" if flat else "INWEIGHT"
        self._require(extname)
        self._check_j_out(j_out)
        with open_fits(self.path, what="block output file") as hdul:
            data = np.array(hdul[extname].data, dtype=np.float32)
        return data if j_out is None else data[j_out]

    def wcs(self) -> WCS:
        """Return the celestial (2-axis) WCS of the block, for 0-based ``(x, y)`` pixel coordinates.

        Raises
        ------
        InputFileError
            If the primary header has no celestial WCS.
        """
        header = self._headers["PRIMARY"].copy()
        w = WCS(header, naxis=2)
        if not w.has_celestial:
            raise InputFileError(f"the primary header of {self.path} has no celestial WCS")
        w = w.celestial
        if header.get("NAXIS", 0) >= 2:
            w.pixel_shape = (int(header["NAXIS1"]), int(header["NAXIS2"]))
        return w
