"""Numba kernel for the cross-spectra of the PSF overlaps (`pyimcom.psf.overlap.cross_overlap`).

``fa * conj(fb)`` in numpy takes two passes over the spectra and a temporary; this kernel takes one,
on all threads.  Spectra are the ``(nfft, nfft // 2 + 1)`` complex128 real-FFT arrays of
`pyimcom.psf.overlap.psf_ffts`.
"""

import numpy as np
from numba import njit, prange

__all__ = ["conj_product"]


@njit(cache=True, parallel=True)
def _conj_product(fa, fb, out):
    k, ny, nx = fb.shape
    for t in prange(k * ny):
        l = t // ny  # noqa: E741
        y = t - l * ny
        row_a = fa[y]
        row_b = fb[l, y]
        dst = out[l, y]
        for x in range(nx):
            a = row_a[x]
            b = row_b[x]
            dst[x] = complex(a.real * b.real + a.imag * b.imag, a.imag * b.real - a.real * b.imag)


def conj_product(fa, fb, out=None):
    """``out[l] = fa * conj(fb[l])`` for one spectrum ``fa`` and a stack ``fb``.

    Parameters
    ----------
    fa : ndarray, shape (ny, nx), complex128
    fb : ndarray, shape (k, ny, nx), complex128
    out : ndarray, shape (k, ny, nx), complex128, optional
        Where to write (C-contiguous); a new array by default.

    Returns
    -------
    ndarray, shape (k, ny, nx), complex128

    Examples
    --------
    >>> conj_product(np.array([[1 + 2j]]), np.array([[[3 + 4j]], [[1j]]]))[:, 0, 0].tolist()
    [(11+2j), (2-1j)]
    """
    fa = np.ascontiguousarray(fa, dtype=np.complex128)
    fb = np.ascontiguousarray(fb, dtype=np.complex128)
    if fa.ndim != 2 or fb.ndim != 3 or fb.shape[1:] != fa.shape:
        raise ValueError(f"need fa (ny, nx) and fb (k, ny, nx); got {fa.shape} and {fb.shape}")
    if out is None:
        out = np.empty(fb.shape, dtype=np.complex128)
    elif out.shape != fb.shape or out.dtype != np.complex128 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous complex128 array of shape {fb.shape}")
    _conj_product(fa, fb, out)
    return out
