"""The linear system of every postage stamp: sampled PSFs, overlaps, A, b and C (core §4.2–§4.4).

Work is organised so that nothing is computed twice while it is needed:

* the sampled input PSFs of a PSF group and their FFTs (per group),
* the overlap arrays of a pair of groups (input-input) and of a group with the targets (input-output),
* the A sub-matrix of a pair of InStamps, over all their pixels,

are cached in `ScheduledCache` objects whose schedules come from a dry run over the stamps; an entry
lives while it is used within the next ``window`` stamps and is recomputed if needed again later.
Each stamp's A is then assembled from the 45 InStamp-pair sub-matrices of its 3 x 3 neighbourhood,
restricted to the selected pixels (§3.9); b is interpolated from the input-output overlaps in the
"grid" form; C is the zero-lag self-overlap of the target.

Conventions: positions are block pixels (`pyimcom.geometry`); lags are converted to samples by
dividing by ``dscale``; the overlap arrays are zero-padded by `PSF_PAD` samples, so lag ``s`` reads
index ``s + nc + PSF_PAD``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import MosaicGeometry
from ..interp import interpolate_grid, interpolate_pair_lags
from ..linalg import SolverSettings
from ..psf.overlap import cross_overlap, psf_ffts
from ..psf.sampling import PSF_PAD, block_to_sca, sample_input_psf, sample_target_psf
from ..psf.target import apply_psf_knobs
from .cache import ScheduledCache
from .operator import BlockPiece, StampOperator
from .partition import BlockPixels, select_stamp_pixels

__all__ = [
    "EngineSettings",
    "StampSystem",
    "SystemBuilder",
    "overlap_batches",
    "PULL_AHEAD",
    "FFT_WINDOW",
    "OUT_WINDOW",
]

#: Stamps ahead whose sub-matrices are computed with the current stamp's from the same group-pair
#: overlaps (`overlap_batches`; at most the cache window).  Benchmark block (window 5): 1 -> 3.4 overlap
#: computations per stamp, sub-matrix cache peak 367 MiB; 3 -> 2.0 per stamp, 468 MiB (with the
#: sub-matrices restricted to the pixels the stamps use; 486 MiB without).
PULL_AHEAD = 3

#: Cache window of the input-output overlaps of a group [stamps].  They cost one transform per image
#: (~10 ms for 6) and ~7.5 MB per group: recomputing them for the next row of stamps is cheaper than
#: holding them (benchmark block: 0.56 -> 0.67 computed per stamp, cache peak 36 -> 29 MiB).
OUT_WINDOW = 1

#: Cache window of the PSF transforms of a group [stamps] (at most the cache window; ~16 MB per group
#: of 6 images).  Needed only where overlaps are computed, which recur every other stamp along a row:
#: 2 recomputes none of them on a production block (0.52 per stamp, as with 8) and holds half as many.
FFT_WINDOW = 2


def overlap_batches(sub_misses, group_pair, lookahead: int = 1) -> list[dict]:
    """When to compute each sub-matrix, grouped by the group pair whose overlap arrays it is built from.

    The overlap arrays of a group pair (~45 MB for 6 images) only feed sub-matrices.  Stamp ``s``
    computes its missing sub-matrices one group pair at a time, and with them the sub-matrices that
    stamps ``s + 1 .. s + lookahead`` would compute from the same pair (0 disables it): the pair's
    overlaps are then needed during one batch only and never held across stamps.  A longer lookahead
    recomputes fewer overlaps but holds more sub-matrices ahead of their use.

    Parameters
    ----------
    sub_misses : list of set
        The sub-matrix keys each stamp would compute (`ScheduledCache.misses`).
    group_pair : callable
        ``group_pair(key) -> (ga, gb)`` of a sub-matrix key.
    lookahead : int
        Stamps to pull from, >= 0.  Default: 1.

    Returns
    -------
    list of dict
        For each stamp, ``{(ga, gb): [keys, ...]}`` in a deterministic (sorted) order; every key of
        ``sub_misses`` appears exactly once, at its own stamp or at most ``lookahead`` stamps before.
    """
    pending = [set(m) for m in sub_misses]
    batches: list[dict] = []
    for s, keys in enumerate(pending):
        batch: dict = {}
        for key in sorted(keys):
            batch.setdefault(group_pair(key), []).append(key)
        for ahead in range(s + 1, min(s + 1 + lookahead, len(pending))):
            pulled = sorted(k for k in pending[ahead] if group_pair(k) in batch)
            for key in pulled:
                batch[group_pair(key)].append(key)
            pending[ahead].difference_update(pulled)
        batches.append(dict(sorted(batch.items())))
    return batches


@dataclass(frozen=True)
class EngineSettings:
    """Settings of the coaddition engine (from the configuration).

    Parameters
    ----------
    ov : int
        PSF oversampling factor (``INPSF[2]``).
    nc : int
        Half-size of the PSF sampling grid [samples] (``NPIXPSF*ov//2 - 1`` ... see ``Config.psf_nc``).
    nfft : int
        FFT size of the overlaps [samples]; any size >= ``3 nc + 1`` gives exact overlaps (the engine
        uses the smallest fast size; the reference's ``2 NPIXPSF ov`` gives the same numbers).
    dscale : float
        Sampling step [output pixels per sample].
    rho : float
        Acceptance radius ``INPAD / dθ`` [output pixels].
    targets : tuple of (str, float)
        ``(OUTPSF, EXTRASMOOTH [native pixels])`` of each target PSF.
    lambda_over_d : float
        lambda/D of the filter [native pixels] (Airy targets).
    linear_algebra : str
        ``LAKERNEL``.
    solver : SolverSettings
        Settings of the linear-algebra kernels.
    fade : int
        ``FADE`` [output pixels].
    interp_kernel : str
        ``PSFINTERP``. Default: ``"D5512"``.
    psfcirc, psfnorm : bool
        Experimental PSF knobs (core §4.9). Default: False.
    amppen : tuple of float
        ``AMPPEN`` (amplitude, width [native pixels]). Default: (0, 0).
    flatpen : float
        ``FLATPEN``. Default: 0.
    window : int
        Cache window [stamps]: a value is kept while a stamp at most this far ahead needs it.  5 keeps
        everything a row of stamps reuses; a larger window only helps blocks of up to ~8 stamps per row
        (reuse between rows: the 6 x 6 benchmark block computes 5 % fewer sub-matrices with 8, but
        holds 45 MB more).  Default: 5.
    precision : str
        ``LAPRECISION``, for one-node Cholesky stamps (other kernels and several kappa nodes always use
        float64 throughout): ``"double"`` factors and forward-solves in float64, with the layers and
        weight sums from the forward solve and only the noise back-substitution in float32
        (`pyimcom.linalg.split`); ``"full"`` solves for T in float64 and forms every product from it,
        as the reference does; ``"mixed"`` factors in float32, with layers and weight sums refined to
        float64 and the maps from the float32 solves (`pyimcom.linalg.mixed`).  Default: ``"double"``.
    """

    ov: int
    nc: int
    nfft: int
    dscale: float
    rho: float
    targets: tuple[tuple[str, float], ...]
    lambda_over_d: float
    linear_algebra: str
    solver: SolverSettings
    fade: int
    interp_kernel: str = "D5512"
    psfcirc: bool = False
    psfnorm: bool = False
    amppen: tuple[float, float] = (0.0, 0.0)
    flatpen: float = 0.0
    window: int = 5
    precision: str = "double"

    @property
    def n_out(self) -> int:
        """Number of target PSFs."""
        return len(self.targets)

    @property
    def mixed_precision(self) -> bool:
        """Whether stamps are solved in mixed precision (``precision``, Cholesky, one kappa node)."""
        return self.precision == "mixed" and self.linear_algebra == "Cholesky" and self.solver.nv == 1

    @property
    def solve_for_sums(self) -> bool:
        """Whether stamps are solved for their sums (`pyimcom.linalg.split`): "double", Cholesky, one node."""
        return self.precision == "double" and self.linear_algebra == "Cholesky" and self.solver.nv == 1


@dataclass
class StampSystem:
    """The linear system of one stamp.

    ``A`` ``(n, n)``, float64 or the dtype asked of `SystemBuilder.system`; ``b`` float64 ``(n_out, m, n)``;
    ``C`` float64 ``(n_out,)``; ``index`` int64 ``(n,)`` pixel indices into the block arrays (row order of
    A); ``pos_in`` ``(n, 2)`` and ``pos_out`` ``(m, 2)`` positions [block pixels]; ``operator`` A as
    its cached float64 pieces (`StampOperator`: float64 products with A, or A again in another dtype),
    valid while the stamp is processed; ``rhs`` ``(n_out, m + spare, n)`` the array b is the first m
    rows of (`SystemBuilder.system`).
    """

    A: np.ndarray
    b: np.ndarray
    C: np.ndarray
    index: np.ndarray
    pos_in: np.ndarray
    pos_out: np.ndarray
    operator: StampOperator | None = None
    timings: dict = field(default_factory=dict)
    rhs: np.ndarray | None = None


def _runs(image: np.ndarray) -> list[tuple[int, int, int]]:
    """Contiguous runs ``(value, start, stop)`` of a sorted integer array."""
    if image.size == 0:
        return []
    cut = np.flatnonzero(np.diff(image)) + 1
    starts = np.r_[0, cut]
    stops = np.r_[cut, image.size]
    return [(int(image[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


class SystemBuilder:
    """Builds the linear system of each stamp of a block, with schedule-driven caches.

    Parameters
    ----------
    pixels : BlockPixels
        The block's input pixels.
    images : list
        The block's relevant input images (block image order); each has ``wcs``, ``sca`` and ``psf``
        (an object with ``at(sca, x, y)`` returning the tophat-convolved oversampled PSF).
    geometry : MosaicGeometry
        Mosaic geometry.
    ibx, iby : int
        Block indices.
    stamps : list of tuple of int
        OutStamps ``(j, i)`` in processing order.
    settings : EngineSettings
        Engine settings.
    reuse_buffers : bool
        Build every stamp's A and b in the same two work arrays (grown as needed), which saves
        allocating and page-faulting some 400 MB per stamp; a `StampSystem` is then valid only until
        the next call of `system`.  Default: False.
    """

    def __init__(self, pixels: BlockPixels, images, geometry: MosaicGeometry, ibx: int, iby: int,
                 stamps, settings: EngineSettings, reuse_buffers: bool = False):  # fmt: skip
        self.pixels, self.images, self.geometry, self.settings = pixels, images, geometry, settings
        self._buffers = {} if reuse_buffers else None
        self._n_max = 0  # most input pixels of any stamp (sizes the reused buffers once)
        self.stamps = list(stamps)
        self.out_wcs = geometry.block_wcs(ibx, iby)
        self.n_side = geometry.layout.n1_padded + 2
        st = settings
        self._off = st.nc + PSF_PAD
        lod = st.lambda_over_d
        gammas = np.stack([sample_target_psf(k, s, st.ov, st.nc, lod) for k, s in st.targets])
        gammas = apply_psf_knobs(gammas, st.psfcirc, st.psfnorm, st.nc)
        self._target_ft = psf_ffts(gammas, st.nfft, st.amppen, st.ov)
        zero = cross_overlap(self._target_ft, self._target_ft, st.nc)[:, st.nc, st.nc]
        self.C = np.asarray(zero, dtype=np.float64)
        # Schedules: the sub-matrices and input-output overlaps are used by the stamps themselves; the
        # pair overlaps only in the batches that compute sub-matrices (`overlap_batches`), the PSF
        # transforms only where an overlap is computed -- so nothing is held longer than needed.
        pairs, groups = [], []
        self._used: dict = {}  # (a, b) -> pixels of InStamps a and b that some stamp pairs (bool masks)
        for j, i in self.stamps:
            inst = self._neighbourhood(j, i)
            pairs.append({(a, b) for k, a in enumerate(inst) for b in inst[k:]})
            groups.append({self._group(a) for a in inst})
            self._mark_used(inst, select_stamp_pixels(pixels, geometry, j, i, settings.rho))
        w = settings.window
        misses = ScheduledCache.misses
        self._batches = overlap_batches(misses(pairs, w), self._group_pair, lookahead=min(w, PULL_AHEAD))
        fft_needs = [{g for gp in batch for g in gp} | grs
                     for batch, grs in zip(self._batches, misses(groups, w), strict=True)]  # fmt: skip
        sched = ScheduledCache.schedule
        self.ffts = ScheduledCache(sched(fft_needs), self._group_ffts, min(w, FFT_WINDOW))
        self.out_overlaps = ScheduledCache(sched(groups), self._out_overlap, min(w, OUT_WINDOW))
        self.pair_overlaps = ScheduledCache(sched(self._batches), self._pair_overlap, 0)
        self.submatrices = ScheduledCache(sched(pairs), self._submatrix, w)

    # ---- indexing -------------------------------------------------------------------------------
    def _neighbourhood(self, j: int, i: int) -> list[int]:
        return [(j + dj) * self.n_side + (i + di) for dj in (-1, 0, 1) for di in (-1, 0, 1)]

    def _group(self, inst: int) -> int:
        j, i = divmod(inst, self.n_side)
        jg, ig = self.geometry.psf_group(j, i)
        return jg * self.n_side + ig

    def _inst_slice(self, inst: int) -> slice:
        return self.pixels.instamp(*divmod(inst, self.n_side))

    def _local(self, inst: list[int], sel: list[np.ndarray]) -> list[np.ndarray]:
        """A stamp's selection ``sel`` (block pixel indices) as int64 indices local to its InStamps."""
        return [(idx - self._inst_slice(a).start).astype(np.int64) for idx, a in zip(sel, inst, strict=True)]

    def _mark_used(self, inst: list[int], sel: list[np.ndarray]) -> None:
        """Record the pixels one stamp pairs: its selection of each of its InStamps, for every pair."""
        local = self._local(inst, sel)
        for t in range(9):
            for u in range(t, 9):
                (a, la), (b, lb) = sorted([(inst[t], local[t]), (inst[u], local[u])], key=lambda x: x[0])
                masks = self._used.get((a, b))
                if masks is None:
                    sa, sb = self._inst_slice(a), self._inst_slice(b)
                    masks = self._used[(a, b)] = (
                        np.zeros(sa.stop - sa.start, bool),
                        np.zeros(sb.stop - sb.start, bool),
                    )
                masks[0][la] = True
                masks[1][lb] = True

    def used_pixels(self, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """InStamp-local indices of the rows and columns that the sub-matrix of ``key`` holds.

        A pair's sub-matrix is computed (and cached) only for the pixels that some stamp of the
        block selects together with the other InStamp (core §3.9): about 9 % fewer entries than all
        pixels of both InStamps on the benchmark block.
        """
        rows, cols = self._used[key]
        return np.flatnonzero(rows), np.flatnonzero(cols)

    def _compact(self, key: tuple[int, int], local: np.ndarray, side: int) -> np.ndarray:
        """Positions in the cached sub-matrix of ``key`` of InStamp-local pixel indices (axis ``side``)."""
        mask = self._used[key][side]
        return (np.cumsum(mask) - 1)[local]

    def members(self, group: int) -> np.ndarray:
        """Sorted block image indices with pixels in the 4 InStamps of a PSF group."""
        jg, ig = divmod(group, self.n_side)
        found = [
            self.pixels.image[self.pixels.instamp(j, i)]
            for j in (jg, jg + 1)
            for i in (ig, ig + 1)
            if j < self.n_side and i < self.n_side
        ]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int32)

    # ---- cached objects -------------------------------------------------------------------------
    def _group_ffts(self, group: int) -> np.ndarray:
        st = self.settings
        jg, ig = divmod(group, self.n_side)
        px, py = self.geometry.psf_group_center(jg, ig)
        samples = []
        for k in self.members(group):
            img = self.images[k]
            xs, ys = block_to_sca(self.out_wcs, img.wcs, np.array([px]), np.array([py]))
            psf_image = img.psf.at(img.sca, float(xs[0]), float(ys[0]))
            samples.append(sample_input_psf(psf_image, self.out_wcs, img.wcs, (px, py), st.ov, st.nc,
                                            st.dscale, st.interp_kernel))  # fmt: skip
        nsamp = 2 * st.nc + 1
        arr = np.stack(samples) if samples else np.zeros((0, nsamp, nsamp))
        arr = apply_psf_knobs(arr, st.psfcirc, st.psfnorm, st.nc) if samples else arr
        return psf_ffts(arr, st.nfft, st.amppen, st.ov)

    def _pair_overlap(self, key: tuple[int, int]) -> np.ndarray:
        """Overlap arrays of every member of group ``key[0]`` with every member of ``key[1]``.

        Transformed one row member at a time, so the temporaries (products and inverse transforms of
        nfft^2 samples) are those of one row, not of all pairs at once.
        """
        nc = self.settings.nc
        fa = self.ffts.get(key[0])
        fb = self.ffts.get(key[1]) if key[0] != key[1] else fa
        size = 2 * nc + 1 + 2 * PSF_PAD
        out = self._scratch(0, (fa.shape[0], fb.shape[0], size, size), np.float64)
        spectra = self._scratch(out.nbytes, fb.shape, np.complex128)
        for k in range(fa.shape[0]):
            if key[0] != key[1]:
                cross_overlap(fa[k], fb, nc, pad=PSF_PAD, out=out[k], work=spectra)
                continue
            # a group with itself: O_lk[s] = O_kl[-s], so only l >= k is transformed (the padding is
            # symmetric, so the reversed padded array is the padded reversed one)
            cross_overlap(fa[k], fa[k:], nc, pad=PSF_PAD, out=out[k, k:], work=spectra[: fa.shape[0] - k])
            out[k + 1 :, k] = out[k, k + 1 :, ::-1, ::-1]
        return out

    def _scratch(self, offset: int, shape: tuple[int, ...], dtype) -> np.ndarray:
        """Scratch array at byte ``offset`` (rounded up to 64) of the reused A buffer, or a new one if
        there is none or it is too small.

        The pair overlaps (~45 MB) and their cross-spectra live only within a batch of sub-matrices,
        which `system` computes before it writes A: so they borrow A's buffer, idle then, rather than
        adding their size to the block's peak memory.  `system` checks that none is held when it
        assembles A.
        """
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        offset = -(-offset // 64) * 64  # aligned (the buffer itself is at least 16-byte aligned)
        bufs = [buf for (name, _), buf in (self._buffers or {}).items() if name == "A"]
        if bufs and offset + nbytes <= bufs[0].nbytes:
            return bufs[0].view(np.uint8)[offset : offset + nbytes].view(dtype).reshape(shape)
        return np.empty(shape, dtype=dtype)

    def _out_overlap(self, group: int) -> np.ndarray:
        f = self.ffts.get(group)
        return cross_overlap(f[:, None], self._target_ft[None, :], self.settings.nc, pad=PSF_PAD)

    def _submatrix(self, key: tuple[int, int]) -> np.ndarray:
        """A between the used pixels (`used_pixels`) of InStamps ``key = (a, b)``, ``a <= b``; rows = a."""
        a, b = key
        ga, gb = self._group(a), self._group(b)
        rows, cols = self.used_pixels(key)
        if ga > gb:
            return self._submatrix_oriented(b, a, gb, ga, cols, rows).T.copy()
        return self._submatrix_oriented(a, b, ga, gb, rows, cols)

    def _submatrix_oriented(self, a: int, b: int, ga: int, gb: int, rows, cols) -> np.ndarray:
        st, px = self.settings, self.pixels
        sa = self._inst_slice(a).start + rows  # block pixel indices
        sb = self._inst_slice(b).start + cols
        na, nb = sa.size, sb.size
        if na == 0 or nb == 0:
            return np.zeros((na, nb))
        ma, mb = self.members(ga), self.members(gb)
        la = np.searchsorted(ma, px.image[sa])
        lb = np.searchsorted(mb, px.image[sb])
        out = interpolate_pair_lags(self.pair_overlaps.get((ga, gb)), la, lb, (px.x[sa], px.y[sa]),
                                    (px.x[sb], px.y[sb]), st.dscale, self._off, st.interp_kernel,
                                    symmetric=a == b)  # fmt: skip
        if st.flatpen:
            nbar = ma.size if ga == gb else np.sqrt(ma.size * mb.size)
            out -= st.flatpen / nbar
            out += st.flatpen * (px.image[sa][:, None] == px.image[sb][None, :])
        return out

    def _group_pair(self, key: tuple[int, int]) -> tuple[int, int]:
        ga, gb = self._group(key[0]), self._group(key[1])
        return (ga, gb) if ga <= gb else (gb, ga)

    def _compute_submatrices(self, s: int) -> None:
        """Compute the sub-matrices of stamp ``s``'s batches, releasing each pair overlap after its batch.

        A group's PSF transforms are released after the last batch of the stamp that uses them (once
        the stamp's input-output overlaps of the group are computed), unless a stamp within the cache
        window needs them: the transforms of 4 or more groups are then not all held at once.
        """
        batch = list(self._batches[s].items())
        last = {g: k for k, (gpair, _) in enumerate(batch) for g in gpair}
        needs_out = {self._group(a) for a in self._neighbourhood(*self.stamps[s])}
        for k, (gpair, keys) in enumerate(batch):
            for key in keys:
                self.submatrices.get(key)
            self.pair_overlaps.release(gpair, s)
            for g in set(gpair):
                if last[g] == k:
                    if g in needs_out:
                        self.out_overlaps.get(g)
                    self.ffts.release(g, s)

    # ---- per stamp ------------------------------------------------------------------------------
    def _stamp_sizes(self) -> list[int]:
        """Number of input pixels of every stamp (processing order)."""
        rho = self.settings.rho
        return [sum(x.size for x in select_stamp_pixels(self.pixels, self.geometry, j, i, rho))
                for j, i in self.stamps]  # fmt: skip

    def _work(self, name: str, shape: tuple[int, ...], per_pixel, dtype=np.float64) -> np.ndarray:
        """An uninitialised C-ordered array, in the reused buffer ``(name, dtype)`` if buffers are reused.

        ``per_pixel(n)`` is the buffer's size for a stamp of n input pixels: the buffer is allocated once,
        for the largest stamp of the block, so a growing stamp never holds an old and a new buffer.
        """
        dtype = np.dtype(dtype)
        if self._buffers is None:
            return np.empty(shape, dtype=dtype)
        size = int(np.prod(shape))
        buf = self._buffers.get((name, dtype))
        if buf is None or buf.size < size:
            if not self._n_max:
                self._n_max = max(self._stamp_sizes(), default=0)
            self._buffers.pop((name, dtype), None)
            buf = self._buffers[(name, dtype)] = np.empty(max(size, per_pixel(self._n_max)), dtype=dtype)
        return buf[:size].reshape(shape)

    def system(self, s: int, dtype=np.float64, spare_rows: int = 0) -> StampSystem:
        """The linear system of stamp number ``s`` (position in the processing order).

        ``dtype`` (float64 or float32) is that of A; b is always float64.  With ``spare_rows`` > 0, b is
        the first m rows of ``rhs``, an uninitialised ``(n_out, m + spare_rows, n)`` array whose last
        rows a solver can fill with more right-hand sides (`pyimcom.linalg.split`).  Call it once per
        stamp, in processing order.
        """
        j, i = self.stamps[s]
        st, px = self.settings, self.pixels
        inst = self._neighbourhood(j, i)
        sel = select_stamp_pixels(px, self.geometry, j, i, st.rho)
        local = self._local(inst, sel)
        sizes = [len(x) for x in sel]
        offs = np.r_[0, np.cumsum(sizes)]
        n = int(offs[-1])
        blocks = [(t, u) for t in range(9) for u in range(t, 9) if sizes[t] and sizes[u]]
        keys = [(inst[t], inst[u]) if inst[t] <= inst[u] else (inst[u], inst[t]) for t, u in blocks]
        # the stamp arrays first: the batch borrows A's buffer (`_scratch`)
        A = self._work("A", (n, n), lambda n_px: n_px * n_px, dtype)
        xo, yo = self.geometry.outstamp_pixels(j, i)
        m = xo.size * yo.size
        n_rows = m + spare_rows
        rhs = self._work("b", (st.n_out, n_rows, n), lambda n_px: st.n_out * n_rows * n_px)
        self._compute_submatrices(s)
        pieces = []
        for (t, u), key in zip(blocks, keys, strict=True):
            # rows of the cached sub-matrix: InStamp min(a, b); a transposed block is stored as its mirror
            r, c = (u, t) if inst[t] > inst[u] else (t, u)
            sub = self.submatrices.get(key)
            rows, cols = self._compact(key, local[r], 0), self._compact(key, local[c], 1)
            pieces.append(BlockPiece(sub, rows, cols, int(offs[r]), int(offs[c]), u != t))
        operator = StampOperator(n, pieces)
        if len(self.pair_overlaps):  # they may live in A's buffer (`_scratch`)
            raise RuntimeError(f"pair overlaps still held when stamp {s}'s A is assembled")
        A = operator.dense(A)
        bvec = rhs[:, :m]  # all columns written
        for t, a in enumerate(inst):
            if sizes[t] == 0:
                continue
            g = self._group(a)
            ov_out, mg = self.out_overlaps.get(g), self.members(g)
            idx = sel[t]
            for k, r0, r1 in _runs(px.image[idx]):
                lk = int(np.searchsorted(mg, k))
                rows = idx[r0:r1]
                xs = (px.x[rows, None] - xo[None, :]) / st.dscale + self._off
                ys = (px.y[rows, None] - yo[None, :]) / st.dscale + self._off
                for o in range(st.n_out):  # written straight into b's columns (a strided view)
                    interpolate_grid(ov_out[lk, o], xs, ys, st.interp_kernel,
                                     out=bvec[o, :, offs[t] + r0 : offs[t] + r1].T)  # fmt: skip
        for cache in (self.pair_overlaps, self.ffts):  # only needed to build systems: free them now,
            cache.advance(s)  # before the solve, rather than after the stamp
        index = np.concatenate(sel) if n else np.zeros(0, dtype=np.int64)
        gx, gy = np.meshgrid(xo, yo)
        pos_out = np.column_stack([gx.ravel(), gy.ravel()]).astype(float)
        pos_in = np.column_stack([px.x[index], px.y[index]])
        return StampSystem(A, bvec, self.C.copy(), index, pos_in, pos_out, operator, rhs=rhs)

    def advance(self, s: int) -> None:
        """Free what stamps after ``s`` do not need soon."""
        for cache in (self.submatrices, self.pair_overlaps, self.out_overlaps, self.ffts):
            cache.advance(s)
