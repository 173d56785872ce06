"""Atomic writes of text files: a temporary name in the destination directory, then `os.replace`."""

from __future__ import annotations

import contextlib
import os

__all__ = ["atomic_write_text"]


def atomic_write_text(text: str, path: str | os.PathLike) -> str:
    """Write ``text`` to ``path`` atomically, creating parent directories.

    The text goes to ``.{name}.{pid}.tmp`` in the destination directory, which is then renamed onto
    ``path``; on any error the temporary file is removed and ``path`` is left untouched.

    Parameters
    ----------
    text : str
        Content (UTF-8).
    path : str or os.PathLike
        Destination file.

    Returns
    -------
    str
        The destination path.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "sub", "a.txt")
    >>> atomic_write_text("hi", p) == p and open(p).read() == "hi"
    True
    """
    path = os.fspath(path)
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path
