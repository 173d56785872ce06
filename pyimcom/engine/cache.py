"""A cache whose entries live exactly as long as the processing schedule needs them.

A dry run over the stamps (in processing order) lists, for every key, the stamp numbers that use it.
After stamp ``s`` an entry is dropped when it has no further use, or when its next use is more than
``window`` stamps away (it is then recomputed on demand: this bounds memory at the price of some
repeated work, instead of spilling to disk).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable

__all__ = ["ScheduledCache"]


class ScheduledCache:
    """Compute-on-demand cache with schedule-driven eviction.

    Parameters
    ----------
    uses : dict
        ``key -> sorted list of stamp numbers`` that need the value.
    compute : callable
        ``compute(key) -> value``.
    window : int
        Keep an entry whose next use is at most this many stamps ahead. Default: 8.
    nbytes : callable, optional
        ``nbytes(value) -> int`` for the memory statistics. Default: ``value.nbytes``.
    """

    def __init__(self, uses: dict, compute: Callable, window: int = 8, nbytes: Callable | None = None):
        self._uses = {k: sorted(v) for k, v in uses.items()}
        self._compute = compute
        self._window = int(window)
        self._nbytes = nbytes or (lambda v: getattr(v, "nbytes", 0))
        self._store: dict[Hashable, object] = {}
        self.n_computed = 0
        self.peak_bytes = 0
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key) -> bool:
        return key in self._store

    def get(self, key):
        """The value of ``key``, computed now if it is not cached."""
        if key not in self._store:
            value = self._compute(key)
            self._store[key] = value
            self.n_computed += 1
            self._bytes += self._nbytes(value)
            self.peak_bytes = max(self.peak_bytes, self._bytes)
        return self._store[key]

    def next_use(self, key, stamp: int) -> int | None:
        """First stamp number after ``stamp`` that uses ``key`` (None if none)."""
        uses = self._uses.get(key, [])
        k = bisect.bisect_right(uses, stamp)
        return uses[k] if k < len(uses) else None

    def release(self, key, stamp: int) -> None:
        """Drop ``key`` now if it is not needed within ``window`` stamps after ``stamp``.

        For a value that only feeds the computation of other values during stamp ``stamp``: once
        they are computed it need not wait for `advance` (which lowers the peak memory).
        """
        if key in self._store:
            nxt = self.next_use(key, stamp)
            if nxt is None or nxt - stamp > self._window:
                self._bytes -= self._nbytes(self._store.pop(key))

    def advance(self, stamp: int) -> None:
        """Drop the entries not needed within ``window`` stamps after ``stamp``."""
        for key in list(self._store):
            self.release(key, stamp)

    @staticmethod
    def schedule(keys_per_stamp: Iterable[Iterable[Hashable]]) -> dict:
        """Build the ``uses`` mapping from the keys each stamp needs, in processing order."""
        uses: dict = {}
        for s, keys in enumerate(keys_per_stamp):
            for key in keys:
                lst = uses.setdefault(key, [])
                if not lst or lst[-1] != s:
                    lst.append(s)
        return uses

    @staticmethod
    def misses(keys_per_stamp, window: int) -> list[set]:
        """The keys a cache computes at each stamp, if every stamp gets exactly its keys.

        Replays `get` and `advance` of a cache with ``window`` over the schedule; a cache whose values
        are only needed to compute another cache's entries can then be scheduled on these misses.
        """
        keys_per_stamp = [set(k) for k in keys_per_stamp]
        uses = ScheduledCache.schedule(keys_per_stamp)
        store: set = set()
        out = []
        for s, keys in enumerate(keys_per_stamp):
            out.append(keys - store)
            store |= keys
            for key in list(store):
                u = uses[key]
                k = bisect.bisect_right(u, s)
                if k >= len(u) or u[k] - s > window:
                    store.discard(key)
        return out
