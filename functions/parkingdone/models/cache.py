"""The short-lived caches of tenant records, one per document kind (cachetools TTL caches).

Operators and facilities change rarely and are read on every event, check and charge, so
each is cached in the process for TTL_SECONDS; a configuration change shows within that
time in other processes, and at once in the process that wrote it (its writer calls
`invalidate`). Only documents found are cached: a record created a moment ago must never
stay "unknown". `clear()` empties every cache (tests, and a write path that changes many).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

TTL_SECONDS = 30.0
MAX_ENTRIES = 2048

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loader(Generic[K, V]):
    """Loads one kind of document through a TTL cache; misses (None) are not cached."""

    def __init__(self, ttl: float = TTL_SECONDS, maxsize: int = MAX_ENTRIES) -> None:
        self._cache: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()
        _LOADERS.append(self)

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        found = load()
        if found is not None:
            with self._lock:
                self._cache[key] = found
        return found

    def invalidate(self, match: Callable[[K], bool] | None = None) -> None:
        """Forget every entry (or those whose key `match`es)."""
        with self._lock:
            for key in [k for k in self._cache if match is None or match(k)]:
                self._cache.pop(key, None)


_LOADERS: list[Loader] = []


def clear() -> None:
    """Forget every cached document of every kind."""
    for loader in _LOADERS:
        loader.invalidate()
