"""The ``CONFIG`` HDU of a block output file: the configuration JSON stored one line per table row.

Layout (compatible with the reference PyIMCOM, core spec §5): an ASCII table extension named
``CONFIG`` with a single column ``text`` of format ``A512``; row ``k`` holds line ``k`` of the
4-space-indented JSON text written by `pyimcom.config.Config.to_file`.  FITS strips trailing blanks
from the rows, which JSON does not mind.

The reference silently truncates lines longer than 512 characters (e.g. very long paths), which
corrupts the stored configuration; `config_table_hdu` refuses such lines instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

import numpy as np
from astropy.io import fits

from ..errors import InputFileError, PyIMCOMValueError
from .fitsutil import open_fits

__all__ = ["CONFIG_EXTNAME", "CONFIG_LINE_WIDTH", "config_table_hdu", "read_config_text"]

logger = logging.getLogger(__name__)

CONFIG_EXTNAME = "CONFIG"  # name of the configuration table extension
CONFIG_LINE_WIDTH = 512  # width of the ``text`` column [characters]


def _iter_cards(extra_cards) -> Iterable[tuple]:
    """Yield ``(keyword, value[, comment])`` tuples from a Header, a mapping or an iterable of tuples."""
    if extra_cards is None:
        return ()
    if isinstance(extra_cards, fits.Header):
        return [(card.keyword, card.value, card.comment) for card in extra_cards.cards]
    if isinstance(extra_cards, Mapping):
        return list(extra_cards.items())
    return [tuple(card) for card in extra_cards]


def config_table_hdu(json_text: str, extra_cards=None) -> fits.TableHDU:
    """Build the ``CONFIG`` ASCII-table HDU holding a configuration JSON text.

    Parameters
    ----------
    json_text : str
        The configuration JSON (normally ``Config.to_file(None)``); split into rows at newlines.
        Every line must be ASCII and at most 512 characters long.
    extra_cards : astropy.io.fits.Header, mapping or iterable of tuples, optional
        Header keywords to add, e.g. ``[("FILTER", "H158", "filter name"), ("BLOCKX", 0)]`` or
        ``{"BLOCKX": 0}``.  Tuples are ``(keyword, value)`` or ``(keyword, value, comment)``.
        Default: None (no extra keywords).

    Returns
    -------
    astropy.io.fits.TableHDU
        ASCII table HDU with ``EXTNAME = 'CONFIG'``, one column ``text`` (``A512``), one row per
        line of ``json_text``.

    Raises
    ------
    PyIMCOMValueError
        If ``json_text`` is not a string, or a line is longer than 512 characters or contains
        non-ASCII characters (the message names the 1-based line number and its length).

    Examples
    --------
    >>> hdu = config_table_hdu('{\\n    "OUT": "demo"\\n}', [("BLOCKX", 0)])
    >>> hdu.name, len(hdu.data), hdu.header["BLOCKX"]
    ('CONFIG', 3, 0)
    """
    if not isinstance(json_text, str):
        raise PyIMCOMValueError(
            f"config_table_hdu expects the JSON text as a str; got {type(json_text).__name__}"
        )
    lines = json_text.split("\n")
    for number, line in enumerate(lines, start=1):
        if len(line) > CONFIG_LINE_WIDTH:
            raise PyIMCOMValueError(
                f"configuration line {number} is {len(line)} characters long; the CONFIG HDU allows at "
                f"most {CONFIG_LINE_WIDTH} characters per line (shorten the path or value on that line): "
                f"{line[:60]!r}..."
            )
        if not line.isascii():
            raise PyIMCOMValueError(
                f"configuration line {number} contains non-ASCII characters, which a FITS ASCII table "
                f"cannot store: {line!r}"
            )
    column = fits.Column(name="text", format=f"A{CONFIG_LINE_WIDTH}", array=np.array(lines, dtype=str))
    hdu = fits.TableHDU.from_columns([column], name=CONFIG_EXTNAME)
    for card in _iter_cards(extra_cards):
        hdu.header.set(*card)
    return hdu


def read_config_text(path: str | os.PathLike) -> str:
    """Read the configuration JSON text stored in the ``CONFIG`` HDU of a block output file.

    Parameters
    ----------
    path : str or os.PathLike
        Block output FITS file (written by this package or by the reference PyIMCOM).

    Returns
    -------
    str
        The rows of column ``text`` with trailing blanks stripped, joined with ``"\\n"``.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, has no ``CONFIG`` HDU, or that HDU has no ``text``
        column; the message names the path.

    Examples
    --------
    >>> import os, tempfile
    >>> from astropy.io import fits
    >>> p = os.path.join(tempfile.mkdtemp(), "b.fits")
    >>> fits.HDUList([fits.PrimaryHDU(), config_table_hdu('{"OUT": "x"}')]).writeto(p)
    >>> read_config_text(p)
    '{"OUT": "x"}'
    """
    path = os.fspath(path)
    with open_fits(path, what="block output file") as hdul:
        if CONFIG_EXTNAME not in hdul:
            names = [hdu.name for hdu in hdul]
            raise InputFileError(f"{path} has no {CONFIG_EXTNAME} HDU (HDUs present: {names})")
        data = hdul[CONFIG_EXTNAME].data
        if data is None or "text" not in (getattr(data, "names", None) or ()):
            raise InputFileError(f"the {CONFIG_EXTNAME} HDU of {path} has no 'text' column")
        rows = [str(row).rstrip() for row in data["text"]]
    logger.debug("read %d configuration lines from %s", len(rows), path)
    return "\n".join(rows)
