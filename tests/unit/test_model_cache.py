"""The one cache of tenant records (models/cache.py): hits are kept, misses never, and
`clear` forgets every kind."""

from __future__ import annotations

from parkingdone import tenants
from parkingdone.models import cache


def test_a_found_document_is_read_once_and_a_missing_one_every_time() -> None:
    loader: cache.Loader[str, str] = cache.Loader()
    reads: list[str] = []

    def read(value: str | None):
        def load() -> str | None:
            reads.append("read")
            return value

        return load

    assert loader.get("a", read("A")) == "A"
    assert loader.get("a", read("changed")) == "A"
    assert loader.get("b", read(None)) is None
    assert loader.get("b", read("B")) == "B"
    assert reads == ["read", "read", "read"]


def test_invalidate_and_clear_forget_what_was_cached() -> None:
    first: cache.Loader[str, int] = cache.Loader()
    second: cache.Loader[str, int] = cache.Loader()
    first.get("x", lambda: 1)
    second.get("y", lambda: 2)
    first.invalidate(lambda key: key == "x")
    assert first.get("x", lambda: 10) == 10
    tenants.clear_cache()
    assert first.get("x", lambda: 11) == 11
    assert second.get("y", lambda: 12) == 12


def test_entries_expire_after_their_time() -> None:
    loader: cache.Loader[str, int] = cache.Loader(ttl=0.0)
    loader.get("x", lambda: 1)
    assert loader.get("x", lambda: 2) == 2
