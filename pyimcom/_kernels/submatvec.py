"""Numba kernel: a block of a symmetric matrix, read from a cached sub-matrix, times a few vectors.

A stamp's system matrix A is made of selections of cached sub-matrices (core §3.9, §4.4;
`pyimcom._kernels.assemble`).  The mixed-precision solver refines its float32 solutions with residuals
``v - (A + kappa) z`` in float64; this kernel forms ``A z`` block by block straight from the float64
sub-matrices, so A is never assembled in float64.  Each off-diagonal block is read once and applied
both as itself and as its mirror image.
"""

import numpy as np
from numba import njit, prange

__all__ = ["block_matvec"]


@njit(cache=True, parallel=True, fastmath={"reassoc", "contract", "nsz"})
def block_matvec(sub, rows, cols, Z, out, r0, c0, mirror, n_chunks):
    """Add ``S Z`` (and, with ``mirror``, ``S^T Z``) into ``out``, with ``S[p, q] = sub[rows[p], cols[q]]``.

    ``out[:, r0 + p] += sum_q S[p, q] Z[:, c0 + q]``;
    mirror: ``out[:, c0 + q] += sum_p S[p, q] Z[:, r0 + p]``.

    Parameters
    ----------
    sub : ndarray, shape (ns0, ns1), float64, C-contiguous
        Cached sub-matrix.
    rows, cols : ndarray of int64, shapes (np,) and (nq,)
        Selected rows and columns of ``sub`` (``0 <= rows < ns0``, ``0 <= cols < ns1``; not checked).
    Z : ndarray, shape (k, n), float64, C-contiguous
        The vectors, one per row.
    out : ndarray, shape (k, n), float64, C-contiguous
        Accumulator: the products are added to columns ``r0 .. r0 + np`` and, with ``mirror``,
        ``c0 .. c0 + nq``.
    r0, c0 : int
        Offsets of the block's rows and columns in the full matrix.
    mirror : bool
        Also apply the transposed block (the symmetric counterpart below the diagonal).
    n_chunks : int
        Work items (chunks of rows), >= 1; a few per thread balance the load.

    Notes
    -----
    Each selected row of the sub-matrix is gathered into a contiguous buffer once, then used for k
    dot products and (mirror) k updates of contiguous length ``nq``, which vectorise.  The mirrored
    products go to one private accumulator per chunk, summed afterwards: the kernel is race-free
    whenever the row range ``r0 .. r0 + np`` and the column range do not overlap with ``mirror``.
    """
    n_p = rows.shape[0]
    n_q = cols.shape[0]
    k = Z.shape[0]
    n_chunks = max(1, min(n_chunks, n_p))
    private = np.zeros((n_chunks if mirror else 0, k, n_q))
    for c in prange(n_chunks):
        p_lo = c * n_p // n_chunks
        p_hi = (c + 1) * n_p // n_chunks
        srow = np.empty(n_q)
        for p in range(p_lo, p_hi):
            src = sub[np.uint64(rows[p])]
            for q in range(n_q):
                srow[q] = src[np.uint64(cols[q])]
            for j in range(k):
                zj = Z[j, c0 : c0 + n_q]
                acc = 0.0
                for q in range(n_q):
                    acc += srow[q] * zj[q]
                out[j, r0 + p] += acc
            if mirror:
                for j in range(k):
                    zp = Z[j, r0 + p]
                    mj = private[c, j]
                    for q in range(n_q):
                        mj[q] += srow[q] * zp
    if mirror:
        for c in range(n_chunks):
            for j in range(k):
                out[j, c0 : c0 + n_q] += private[c, j]
