"""Numba kernel that copies a selection of a cached A sub-matrix into a stamp's system matrix.

A stamp's A is made of the sub-matrices of its 3 x 3 InStamps (rows and columns restricted to the
selected pixels, core §3.9, §4.4).  Each off-diagonal sub-block is written twice, as itself and
mirrored, so the copy works on square tiles small enough for the L1 cache: every tile is read once,
written row-wise into the upper block and column-wise (from the cached tile) into the lower one.
"""

import numpy as np
from numba import njit, prange

__all__ = ["gather_block"]

_TILE = 32  # tile edge [elements]: 32 x 32 float64 = 8 KiB


@njit(cache=True, parallel=True)
def gather_block(sub, rows, cols, transpose, out, r0, c0, mirror):
    """``out[r0 + p, c0 + q] = S[rows[p], cols[q]]`` (and the mirror), with ``S = sub`` or ``sub.T``.

    Parameters
    ----------
    sub : ndarray, shape (ns0, ns1), float64, C-contiguous
        Cached sub-matrix.
    rows, cols : ndarray of int64, shapes (np,) and (nq,)
        Selected rows and columns of ``S`` (indices into ``sub`` axis 0 and 1, or 1 and 0 when
        ``transpose``; not checked).
    transpose : bool
        Read ``S = sub.T``: ``S[r, c] = sub[c, r]``.
    out : ndarray, shape (n, n), float64
        Destination; only the block ``[r0 : r0 + np, c0 : c0 + nq]`` and, with ``mirror``, its
        transposed position ``[c0 : c0 + nq, r0 : r0 + np]`` are written.
    r0, c0 : int
        Block origin in ``out``.
    mirror : bool
        Also write ``out[c0 + q, r0 + p]`` (the symmetric counterpart).

    Notes
    -----
    Parallel over tile rows; each work item writes its own rows of the upper block and its own
    columns of the mirrored block, so the kernel is race-free when the two blocks do not overlap
    (``r0 != c0`` or ``mirror`` False).
    """
    n_p = rows.shape[0]
    n_q = cols.shape[0]
    n_tp = (n_p + _TILE - 1) // _TILE
    for tp in prange(n_tp):
        tile = np.empty((_TILE, _TILE))
        p0 = tp * _TILE
        p1 = min(p0 + _TILE, n_p)
        for q0 in range(0, n_q, _TILE):
            q1 = min(q0 + _TILE, n_q)
            # unsigned indices: numba then emits no negative-index test per access
            if transpose:
                for q in range(q0, q1):
                    src = sub[np.uint64(cols[q])]
                    for p in range(p0, p1):
                        tile[np.uint64(p - p0), np.uint64(q - q0)] = src[np.uint64(rows[p])]
            else:
                for p in range(p0, p1):
                    src = sub[np.uint64(rows[p])]
                    for q in range(q0, q1):
                        tile[np.uint64(p - p0), np.uint64(q - q0)] = src[np.uint64(cols[q])]
            for p in range(p0, p1):
                dst = out[np.uint64(r0 + p)]
                for q in range(q0, q1):
                    dst[np.uint64(c0 + q)] = tile[np.uint64(p - p0), np.uint64(q - q0)]
            if mirror:
                for q in range(q0, q1):
                    dst = out[np.uint64(c0 + q)]
                    for p in range(p0, p1):
                        dst[np.uint64(r0 + p)] = tile[np.uint64(p - p0), np.uint64(q - q0)]
