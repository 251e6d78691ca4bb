"""The session trigger is busy above SESSION_TRIGGER_QUIET_PER_SECOND events a second."""

from __future__ import annotations

from collections import deque

from parkingdone import settings
from parkingdone.sessions import trigger_load


def test_the_trigger_is_busy_above_the_rate_it_handles_itself(monkeypatch):
    """Up to the limit in a second the trigger does its work itself; more within the same
    second are busy, and after a quiet second it is quiet again."""
    monkeypatch.setattr(trigger_load, "_arrivals", deque())
    limit = settings.SESSION_TRIGGER_QUIET_PER_SECOND
    start = 5_000.0
    arrivals = [trigger_load.busy(start + n * 0.1) for n in range(limit + 2)]
    assert arrivals == [False] * limit + [True, True]
    assert not trigger_load.busy(start + 2.5)  # the second before it was quiet
    # Events spaced wider than 1 / limit seconds apart never make it busy.
    spaced = [trigger_load.busy(start + 10 + n * (1.01 / limit)) for n in range(20)]
    assert not any(spaced)


def test_an_event_arriving_long_after_its_write_is_busy_however_few_arrive(monkeypatch):
    """A starved emulator can deliver fewer events a second than the limit while a backlog
    waits: an event older than SESSION_TRIGGER_LAG_SECONDS tells of the backlog."""
    from datetime import UTC, datetime, timedelta

    monkeypatch.setattr(trigger_load, "_arrivals", deque())
    now = 5_000.0
    written = datetime.fromtimestamp(now, UTC)
    lag = timedelta(seconds=settings.SESSION_TRIGGER_LAG_SECONDS)
    assert not trigger_load.busy(now + 0.1, written_at=written)
    assert trigger_load.busy(now + 10, written_at=written)
    assert not trigger_load.busy(now + 20, written_at=written + timedelta(seconds=20) - lag / 2)
    assert not trigger_load.busy(now + 30)  # an unstamped write: the rate alone
