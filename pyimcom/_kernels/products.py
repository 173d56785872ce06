"""Numba kernel of a stamp's products: the coadded layers and the per-image weight sums (core §4.8).

For one stamp with coaddition matrix ``T`` (float32, as the solvers return it) and the input pixel
values of every layer, ``layers[o, l, a] = sum_i T[o, a, i] values[l, i]`` and
``W[o, a, k] = sum_{i: image[i] = k} T[o, a, i]``, both accumulated in float64.  Reading T in float32
saves converting the whole matrix (n m doubles, ~70 MB per stamp) before the sums.

`column_norms2` gives the squared norms of a solve's columns (``D = |L^-1 b|^2``, ``Sigma = |T|^2``),
accumulated in float64 whatever the input's precision.
"""

import numpy as np
from numba import njit, prange

__all__ = ["stamp_sums", "column_norms2"]


@njit(cache=True, parallel=True, fastmath={"reassoc", "contract", "nsz"})
def stamp_sums(T, values, image, layers, W):
    """Fill ``layers`` and ``W`` (see the module docstring).

    Parameters
    ----------
    T : ndarray, shape (n_out, m, n), float32, C-contiguous
        Coaddition matrix.
    values : ndarray, shape (n_layer, n), float64
        Input pixel values of every layer.
    image : ndarray, shape (n,), int64
        Block image index of every input pixel, ``0 <= image < W.shape[2]`` (not checked).
    layers : ndarray, shape (n_out, n_layer, m), float64
        Output: weighted sums.
    W : ndarray, shape (n_out, m, n_img), float64
        Output: weight sums per image.
    """
    n_out, m, n = T.shape
    n_layer = values.shape[0]
    for o in range(n_out):
        for a in prange(m):
            row = T[o, a]
            for ell in range(n_layer):
                acc = 0.0
                v = values[ell]
                for i in range(n):
                    acc += np.float64(row[i]) * v[i]
                layers[o, ell, a] = acc
            w = W[o, a]
            w[:] = 0.0
            for i in range(n):
                w[image[i]] += np.float64(row[i])


@njit(cache=True, parallel=True, fastmath={"reassoc", "contract", "nsz"})
def column_norms2(X, out):
    """``out[a] = sum_i X[i, a]**2``, accumulated in float64.

    Parameters
    ----------
    X : ndarray, shape (n, m), float32 or float64
        Columns to sum; fastest when Fortran-ordered (each column contiguous), as the triangular solves
        return them.
    out : ndarray, shape (m,), float64
        Output.

    Returns
    -------
    ndarray
        ``out``.

    Notes
    -----
    Parallel over columns: on a stamp's columns (n = 6 244, m = 1 444) 0.9 ms for float32 and 2.0 ms
    for float64, against 8.8 and 3.9 ms for ``np.einsum("ia,ia->a", X, X, dtype=np.float64)``.
    """
    n, m = X.shape
    for a in prange(m):
        acc = 0.0
        for i in range(n):
            v = np.float64(X[i, a])
            acc += v * v
        out[a] = acc
    return out
