"""Small helpers of the diagnostic report: atomic output files and TeX-free matplotlib figures.

Every file the report writes goes to a temporary name in its destination directory and is renamed
into place when complete (`atomic_path`), so an interrupted run never leaves a truncated file that
looks finished.  Figures are built with the object-oriented matplotlib API (`new_figure`), which
needs neither pyplot nor a change of the global backend, and never use TeX for text.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..errors import PyIMCOMError

__all__ = ["atomic_path", "save_figure", "new_figure", "savetxt_atomic", "NO_TEX_RC"]

#: matplotlib settings used for every report figure: mathtext, never an external TeX.
NO_TEX_RC = {"text.usetex": False, "font.size": 10}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    The temporary name keeps the extension of ``path`` (``.name.<pid>.tmp.png``), so writers that
    choose a format from the extension (matplotlib, astropy) still work.  On any error the temporary
    file is removed and ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its parent directory is created if missing.

    Yields
    ------
    str
        The temporary path to write.

    Raises
    ------
    PyIMCOMError
        If the rename fails (the message names ``path``).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with atomic_path(p) as tmp:
    ...     _ = open(tmp, "w").write("x")
    >>> open(p).read()
    'x'
    """
    path = os.fspath(path)
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(path)
    ext = os.path.splitext(base)[1]
    tmp = os.path.join(parent, f".{base}.{os.getpid()}.tmp{ext}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise PyIMCOMError(f"cannot write {path}: {exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def new_figure(width_in: float, height_in: float) -> Figure:
    """Return a matplotlib `~matplotlib.figure.Figure` of the given size, independent of pyplot.

    Parameters
    ----------
    width_in, height_in : float
        Figure size [inch].

    Returns
    -------
    matplotlib.figure.Figure
    """
    with matplotlib.rc_context(NO_TEX_RC):
        return Figure(figsize=(width_in, height_in))


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> str:
    """Save a figure atomically (format from the extension of ``path``) without TeX.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        Destination, e.g. ``.../stem_mosaic.png``.
    dpi : int
        Resolution of raster output [dots per inch]. Default: 120.

    Returns
    -------
    str
        The destination path.
    """
    with matplotlib.rc_context(NO_TEX_RC), atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return os.fspath(path)


def savetxt_atomic(
    path: str | os.PathLike, array, fmt="%.18e", header: str = "", comments: str = "# "
) -> str:
    """`numpy.savetxt` to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination text file.
    array : array_like
        1-D or 2-D data.
    fmt : str or sequence of str
        Format (see `numpy.savetxt`). Default: ``'%.18e'``.
    header : str
        Header line(s) without the comment prefix. Default: none.
    comments : str
        Comment prefix of the header. Default: ``'# '``.

    Returns
    -------
    str
        The destination path.
    """
    with atomic_path(path) as tmp:
        np.savetxt(tmp, array, fmt=fmt, header=header, comments=comments)
    return os.fspath(path)
