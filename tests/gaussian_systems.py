"""Stamp systems of Gaussian PSFs with analytic overlaps, and their dense float64 solution.

Input PSFs of width s at random positions from three "exposures", a Gaussian target of width s_t on a
grid of output pixels.  Overlaps of unit-integral 2-D Gaussians are analytic,
``g_1 . g_2 = exp(-d^2 / 2(s_1^2 + s_2^2)) / 2 pi (s_1^2 + s_2^2)``, and the matrix A is as
ill-conditioned as a real stamp's (the Gaussian kernel), so kappa decides its conditioning and float32
alone would lose several digits.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def overlap(p, q, var):
    """Overlaps of Gaussians at positions p (k, 2) and q (l, 2) whose variances add up to ``var``."""
    d2 = ((p[:, None, :] - q[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-d2 / (2 * var)) / (2 * np.pi * var)


def gaussian_system(seed=0, n_per=120, side=6.0, s=0.9, s_t=1.0, targets=(1.0,)):
    """``(A, b, C, image, rng)`` of a ``side x side`` stamp; ``targets`` scale the target width."""
    rng = np.random.default_rng(seed)
    pos_in = rng.uniform(-1.0, side + 1.0, size=(3 * n_per, 2))
    image = np.repeat(np.arange(3), n_per)
    g = np.arange(0.5, side, 1.0)
    gx, gy = np.meshgrid(g, g)
    pos_out = np.column_stack([gx.ravel(), gy.ravel()])
    A = overlap(pos_in, pos_in, 2 * s**2)
    b = np.stack([overlap(pos_out, pos_in, s**2 + (f * s_t) ** 2) for f in targets])
    C = np.array([1.0 / (2 * np.pi * 2 * (f * s_t) ** 2) for f in targets])
    return A, b, C, image, rng


def layer_vectors(rng, image):
    """Three vectors (rows) to coadd: a noise-like layer, one with a large mean, an image indicator."""
    n = image.size
    return np.vstack([rng.standard_normal(n), 100 + rng.standard_normal(n), (image == 1).astype(float)])


def dense_solve(A, b_o, kappa, V):
    """T and the weighted sums ``b (A + kappa)^-1 v`` (rows of V) from a float64 Cholesky solve."""
    factor = scipy.linalg.cho_factor(A + kappa * np.eye(A.shape[0]), lower=True)
    T = scipy.linalg.cho_solve(factor, b_o.T).T
    return T, T @ V.T
