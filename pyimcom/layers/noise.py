"""Random-noise input layers: ``whitenoise<q>`` and ``1fnoise<q>``.

Both layers are pure functions of ``(obsid, sca, q)``: the generator is seeded with `noise_seed`, so
a given SCA exposure gets the same realisation in every mosaic, filter and run, and the arrays are
bit-identical to those of the reference PyIMCOM for the Roman geometry (``nside = SCA_NSIDE``).

The returned images follow the package pixel contract (0-based, indexed ``[y, x]``; see
`pyimcom.wcs`).  The values are dimensionless noise realisations: the white noise has unit variance
per native pixel; the 1/f noise has unit variance per natural-log interval of temporal frequency.
"""

from __future__ import annotations

import numpy as np

from ..errors import PyIMCOMValueError
from ..instrument import N_READOUT_CHANNELS, N_SCA, REFPIX_BORDER, SCA_NSIDE

__all__ = ["N_READOUT_CHANNELS", "noise_seed", "white_noise", "one_over_f_noise"]

_SEED_Q_STRIDE = 1_000_000  # seed spacing between (q, sca) pairs; obsid is added to it


def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[minimum, maximum]``."""
    allowed = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PyIMCOMValueError(f"{name} must be an integer {allowed}; got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise PyIMCOMValueError(f"{name} must be an integer {allowed}; got {value!r}")
    return int(value)


def noise_seed(obsid: int, sca: int, q: int) -> int:
    """Return the random seed of noise realisation ``q`` for one SCA exposure.

    The formula is the reference one, ``1000000 * (18 q + sca) + obsid``; it is unique for
    ``sca`` in 1..18 and ``obsid < 1000000``.

    Parameters
    ----------
    obsid : int
        Observation ID (row of the observation table), >= 0.
    sca : int
        SCA number, 1 .. 18.
    q : int
        Realisation index (the ``<q>`` of ``whitenoise<q>`` / ``1fnoise<q>``), >= 0.

    Returns
    -------
    int
        Seed for `numpy.random.default_rng`.

    Raises
    ------
    PyIMCOMValueError
        If an argument is not an integer in its allowed range.

    Examples
    --------
    >>> noise_seed(12, 3, 1)
    21000012
    """
    obsid = _check_int("obsid", obsid, 0)
    sca = _check_int("sca", sca, 1, N_SCA)
    q = _check_int("q", q, 0)
    return _SEED_Q_STRIDE * (N_SCA * q + sca) + obsid


def white_noise(obsid: int, sca: int, q: int, nside: int = SCA_NSIDE) -> np.ndarray:
    """Return the ``whitenoise<q>`` layer: independent N(0, 1) values per pixel.

    The values are drawn as float64 by ``default_rng(noise_seed(obsid, sca, q)).normal(0, 1,
    (nside, nside))`` (row ``y`` outer, ``x`` inner) and rounded to float32, exactly as the reference
    does, so the result is bit-identical to it for ``nside = SCA_NSIDE``.

    Parameters
    ----------
    obsid : int
        Observation ID, >= 0.
    sca : int
        SCA number, 1 .. 18.
    q : int
        Realisation index, >= 0.
    nside : int
        Image side [pixels], > 0. Default: `SCA_NSIDE` (4088).

    Returns
    -------
    numpy.ndarray
        Shape ``(nside, nside)``, dtype float32, indexed ``[y, x]``; dimensionless, mean 0 and
        variance 1 per native pixel.

    Raises
    ------
    PyIMCOMValueError
        If an argument is not an integer in its allowed range.

    Examples
    --------
    >>> img = white_noise(0, 1, 0, nside=8)
    >>> img.shape, img.dtype
    ((8, 8), dtype('float32'))
    """
    seed = noise_seed(obsid, sca, q)
    nside = _check_int("nside", nside, 1)
    rng = np.random.default_rng(seed)
    return rng.normal(loc=0.0, scale=1.0, size=(nside, nside)).astype(np.float32)


def _raw_side(nside) -> int:
    """Validate ``nside`` for the 1/f recipe and return the raw (reference-pixel) frame side."""
    nside = _check_int("nside", nside, 1)
    raw_side = nside + 2 * REFPIX_BORDER
    if raw_side % N_READOUT_CHANNELS:
        raise PyIMCOMValueError(
            f"nside + 2*{REFPIX_BORDER} (raw frame side) must be divisible by {N_READOUT_CHANNELS} "
            f"readout channels for 1/f noise; got nside={nside} (raw side {raw_side})"
        )
    return raw_side


def _one_over_f_amplitude(n_samples: int) -> np.ndarray:
    """Return ``|k|**-0.5`` for the signed FFT frequency index ``k`` of a length ``n_samples`` vector.

    ``k = 0 .. n/2 - 1`` then ``-n/2 .. -1``; the ``k = 0`` element is set to 0.  Float64, shape
    ``(n_samples,)``.
    """
    k_abs = np.arange(n_samples, dtype=np.int64)
    k_abs[n_samples // 2 :] -= n_samples
    amp = np.abs(k_abs).astype(np.float64)
    amp[0] = 1.0
    amp **= -0.5
    amp[0] = 0.0
    return amp


def _one_over_f_channels(seed: int, raw_side: int):
    """Yield the 1/f time stream of each readout channel, in channel order, before any reversal.

    Each item is a float64 array of shape ``(raw_side, raw_side // 32)``: the time stream in
    row-major (read) order, with zero mean.  Only one channel's complex draw is held at a time.
    """
    width = raw_side // N_READOUT_CHANNELS
    n_keep = raw_side * width
    n_samples = 2 * n_keep
    amp = _one_over_f_amplitude(n_samples)
    rng = np.random.default_rng(seed)
    for _ in range(N_READOUT_CHANNELS):
        ftsignal = np.empty(n_samples, dtype=np.complex128)
        ftsignal.real = rng.normal(loc=0.0, scale=1.0, size=n_samples)
        ftsignal.imag = rng.normal(loc=0.0, scale=1.0, size=n_samples)
        ftsignal *= amp
        stream = np.fft.fft(ftsignal).real[:n_keep] / np.sqrt(2.0)
        stream -= np.mean(stream)
        yield stream.reshape(raw_side, width)


def _one_over_f_frame(seed: int, raw_side: int, reverse_odd: bool = True) -> np.ndarray:
    """Assemble the uncropped 1/f frame, float32 of shape ``(raw_side, raw_side)``.

    With ``reverse_odd`` (the reference behaviour) the columns of odd channels are reversed.
    """
    width = raw_side // N_READOUT_CHANNELS
    frame = np.empty((raw_side, raw_side), dtype=np.float32)
    for ich, block in enumerate(_one_over_f_channels(seed, raw_side)):
        if reverse_odd and ich % 2 == 1:
            block = block[:, ::-1]
        frame[:, ich * width : (ich + 1) * width] = block
    return frame


def one_over_f_noise(obsid: int, sca: int, q: int, nside: int = SCA_NSIDE) -> np.ndarray:
    """Return the ``1fnoise<q>`` layer: 1/f noise, independent in each readout channel.

    Recipe (reference PyIMCOM, generalised to any side).  The raw frame of side
    ``R = nside + 2 * REFPIX_BORDER`` (4096 for Roman) is read in 32 channels of ``W = R / 32``
    columns (128 for Roman).  With ``rng = default_rng(noise_seed(obsid, sca, q))`` and
    ``N = 2 R W``, for each channel in order:

    1. draw ``N`` float64 standard normals (real parts), then ``N`` more (imaginary parts);
    2. multiply element ``k`` by ``|k|**-0.5``, where ``k`` is the signed integer frequency index
       (``0 .. N/2 - 1``, then ``-N/2 .. -1``), with element 0 set to 0;
    3. take the forward FFT (`numpy.fft.fft`), keep the real part of the first ``N/2`` samples,
       divide by ``sqrt(2)`` and subtract their mean;
    4. reshape row-major to ``(R, W)`` (read time runs along ``x``, then to the next row) and place
       it in columns ``W c .. W c + W - 1``, with the columns reversed for odd ``c`` (alternating
       read direction).

    The frame is rounded to float32 and the reference-pixel border of ``REFPIX_BORDER`` pixels is
    cropped on each side.  The reference computes the amplitudes as ``(1e-99 + |N f|)**-0.5`` with
    ``f`` from `numpy.linspace`; here ``|k|`` is taken as an exact integer, which gives the same
    float64 amplitudes whenever ``N`` is a power of two (Roman: ``N = 2**20``), so the result is
    bit-identical to the reference for ``nside = SCA_NSIDE``.

    Parameters
    ----------
    obsid : int
        Observation ID, >= 0.
    sca : int
        SCA number, 1 .. 18.
    q : int
        Realisation index, >= 0.
    nside : int
        Image side without reference pixels [pixels], > 0, with ``nside + 2 * REFPIX_BORDER``
        divisible by 32. Default: `SCA_NSIDE` (4088).

    Returns
    -------
    numpy.ndarray
        Shape ``(nside, nside)``, dtype float32, indexed ``[y, x]``; dimensionless, unit variance
        per natural-log interval of temporal frequency (per-pixel variance about 13 for Roman).

    Raises
    ------
    PyIMCOMValueError
        If an argument is not an integer in its allowed range, or the raw side is not divisible
        by 32.

    Notes
    -----
    Peak memory is the float32 raw frame plus one channel's complex draw (16 MiB for Roman).

    Examples
    --------
    >>> img = one_over_f_noise(0, 1, 0, nside=56)
    >>> img.shape, img.dtype
    ((56, 56), dtype('float32'))
    """
    seed = noise_seed(obsid, sca, q)
    raw_side = _raw_side(nside)
    frame = _one_over_f_frame(seed, raw_side)
    border = REFPIX_BORDER
    return np.ascontiguousarray(frame[border : raw_side - border, border : raw_side - border])
