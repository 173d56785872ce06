"""Exact percentiles of data streamed in chunks, in bounded memory.

The report needs percentiles of quantities spread over a whole mosaic (every pixel of a layer, every
pixel near every simulated star) that may not fit in memory.  `StreamingPercentiles` computes them
exactly -- the same numbers as `numpy.percentile` with its default ``'linear'`` method on the
concatenated finite data -- by passing over the data several times:

1. a counting pass (number of finite values, minimum, maximum; non-finite values are counted and
   excluded);
2. refinement passes: the order statistics ``a[k]`` needed for each percentile (rank
   ``r = (N - 1) p / 100``, ``k = floor(r)`` and ``k + 1``) are bracketed by half-open intervals
   ``[lo, hi)``; an interval holding more than ``max_gather`` values is split into ``nbins``
   histogram bins and replaced by the bin containing the rank, an interval holding at most
   ``max_gather`` values (or a single distinct value) is gathered and sorted.

Memory is bounded by about ``max_gather`` values per bracketing interval; small data sets finish
after two passes.  The caller feeds identical chunks in identical order on every pass::

    acc = StreamingPercentiles(["a", "b"], [1, 50, 99])
    while not acc.done:
        for key, values in chunks():
            acc.feed(key, values)
        acc.end_pass()
    acc.result("a")
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import PyIMCOMError, PyIMCOMValueError

__all__ = ["StreamingPercentiles", "linear_percentile_from_sorted", "MAX_PASSES"]

MAX_PASSES = 200  # safety limit on the number of passes


def linear_percentile_from_sorted(lower: float, upper: float, rank: float) -> float:
    """Interpolate between order statistics ``a[floor(rank)] = lower`` and ``a[floor(rank)+1] = upper``.

    Uses numpy's formula for the ``'linear'`` method (``a + (b - a) t``, or ``b - (b - a)(1 - t)`` for
    ``t >= 0.5``), so results agree with `numpy.percentile` to rounding.

    Examples
    --------
    >>> linear_percentile_from_sorted(1.0, 3.0, 4.25)
    1.5
    """
    t = rank - math.floor(rank)
    diff = upper - lower
    return upper - diff * (1.0 - t) if t >= 0.5 else lower + diff * t


class _Interval:
    """A bracketing interval [lo, hi) of one key with the ranks it must resolve."""

    def __init__(self, lo: float, hi: float, below: int, inside: int, ranks: set[int]):
        self.lo, self.hi, self.below, self.inside, self.ranks = lo, hi, below, inside, ranks
        self.reset()

    def reset(self):
        self.count_below = 0
        self.count_inside = 0
        self.hist = None
        self.gathered = []
        self.smin, self.smax = math.inf, -math.inf


class StreamingPercentiles:
    """Exact percentiles of several independent data streams (keys) in bounded memory.

    Parameters
    ----------
    keys : iterable of hashable
        Stream names (e.g. layer indices or radius bins).
    percentiles : sequence of float
        Percentiles in [0, 100].
    max_gather : int
        Largest number of values gathered in memory for one bracketing interval. Default: 2**22.
    nbins : int
        Histogram bins used to narrow an interval. Default: 4096.

    Raises
    ------
    PyIMCOMValueError
        If a percentile is outside [0, 100] or ``max_gather``/``nbins`` < 2.
    """

    def __init__(self, keys, percentiles, max_gather: int = 2**22, nbins: int = 4096):
        self.percentiles = np.asarray(percentiles, dtype=float)
        if self.percentiles.ndim != 1 or np.any((self.percentiles < 0) | (self.percentiles > 100)):
            raise PyIMCOMValueError(
                f"percentiles must be a 1-D list of values in [0, 100]; got {percentiles!r}"
            )
        if max_gather < 2 or nbins < 2:
            raise PyIMCOMValueError(f"max_gather and nbins must be >= 2; got {max_gather}, {nbins}")
        self.max_gather, self.nbins = int(max_gather), int(nbins)
        self.keys = list(keys)
        self.n_finite = dict.fromkeys(self.keys, 0)
        self.n_nonfinite = dict.fromkeys(self.keys, 0)
        self._vmin = dict.fromkeys(self.keys, math.inf)
        self._vmax = dict.fromkeys(self.keys, -math.inf)
        self._resolved: dict = {k: {} for k in self.keys}  # key -> {rank: value}
        self._intervals: dict = {k: [] for k in self.keys}
        self._pass = 0
        self.done = False

    # ---- feeding ------------------------------------------------------------------------------
    def feed(self, key, values) -> None:
        """Add a chunk of values of stream ``key`` (any shape; flattened) to the current pass.

        Raises
        ------
        PyIMCOMValueError
            If ``key`` is unknown.
        PyIMCOMError
            If called after the result is complete.
        """
        if key not in self.n_finite:
            raise PyIMCOMValueError(f"unknown percentile stream {key!r}; streams are {self.keys}")
        if self.done:
            raise PyIMCOMError("all percentiles are resolved; no further data needed")
        v = np.asarray(values, dtype=np.float64).ravel()
        if self._pass == 0:
            finite = np.isfinite(v)
            nf = int(np.count_nonzero(finite))
            self.n_nonfinite[key] += v.size - nf
            if nf:
                v = v[finite] if nf < v.size else v
                self.n_finite[key] += nf
                self._vmin[key] = min(self._vmin[key], float(v.min()))
                self._vmax[key] = max(self._vmax[key], float(v.max()))
            return
        for iv in self._intervals[key]:
            iv.count_below += int(np.count_nonzero(v < iv.lo))
            sel = v[(v >= iv.lo) & (v < iv.hi)]
            iv.count_inside += sel.size
            if sel.size == 0:
                continue
            iv.smin, iv.smax = min(iv.smin, float(sel.min())), max(iv.smax, float(sel.max()))
            if iv.inside <= self.max_gather:
                iv.gathered.append(sel)
            else:
                edges = np.linspace(iv.lo, iv.hi, self.nbins + 1)
                counts, _ = np.histogram(sel, bins=edges)
                iv.hist = counts if iv.hist is None else iv.hist + counts

    # ---- passes --------------------------------------------------------------------------------
    def _ranks(self, key) -> set[int]:
        n = self.n_finite[key]
        ranks = set()
        for p in self.percentiles:
            k = math.floor((n - 1) * p / 100.0)
            ranks.update((k, min(k + 1, n - 1)))
        return ranks

    def _start_key(self, key) -> None:
        n = self.n_finite[key]
        if n == 0:
            return
        hi = float(np.nextafter(self._vmax[key], np.inf))
        self._intervals[key] = [_Interval(self._vmin[key], hi, 0, n, self._ranks(key))]

    def _finish_interval(self, key, iv: _Interval) -> list[_Interval]:
        """Resolve or split one interval after a pass; return the intervals still open."""
        if (iv.count_below, iv.count_inside) != (iv.below, iv.inside):
            raise PyIMCOMError(
                f"percentile stream {key!r} changed between passes ({iv.count_below} values below and "
                f"{iv.count_inside} in [{iv.lo!r}, {iv.hi!r}) now, {iv.below} and {iv.inside} before); "
                "feed the same data on every pass"
            )
        if iv.smin == iv.smax:  # a single distinct value (or all gathered): every rank equals it
            self._resolved[key].update(dict.fromkeys(iv.ranks, iv.smin))
            return []
        if iv.hist is None:
            data = np.sort(np.concatenate(iv.gathered))
            for r in iv.ranks:
                self._resolved[key][r] = float(data[r - iv.below])
            return []
        cum = iv.below + np.concatenate(([0], np.cumsum(iv.hist)))
        edges = np.linspace(iv.lo, iv.hi, self.nbins + 1)
        children: dict[int, _Interval] = {}
        for r in iv.ranks:
            b = int(np.searchsorted(cum, r, side="right")) - 1
            if b not in children:
                children[b] = _Interval(
                    float(edges[b]), float(edges[b + 1]), int(cum[b]), int(iv.hist[b]), set()
                )
            children[b].ranks.add(r)
        return list(children.values())

    def end_pass(self) -> None:
        """Close the current pass; sets `done` when every percentile is resolved.

        Raises
        ------
        PyIMCOMError
            If the data changed between passes or `MAX_PASSES` passes did not suffice.
        """
        if self._pass == 0:
            for key in self.keys:
                self._start_key(key)
        else:
            for key in self.keys:
                still_open = []
                for iv in self._intervals[key]:
                    still_open.extend(self._finish_interval(key, iv))
                self._intervals[key] = still_open
        for ivs in self._intervals.values():
            for iv in ivs:
                iv.reset()
        self._pass += 1
        self.done = all(not ivs for ivs in self._intervals.values())
        if not self.done and self._pass >= MAX_PASSES:
            raise PyIMCOMError(f"percentiles not resolved after {MAX_PASSES} passes")

    @property
    def passes(self) -> int:
        """Number of completed passes."""
        return self._pass

    def result(self, key) -> np.ndarray:
        """Return the percentiles of stream ``key`` (float64; NaN if it had no finite value).

        Raises
        ------
        PyIMCOMError
            If the passes are not complete.
        """
        if not self.done:
            raise PyIMCOMError("percentiles requested before all passes were fed")
        n = self.n_finite[key]
        if n == 0:
            return np.full(self.percentiles.shape, np.nan)
        got = self._resolved[key]
        out = []
        for p in self.percentiles:
            rank = (n - 1) * p / 100.0
            k = math.floor(rank)
            out.append(linear_percentile_from_sorted(got[k], got[min(k + 1, n - 1)], rank))
        return np.array(out)
