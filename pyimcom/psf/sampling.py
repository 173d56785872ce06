"""Input and target PSFs sampled on the common grid of a PSF group (core §4.2).

The sampling grid has ``nsamp = 2 nc + 1`` offsets ``q`` per axis, ``q = -nc .. nc``, one step being
``dscale`` output pixels, i.e. one oversampled native pixel (``0.11"/ov``) on the sky.  Arrays are
``[q_y + nc, q_x + nc]``, float64.

*Input PSF* of image k at the group centre ``p`` (block pixels): the oversampled, tophat-convolved PSF
image ``P`` of the SCA at ``M(p)``, where ``M`` maps block pixels to SCA pixels through both WCSs, is
read at ``c + ov [M(p + dscale q) - M(p)]`` with ``c = (N' - 1) / 2`` -- the exact, non-linear mapping,
so rotation, scale and distortion are absorbed into the samples.  ``P`` is zero-padded by 6 samples
before interpolation, so positions near or beyond its edge read zeros.

*Target PSF* (defined in the output frame) is evaluated analytically at the sample offsets (the
reference interpolates it from a grid shifted by half a sample; core §9 Q19: the two agree to the
interpolation error, ~1e-6).
"""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS

from ..interp import interpolate_points
from .target import target_psf

__all__ = ["PSF_PAD", "block_to_sca", "sample_input_psf", "sample_target_psf"]

PSF_PAD = 6  # zero padding of the PSF image before interpolation [oversampled pixels]


def block_to_sca(out_wcs: WCS, in_wcs: WCS, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Map block pixel coordinates to SCA pixel coordinates (both 0-based) through the sky."""
    ra, dec = out_wcs.all_pix2world(np.ravel(x), np.ravel(y), 0)
    xs, ys = in_wcs.all_world2pix(ra, dec, 0, tolerance=1e-10, maxiter=50, quiet=True)
    return np.reshape(xs, np.shape(x)), np.reshape(ys, np.shape(y))


def sample_input_psf(psf_image: np.ndarray, out_wcs: WCS, in_wcs: WCS, center_xy, ov: int, nc: int,
                     dscale: float, kernel: str = "D5512") -> np.ndarray:  # fmt: skip
    """Sample an input PSF image on the group grid through the exact output -> SCA mapping.

    Parameters
    ----------
    psf_image : numpy.ndarray
        float64 ``(N', N')`` tophat-convolved, normalised PSF of the SCA at ``M(center)``, oversampled
        by ``ov``, centred at ``((N'-1)/2, (N'-1)/2)``.
    out_wcs, in_wcs : astropy.wcs.WCS
        Block and SCA WCSs (0-based pixels).
    center_xy : tuple of float
        Group centre ``p`` in block pixels.
    ov : int
        Oversampling factor of ``psf_image``.
    nc : int
        Half-size of the sampling grid [samples]; the grid is ``(2 nc + 1)**2``.
    dscale : float
        Grid step [output pixels per sample].
    kernel : str
        Interpolation kernel, ``"D5512"`` or ``"G4460"``. Default: ``"D5512"``.

    Returns
    -------
    numpy.ndarray
        float64 ``(2 nc + 1, 2 nc + 1)`` indexed ``[q_y + nc, q_x + nc]``.
    """
    px, py = center_xy
    q = np.arange(-nc, nc + 1) * dscale
    qx, qy = np.meshgrid(q, q)
    xs, ys = block_to_sca(out_wcs, in_wcs, np.r_[px, px + qx.ravel()], np.r_[py, py + qy.ravel()])
    c = (psf_image.shape[0] - 1) / 2.0
    u = c + ov * (xs[1:] - xs[0]) + PSF_PAD
    v = c + ov * (ys[1:] - ys[0]) + PSF_PAD
    padded = np.pad(np.asarray(psf_image, dtype=np.float64), PSF_PAD)
    return interpolate_points(padded, u, v, kernel=kernel).reshape(2 * nc + 1, 2 * nc + 1)


def sample_target_psf(
    kind: str, sigma_native: float, ov: int, nc: int, lambda_over_d_native: float
) -> np.ndarray:
    """Target PSF on the sampling grid, float64 ``(2 nc + 1, 2 nc + 1)`` centred at ``[nc, nc]``.

    Parameters
    ----------
    kind : str
        ``"GAUSSIAN"``, ``"AIRYOBSC"`` or ``"AIRYUNOBSC"``.
    sigma_native : float
        EXTRASMOOTH [native pixels].
    ov : int
        Oversampling factor (one sample = native pixel / ov).
    nc : int
        Half-size of the grid [samples].
    lambda_over_d_native : float
        lambda/D of the filter [native pixels] (Airy kinds).
    """
    return target_psf(kind, sigma_native, ov, 2 * nc + 1, lambda_over_d_native=lambda_over_d_native)
