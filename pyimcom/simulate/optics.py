"""PSF model of the synthetic survey: obscured-aperture optics with aberrations and charge diffusion.

Each exposure and SCA has four *corner* PSFs (at the SCA corners) that differ by small random
aberrations; the PSF at any pixel is their bilinear interpolation.  That field dependence is exactly a
first-order Legendre expansion, so the PSF file written by the simulator represents the model without
approximation:  with ``u, v`` the Legendre coordinates of `pyimcom.io.psf` (``-1 .. 1`` over the SCA),
``P(u, v) = c0 + c1 u + c2 v + c3 u v`` where ``c0 = (BL + BR + TL + TR) / 4``,
``c1 = (BR + TR - BL - TL) / 4``, ``c2 = (TL + TR - BL - BR) / 4`` and ``c3 = (BL + TR - BR - TL) / 4``.

Arrays are oversampled by ``ov`` relative to native pixels, indexed ``[y, x]``, do *not* include the
native-pixel response (tophat), have the PSF centred at the array centre ``(N - 1) / 2`` and sum to 1
over the oversampled grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..instrument import OBSCURATION

__all__ = ["CHARGE_DIFFUSION", "CornerPSFs", "optical_psf", "charge_diffusion_mtf", "make_corner_psfs"]

# Three-Gaussian charge-diffusion kernel: (weight, sigma [native pixels])
CHARGE_DIFFUSION = tuple(
    (w, s * 0.3279) for w, s in ((0.17519, 0.4522), (0.53146, 0.8050), (0.29335, 1.4329))
)


def charge_diffusion_mtf(n: int, ov: int) -> np.ndarray:
    """Fourier transform (``numpy.fft`` layout, ``[n, n]``) of the charge-diffusion kernel.

    Parameters
    ----------
    n : int
        Array side [oversampled pixels].
    ov : int
        Oversampling factor (oversampled pixels per native pixel).
    """
    f = np.fft.fftfreq(n)
    f2 = f[:, None] ** 2 + f[None, :] ** 2
    return sum(w * np.exp(-2.0 * np.pi**2 * (s * ov) ** 2 * f2) for w, s in CHARGE_DIFFUSION)


def optical_psf(lambda_over_d_native: float, ov: int, n: int, aberrations_waves=(0.0,) * 5) -> np.ndarray:
    """Diffraction PSF of an annular pupil with low-order aberrations, convolved with charge diffusion.

    Parameters
    ----------
    lambda_over_d_native : float
        lambda / D of the filter [native pixels].
    ov : int
        Oversampling factor.
    n : int
        Output side [oversampled pixels], even.
    aberrations_waves : sequence of float
        Zernike coefficients (defocus, astigmatism 0 deg, astigmatism 45 deg, coma x, coma y) in waves
        (peak normalisation: each polynomial is 1 at the pupil edge). Default: none.

    Returns
    -------
    numpy.ndarray
        float64 ``[n, n]``, unit sum, centred at ``((n - 1) / 2, (n - 1) / 2)``.
    """
    nfft = 2 * n
    d_samples = nfft / (lambda_over_d_native * ov)  # pupil diameter in pupil-plane samples
    k = np.arange(nfft) - nfft / 2
    ky, kx = np.meshgrid(k, k, indexing="ij")
    rho = np.hypot(kx, ky) / (d_samples / 2.0)
    theta = np.arctan2(ky, kx)
    pupil = ((rho <= 1.0) & (rho >= OBSCURATION)).astype(float)
    z4, z5, z6, z7, z8 = (tuple(aberrations_waves) + (0.0,) * 5)[:5]
    phase = (
        z4 * (2 * rho**2 - 1)
        + z5 * rho**2 * np.cos(2 * theta)
        + z6 * rho**2 * np.sin(2 * theta)
        + z7 * (3 * rho**3 - 2 * rho) * np.cos(theta)
        + z8 * (3 * rho**3 - 2 * rho) * np.sin(theta)
    )
    # A tilt of half a sample puts the PSF centre between the two central samples.
    tilt = np.exp(-1j * np.pi * (kx + ky) / nfft)
    field = np.fft.fft2(np.fft.ifftshift(pupil * np.exp(2j * np.pi * phase) * tilt))
    psf = np.fft.fftshift(np.abs(field) ** 2)
    lo = nfft // 2 - n // 2
    psf = psf[lo : lo + n, lo : lo + n]
    psf = np.fft.ifft2(np.fft.fft2(psf) * charge_diffusion_mtf(n, ov)).real
    return psf / psf.sum()


@dataclass(frozen=True)
class CornerPSFs:
    """The four corner PSFs of one SCA: arrays ``[n, n]`` for bottom-left, bottom-right, top-left, top-right.

    Corners refer to SCA pixel coordinates: "bottom" is ``y = 0``, "left" is ``x = 0``.
    """

    bl: np.ndarray
    br: np.ndarray
    tl: np.ndarray
    tr: np.ndarray

    def at_uv(self, u: float, v: float) -> np.ndarray:
        """Bilinear interpolation of the corners at Legendre coordinates ``u, v`` in ``[-1, 1]``."""
        wl, wr = (1.0 - u) / 2.0, (1.0 + u) / 2.0
        wb, wt = (1.0 - v) / 2.0, (1.0 + v) / 2.0
        return wb * (wl * self.bl + wr * self.br) + wt * (wl * self.tl + wr * self.tr)

    def at_pixel(self, x: float, y: float, nx: int, ny: int) -> np.ndarray:
        """PSF model at 0-based pixel ``(x, y)`` of an ``nx x ny`` SCA (``u, v`` as in `pyimcom.io.psf`)."""
        return self.at_uv((x - (nx - 1) / 2.0) / (nx / 2.0), (y - (ny - 1) / 2.0) / (ny / 2.0))

    def legendre_cube(self) -> np.ndarray:
        """Return the first-order Legendre coefficients ``[4, n, n]`` (order P0P0, P1(u), P1(v), P1P1)."""
        bl, br, tl, tr = self.bl, self.br, self.tl, self.tr
        return np.stack(
            [
                (bl + br + tl + tr) / 4.0,
                (br + tr - bl - tl) / 4.0,
                (tl + tr - bl - br) / 4.0,
                (bl + tr - br - tl) / 4.0,
            ]
        )


def make_corner_psfs(
    rng: np.random.Generator, lambda_over_d_native: float, ov: int, n: int, rms_waves: float = 0.04
) -> CornerPSFs:
    """Draw the four corner PSFs of one SCA with random aberrations.

    A common aberration set for the SCA is perturbed independently at each corner, so the PSF varies
    smoothly across the SCA.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator (consumed).
    lambda_over_d_native : float
        lambda / D [native pixels].
    ov : int
        Oversampling factor.
    n : int
        Array side [oversampled pixels].
    rms_waves : float
        Typical aberration amplitude [waves]. Default: 0.04.
    """
    base = rng.normal(0.0, rms_waves, 5)
    corners = [
        optical_psf(lambda_over_d_native, ov, n, base + rng.normal(0.0, rms_waves / 2, 5)) for _ in range(4)
    ]
    return CornerPSFs(*corners)
