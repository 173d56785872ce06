"""The system matrix A of one stamp as selections of cached sub-matrices (core §3.9, §4.4).

A stamp's A is made of the sub-matrices of the InStamp pairs of its 3 x 3 neighbourhood, with rows
and columns restricted to the selected pixels.  `StampOperator` keeps those pieces: it can write A
into an array of any float type (`StampOperator.dense`, for the factorisation) and multiply A with a
few float64 vectors without assembling it (`StampOperator.matvec`, for the residuals of the
mixed-precision solver).  Both read each stored block once and also write or apply its mirror image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .._kernels.assemble import gather_block
from .._kernels.submatvec import block_matvec

__all__ = ["BlockPiece", "StampOperator"]


@dataclass(frozen=True)
class BlockPiece:
    """One stored block of A: ``A[r0 + p, c0 + q] = sub[rows[p], cols[q]]`` (and the mirror if ``mirror``).

    ``sub`` float64 C-contiguous; ``rows``, ``cols`` int64 indices into its axes 0 and 1; ``r0``, ``c0``
    offsets in A [pixels]; ``mirror`` False only for diagonal blocks (``r0 == c0``, ``sub`` symmetric).
    """

    sub: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    r0: int
    c0: int
    mirror: bool


class StampOperator:
    """The symmetric n x n matrix A of one stamp, as the `BlockPiece` list that covers its upper triangle.

    Parameters
    ----------
    n : int
        Size of A (input pixels of the stamp).
    pieces : list of BlockPiece
        Blocks that, with their mirrors, cover A exactly once.

    Notes
    -----
    The pieces reference the cached sub-matrices: an operator is valid (and keeps them alive) only
    while the stamp is processed.
    """

    def __init__(self, n: int, pieces: list[BlockPiece]):
        self.n = int(n)
        self.pieces = list(pieces)

    def dense(self, out: np.ndarray) -> np.ndarray:
        """Write A into ``out`` (shape (n, n), float32 or float64, C-contiguous) and return it."""
        if out.shape != (self.n, self.n):
            raise ValueError(f"out must have shape ({self.n}, {self.n}); got {out.shape}")
        for pc in self.pieces:
            gather_block(pc.sub, pc.rows, pc.cols, False, out, pc.r0, pc.c0, pc.mirror)
        return out

    def matvec(self, Z: np.ndarray) -> np.ndarray:
        """``A z`` for every row z of ``Z``.

        Parameters
        ----------
        Z : array_like, shape (k, n)
            Vectors, one per row (converted to float64).

        Returns
        -------
        numpy.ndarray
            float64, shape (k, n): row j is ``A Z[j]``.
        """
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n:
            raise ValueError(f"Z must have shape (k, {self.n}); got {Z.shape}")
        out = np.zeros_like(Z)
        chunks = 4 * numba.get_num_threads()
        for pc in self.pieces:
            block_matvec(pc.sub, pc.rows, pc.cols, Z, out, pc.r0, pc.c0, pc.mirror, chunks)
        return out
