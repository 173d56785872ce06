"""PSF overlap (cross-correlation) arrays computed with FFTs.

Conventions
-----------
A sampled PSF ``S`` is an ``nsamp x nsamp`` float64 array indexed ``[q_y + nc, q_x + nc]`` with
``nc = nsamp // 2``; one sample is ``s_in / ov`` on the sky.  The overlap of PSFs ``a`` and ``b`` is

    ``O_ab[s] = sum_q S_a[q + s] * S_b[q]``,  lag ``s = (s_x, s_y)`` in ``[-nc, nc]^2`` [samples],

stored as a ``(2 nc + 1, 2 nc + 1)`` array indexed ``[s_y + nc, s_x + nc]``.  Swapping the PSFs flips
both axes: ``O_ba[s] = O_ab[-s]``.

Self-overlaps of ``n`` PSFs are packed over the pairs ``a <= b`` in upper-triangle order,
``index(a, b) = a (2 n - a + 1) / 2 + (b - a)``; `pair_index` and `overlap_lookup` hide the packing.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .._kernels.spectra import conj_product
from ..errors import PyIMCOMRangeError, PyIMCOMValueError

__all__ = ["psf_ffts", "cross_overlap", "self_overlaps", "pair_index", "overlap_lookup"]

_PAIR_CHUNK = 16  # self-overlap pairs transformed per batch (bounds temporary memory)


def psf_ffts(samples, nfft, amppen=(0.0, 0.0), ov=8):
    """Zero-padded 2D real FFTs of sampled PSFs.

    Each ``nsamp x nsamp`` array is placed at indices ``0 .. nsamp-1`` of an ``nfft x nfft`` zero
    array and transformed with ``numpy.fft.rfft2``.  With AMPPEN ``(a, w)``, both non-zero, every
    transform is multiplied by ``1 + a * exp(-2 pi^2 |f|^2 (w ov)^2)``, ``f`` in cycles per sample.

    Parameters
    ----------
    samples : ndarray of float64, shape (..., nsamp, nsamp)
        Sampled PSFs, indexed ``[..., q_y + nc, q_x + nc]`` [per sample area].
    nfft : int
        FFT size [samples]; must be ``>= 2 nsamp - 1`` so that no lag wraps around (the reference
        uses ``2 NPIXPSF ov``).
    amppen : tuple of 2 float
        AMPPEN ``(a, w)``: amplitude [dimensionless] and width [native pixels]. Default: (0.0, 0.0),
        i.e. off.
    ov : int or float
        Oversampling factor (samples per native pixel), used to convert ``w``. Default: 8.

    Returns
    -------
    ndarray of complex128, shape (..., nfft, nfft // 2 + 1)
        Transforms, frequency axes ``[f_y, f_x]`` as in ``numpy.fft.rfft2``.

    Raises
    ------
    PyIMCOMValueError
        If the sample arrays are not square 2D arrays or ``nfft`` is too small.

    Examples
    --------
    >>> psf_ffts(np.ones((2, 3, 3)), 6).shape
    (2, 6, 4)
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim < 2 or samples.shape[-1] != samples.shape[-2]:
        raise PyIMCOMValueError(f"samples must have shape (..., nsamp, nsamp); got shape {samples.shape}")
    nsamp = samples.shape[-1]
    min_fft = (3 * nsamp - 1) // 2  # lags up to +-(nsamp-1)/2 never alias (see cross_overlap)
    if not (isinstance(nfft, (int, np.integer)) and nfft >= min_fft):
        raise PyIMCOMValueError(
            f"nfft must be an integer >= (3 nsamp - 1) / 2 = {min_fft} (nsamp = {nsamp}); got {nfft!r}"
        )
    ffts = scipy.fft.rfft2(samples, s=(nfft, nfft), axes=(-2, -1))
    amp, width_native = (float(v) for v in amppen)
    if amp != 0.0 and width_native != 0.0:
        fy = np.fft.fftfreq(nfft)[:, None]
        fx = np.fft.rfftfreq(nfft)[None, :]
        ffts *= 1.0 + amp * np.exp(-2.0 * np.pi**2 * (fx**2 + fy**2) * (width_native * ov) ** 2)
    return ffts


def cross_overlap(fa, fb, nc, pad=0, out=None, work=None):
    """Overlap array ``O_ab[s] = sum_q S_a[q + s] S_b[q]`` from two PSF transforms.

    Computed as the inverse real FFT of ``F_a * conj(F_b)``, circularly shifted by ``nc`` and
    cropped.  The correlation of two ``(2 nc + 1)``-sample arrays is non-zero for lags up to ``2 nc``,
    and a kept lag ``s`` (``|s| <= nc``) aliases with ``s +- nfft``, so any ``nfft >= 3 nc + 1`` gives
    the exact overlaps (the reference uses ``2 NPIXPSF ov``, about ``4 nc``).  Leading axes
    broadcast, so ``cross_overlap(f1[:, None], f2[None, :], nc)`` gives all ``n1 x n2``
    cross-overlaps of two sets.

    Parameters
    ----------
    fa, fb : ndarray of complex128, shape (..., nfft, nfft // 2 + 1)
        Transforms from `psf_ffts` (same ``nfft``; leading axes broadcastable).
    nc : int
        Largest lag kept on each axis [samples]; ``2 nc + 1 <= nfft``.
    pad : int, optional
        Zeros added on every side of the two lag axes (as the interpolation needs). Default: 0.
    out : ndarray of float64, optional
        Array of the result's shape to write into (e.g. a slice of a larger array), instead of a
        new one.  Default: None.
    work : ndarray of complex128, optional
        With ``fa`` of shape ``(nfft, nfft // 2 + 1)`` and ``fb`` a stack ``(k, nfft, nfft // 2 + 1)``:
        a C-contiguous array of ``fb``'s shape for the cross-spectrum and its first inverse transform
        (overwritten), instead of a temporary.  Default: None.

    Returns
    -------
    ndarray of float64, shape (..., 2 nc + 1 + 2 pad, 2 nc + 1 + 2 pad)
        Overlap indexed ``[..., s_y + nc + pad, s_x + nc + pad]`` [sample area x PSF units squared].

    Raises
    ------
    PyIMCOMValueError
        If the transforms have different ``nfft`` or ``nc`` is out of range.

    Examples
    --------
    >>> f = psf_ffts(np.eye(3), 6)
    >>> round(float(cross_overlap(f, f, 1)[1, 1]), 12)
    3.0
    """
    fa = np.asarray(fa)
    fb = np.asarray(fb)
    nfft = _check_pair(fa, fb)
    if not (isinstance(nc, (int, np.integer)) and 0 <= nc and 2 * nc + 1 <= nfft):
        raise PyIMCOMValueError(f"nc must satisfy 0 <= nc and 2 nc + 1 <= nfft = {nfft}; got nc = {nc}")
    if not (isinstance(pad, (int, np.integer)) and pad >= 0):
        raise PyIMCOMValueError(f"pad must be an integer >= 0; got {pad!r}")
    size = 2 * nc + 1
    shape = np.broadcast_shapes(fa.shape, fb.shape)[:-2] + (size + 2 * pad, size + 2 * pad)
    if out is None:
        out = np.zeros(shape)
    elif out.shape != shape or out.dtype != np.float64:
        raise PyIMCOMValueError(f"out must be a float64 array of shape {shape}; got {out.dtype} {out.shape}")
    elif pad:  # only the border needs zeros: the core is overwritten below
        for edge in (np.s_[..., :pad, :], np.s_[..., -pad:, :], np.s_[..., :, :pad], np.s_[..., :, -pad:]):
            out[edge] = 0.0
    core = out[..., pad : pad + size, pad : pad + size]
    # The inverse 2-D transform, pruned: first the complex inverse along the full frequency axis
    # (y), then the half-spectrum inverse along x only for the 2 nc + 1 kept rows -- a third less
    # work in the second pass, and (with scipy's 1-D transforms) about half the time of irfft2.
    if fa.ndim == 2 and fb.ndim == 3:  # one PSF against a stack: the engine's case, in one pass
        spectrum = conj_product(fa, fb, out=work)
    elif work is not None:
        raise PyIMCOMValueError("work is only for one transform against a stack (fa 2-D, fb 3-D)")
    else:
        spectrum = np.conjugate(np.broadcast_to(fb, np.broadcast_shapes(fa.shape, fb.shape)))
        spectrum *= fa
    rows = scipy.fft.ifft(spectrum, axis=-2, overwrite_x=True)
    # lags -nc .. -1 sit at the end of the circular correlation, lags 0 .. nc at its start
    for dst_y, src_y in ((slice(0, nc), slice(nfft - nc, nfft)), (slice(nc, size), slice(0, nc + 1))):
        corr = scipy.fft.irfft(rows[..., src_y, :], n=nfft, axis=-1)
        core[..., dst_y, :nc] = corr[..., nfft - nc :]
        core[..., dst_y, nc:] = corr[..., : nc + 1]
    return out


def _check_pair(fa, fb):
    """Check that two transform arrays share their frequency axes; return ``nfft``."""
    if fa.ndim < 2 or fa.shape[-2:] != fb.shape[-2:] or fa.shape[-1] != fa.shape[-2] // 2 + 1:
        raise PyIMCOMValueError(
            "PSF transforms must both have shape (..., nfft, nfft // 2 + 1) with the same nfft;"
            f" got {fa.shape} and {fb.shape}"
        )
    return fa.shape[-2]


def self_overlaps(ffts, nc):
    """All overlaps ``O_ab`` with ``a <= b`` of one set of PSFs, packed in upper-triangle order.

    Parameters
    ----------
    ffts : ndarray of complex128, shape (n, nfft, nfft // 2 + 1)
        Transforms of ``n`` PSFs from `psf_ffts`.
    nc : int
        Largest lag kept on each axis [samples].

    Returns
    -------
    ndarray of float64, shape (n (n + 1) / 2, 2 nc + 1, 2 nc + 1)
        Entry ``pair_index(a, b, n)[0]`` holds ``O_ab`` indexed ``[s_y + nc, s_x + nc]``.

    Raises
    ------
    PyIMCOMValueError
        If ``ffts`` is not 3-dimensional or ``nc`` is out of range.

    Examples
    --------
    >>> f = psf_ffts(np.ones((3, 5, 5)), 10)
    >>> self_overlaps(f, 2).shape
    (6, 5, 5)
    """
    ffts = np.asarray(ffts)
    if ffts.ndim != 3:
        raise PyIMCOMValueError(f"ffts must have shape (n, nfft, nfft // 2 + 1); got shape {ffts.shape}")
    ia, ib = np.triu_indices(ffts.shape[0])
    out = np.empty((ia.size, 2 * nc + 1, 2 * nc + 1))
    for start in range(0, ia.size, _PAIR_CHUNK):
        sel = slice(start, start + _PAIR_CHUNK)
        out[sel] = cross_overlap(ffts[ia[sel]], ffts[ib[sel]], nc)
    return out


def pair_index(a, b, n):
    """Packed index of the pair ``(a, b)`` among the ``n (n + 1) / 2`` self-overlaps.

    Parameters
    ----------
    a, b : int
        PSF indices, ``0 <= a, b < n``.
    n : int
        Number of PSFs in the set.

    Returns
    -------
    index : int
        ``a (2 n - a + 1) / 2 + (b - a)`` for ``a <= b``, or the index of ``(b, a)`` for ``a > b``.
    flip : bool
        True when ``a > b``: the stored array is ``O_ba`` and both axes must be reversed to get
        ``O_ab``.

    Raises
    ------
    PyIMCOMRangeError
        If ``a`` or ``b`` is outside ``0 .. n-1``.

    Examples
    --------
    >>> pair_index(1, 2, 4), pair_index(2, 1, 4)
    ((5, False), (5, True))
    """
    if not (0 <= a < n and 0 <= b < n):
        raise PyIMCOMRangeError(f"PSF indices must lie in 0 .. {n - 1} (n = {n}); got a = {a}, b = {b}")
    flip = a > b
    if flip:
        a, b = b, a
    return a * (2 * n - a + 1) // 2 + (b - a), bool(flip)


def overlap_lookup(overlaps, a, b, n):
    """Overlap ``O_ab`` of any ordered pair from packed self-overlaps, using ``O_ba[s] = O_ab[-s]``.

    Parameters
    ----------
    overlaps : ndarray of float64, shape (n (n + 1) / 2, 2 nc + 1, 2 nc + 1)
        Output of `self_overlaps`.
    a, b : int
        PSF indices, ``0 <= a, b < n``.
    n : int
        Number of PSFs in the set.

    Returns
    -------
    ndarray of float64, shape (2 nc + 1, 2 nc + 1)
        ``O_ab`` indexed ``[s_y + nc, s_x + nc]``; a view into ``overlaps`` (do not modify).

    Raises
    ------
    PyIMCOMRangeError
        If ``a`` or ``b`` is outside ``0 .. n-1``.
    PyIMCOMValueError
        If ``overlaps`` does not hold ``n (n + 1) / 2`` arrays.

    Examples
    --------
    >>> ov = self_overlaps(psf_ffts(np.eye(3)[None], 6), 1)
    >>> round(float(overlap_lookup(ov, 0, 0, 1)[1, 1]), 12)
    3.0
    """
    if len(overlaps) != n * (n + 1) // 2:
        raise PyIMCOMValueError(
            f"overlaps must hold n (n + 1) / 2 = {n * (n + 1) // 2} arrays; got {len(overlaps)}"
        )
    index, flip = pair_index(a, b, n)
    arr = overlaps[index]
    return arr[::-1, ::-1] if flip else arr
