"""Input and target PSFs sampled on the common grid of a PSF group (core §4.2).

The sampling grid has ``nsamp = 2 nc + 1`` offsets ``q`` per axis, ``q = -nc .. nc``, one step being
``dscale`` output pixels, i.e. one oversampled native pixel (``0.11"/ov``) on the sky.  Arrays are
``[q_y + nc, q_x + nc]``, float64.

*Input PSF* of image k at the group centre ``p`` (block pixels): the oversampled, tophat-convolved PSF
image ``P`` of the SCA at ``M(p)``, where ``M`` maps block pixels to SCA pixels through both WCSs, is
read at ``c + ov [M(p + dscale q) - M(p)]`` with ``c = (N' - 1) / 2`` -- the non-linear mapping, so
rotation, scale and distortion are absorbed into the samples.  ``M`` is represented on the grid by a
bivariate cubic fitted to exact evaluations (checked to `MAP_TOLERANCE`; `mapped_offsets`).  ``P`` is
zero-padded by 6 samples before interpolation, so positions near or beyond its edge read zeros.

*Target PSF* (defined in the output frame) is evaluated analytically at the sample offsets (the
reference interpolates it from a grid shifted by half a sample; core §9 Q19: the two agree to the
interpolation error, ~1e-6).
"""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS

from ..interp import interpolate_points
from .target import target_psf

__all__ = [
    "PSF_PAD",
    "MAP_TOLERANCE",
    "block_to_sca",
    "mapped_offsets",
    "sample_input_psf",
    "sample_target_psf",
]

PSF_PAD = 6  # zero padding of the PSF image before interpolation [oversampled pixels]
MAP_TOLERANCE = 1e-6  # largest allowed error of the cubic output -> SCA mapping [SCA pixels]


def block_to_sca(out_wcs: WCS, in_wcs: WCS, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Map block pixel coordinates to SCA pixel coordinates (both 0-based) through the sky."""
    ra, dec = out_wcs.all_pix2world(np.ravel(x), np.ravel(y), 0)
    xs, ys = in_wcs.all_world2pix(ra, dec, 0, tolerance=1e-10, maxiter=50, quiet=True)
    return np.reshape(xs, np.shape(x)), np.reshape(ys, np.shape(y))


_POWERS = [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (3, 0), (2, 1), (1, 2), (0, 3)]  # (u, v) powers


def _cubic_terms(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack([u**a * v**b for a, b in _POWERS], axis=-1)


def _cubic_on_grid(coef: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Evaluate the fitted cubic (coefficients ``(10, 2)``) on the outer grid ``u (x) u`` -> ``(n, n, 2)``."""
    up = u[:, None] ** np.arange(4)[None, :]  # (n, 4)
    out = np.empty((u.size, u.size, 2))
    for c in range(2):
        mat = np.zeros((4, 4))  # [power of v, power of u]
        for (a, b), value in zip(_POWERS, coef[:, c], strict=True):
            mat[b, a] = value
        # rows: v (y), columns: u (x).  einsum, not matmul: BLAS takes ~15 ms for this k = 4 product
        # (thread start-up), einsum's own loop ~0.4 ms
        out[..., c] = np.einsum("vk,uk->vu", up @ mat, up)
    return out


def mapped_offsets(out_wcs: WCS, in_wcs: WCS, center_xy, nc: int, dscale: float, exact: bool = False):
    """SCA-pixel offsets ``M(p + dscale q) - M(p)`` for the whole ``(2 nc + 1)**2`` sampling grid.

    The mapping ``M`` (block pixel -> SCA pixel through the sky) is smooth on the scale of the grid
    (a few arcsec), so it is evaluated exactly on a 13 x 13 sub-grid and represented by a bivariate
    cubic fitted there; the fit is checked at the sub-grid and at the grid corners, and the exact
    mapping of every sample is used instead if the cubic is off by more than `MAP_TOLERANCE`.

    Parameters
    ----------
    out_wcs, in_wcs : astropy.wcs.WCS
        Block and SCA WCSs (0-based pixels).
    center_xy : tuple of float
        ``p`` [block pixels].
    nc : int
        Half-size of the grid [samples].
    dscale : float
        Grid step [output pixels per sample].
    exact : bool
        Map every sample through the WCSs (slow; the reference behaviour). Default: False.

    Returns
    -------
    dx, dy : numpy.ndarray
        float64 ``(2 nc + 1, 2 nc + 1)`` offsets [SCA pixels], indexed ``[q_y + nc, q_x + nc]``.
    """
    px, py = center_xy
    q = np.arange(-nc, nc + 1) * dscale
    qx, qy = np.meshgrid(q, q)
    if exact:
        xs, ys = block_to_sca(out_wcs, in_wcs, np.r_[px, px + qx.ravel()], np.r_[py, py + qy.ravel()])
        return (xs[1:] - xs[0]).reshape(qx.shape), (ys[1:] - ys[0]).reshape(qx.shape)
    half = max(nc * dscale, 1e-12)
    nodes = np.linspace(-half, half, 13)
    nx, ny = np.meshgrid(nodes, nodes)
    corners = np.array(
        [[-half, -half], [half, -half], [-half, half], [half, half], [0.3 * half, -0.7 * half]]
    )
    ex = np.r_[nx.ravel(), corners[:, 0]]
    ey = np.r_[ny.ravel(), corners[:, 1]]
    xs, ys = block_to_sca(out_wcs, in_wcs, np.r_[px, px + ex], np.r_[py, py + ey])
    dxe, dye = xs[1:] - xs[0], ys[1:] - ys[0]
    fit_n = nx.size
    basis = _cubic_terms(ex / half, ey / half)
    coef, *_ = np.linalg.lstsq(basis[:fit_n], np.column_stack([dxe[:fit_n], dye[:fit_n]]), rcond=None)
    err = np.abs(basis @ coef - np.column_stack([dxe, dye])).max()
    if not err <= MAP_TOLERANCE:
        return mapped_offsets(out_wcs, in_wcs, center_xy, nc, dscale, exact=True)
    grid = _cubic_on_grid(coef, q / half)
    return grid[..., 0], grid[..., 1]


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
    dx, dy = mapped_offsets(out_wcs, in_wcs, center_xy, nc, dscale)
    c = (psf_image.shape[0] - 1) / 2.0
    u = c + ov * dx.ravel() + PSF_PAD
    v = c + ov * dy.ravel() + PSF_PAD
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
