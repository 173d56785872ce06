"""Point-spread functions on the common sampling grid: target PSFs and overlap arrays.

* `pyimcom.psf.target` -- analytic target (output) PSFs (GAUSSIAN, AIRYOBSC, AIRYUNOBSC), Fourier
  Gaussian smoothing, the target self-overlap ``C`` and the PSFCIRC / PSFNORM knobs.
* `pyimcom.psf.overlap` -- zero-padded PSF FFTs (with AMPPEN) and the overlap (cross-correlation)
  arrays ``O_ab[s] = sum_q S_a[q + s] S_b[q]``, including the packed self-overlaps of a PSF group.

Lengths are in oversampled pixels (one sample = native pixel / ov); arrays are indexed ``[..., y, x]``.
"""

from .overlap import cross_overlap, overlap_lookup, pair_index, psf_ffts, self_overlaps
from .target import (
    TARGET_KINDS,
    airy_annular,
    apply_psf_knobs,
    gaussian_smooth,
    target_overlap_c,
    target_psf,
)

__all__ = [
    "TARGET_KINDS",
    "airy_annular",
    "apply_psf_knobs",
    "gaussian_smooth",
    "target_overlap_c",
    "target_psf",
    "cross_overlap",
    "overlap_lookup",
    "pair_index",
    "psf_ffts",
    "self_overlaps",
]
