"""Numba kernels that narrow a float64 matrix (or its lower triangle) to float32 in its own memory.

A Fortran-ordered ``(n, n)`` float64 matrix occupies ``8 n^2`` bytes; its float32 copy fits in the first
``4 n^2`` of them.  Element ``e = j n + i`` (column-major) of the float32 copy overwrites bytes of the
float64 element ``e // 2``, which precedes ``e``.  So the elements are copied in ranges
``[1, 2), [2, 4), [4, 8), ...``: a range's writes only reach float64 elements of the range before it,
which have been read, and within a range no write reaches an element it reads -- each range is copied
in parallel, and no second buffer of ``4 n^2`` bytes is needed.
"""

import numpy as np
from numba import njit, prange

__all__ = ["narrow_columns", "narrow_lower"]


@njit(cache=True, parallel=True)
def _narrow(src, dst, n, ncols, lower):
    """Copy columns ``[0, ncols)`` of the column-major ``(n, .)`` ``src`` (only rows >= the column if
    ``lower``) to ``dst`` at the same element indices, in doubling ranges (see the module)."""
    total = n * ncols
    if total == 0:
        return
    dst[0] = src[0]
    lo = 1
    while lo < total:
        hi = min(2 * lo, total)
        j0, j1 = lo // n, (hi - 1) // n  # the columns the range [lo, hi) touches
        for j in prange(j0, j1 + 1):
            base = j * n
            start = max(lo, base + j) if lower else max(lo, base)
            stop = min(hi, base + n)
            for e in range(start, stop):
                dst[e] = src[e]
        lo = hi


def narrow_columns(M, ncols):
    """The first ``ncols`` columns of the float64 ``M`` as a float32 array in M's own memory.

    Parameters
    ----------
    M : ndarray, shape (n, c), float64, Fortran-contiguous
        Matrix (destroyed).
    ncols : int
        Columns kept, ``0 <= ncols <= c``.

    Returns
    -------
    ndarray, shape (n, ncols), float32, Fortran order
        A view of M's first ``4 n ncols`` bytes.

    Examples
    --------
    >>> M = np.asfortranarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> narrow_columns(M, 2).tolist()
    [[1.0, 2.0], [4.0, 5.0]]
    """
    if M.ndim != 2 or M.dtype.char != "d" or not M.flags.f_contiguous or not 0 <= ncols <= M.shape[1]:
        raise ValueError(
            f"need a Fortran-contiguous float64 matrix of >= {ncols} columns; got {M.dtype} {M.shape}"
        )
    n = M.shape[0]
    src = M.reshape(-1, order="F")
    dst = src.view(np.float32)
    _narrow(src, dst, n, ncols, False)
    return dst[: n * ncols].reshape((n, ncols), order="F")


def narrow_lower(L):
    """The lower triangle of the float64 ``L`` as a float32 matrix in L's own memory (L is destroyed).

    Parameters
    ----------
    L : ndarray, shape (n, n), float64, Fortran-contiguous
        Matrix whose lower triangle (diagonal included) is kept.

    Returns
    -------
    ndarray, shape (n, n), float32, Fortran order
        A view of L's memory: lower triangle = ``L``'s rounded to float32; strict upper triangle
        undefined.

    Raises
    ------
    ValueError
        If L is not a square, Fortran-contiguous float64 array.

    Examples
    --------
    >>> L = np.asfortranarray([[2.0, 9.0], [1.0 / 3.0, 4.0]])
    >>> L32 = narrow_lower(L)
    >>> L32.dtype, float(L32[1, 0]) == float(np.float32(1.0 / 3.0)), float(L32[1, 1])
    (dtype('float32'), True, 4.0)
    """
    if L.ndim != 2 or L.shape[0] != L.shape[1] or L.dtype.char != "d" or not L.flags.f_contiguous:
        raise ValueError(f"need a square Fortran-contiguous float64 matrix; got {L.dtype} {L.shape}")
    n = L.shape[0]
    src = L.reshape(-1, order="F")  # a view (Fortran-contiguous)
    dst = src.view(np.float32)  # the same bytes as 2 n^2 float32 values
    _narrow(src, dst, n, n, True)
    return dst[: n * n].reshape((n, n), order="F")
