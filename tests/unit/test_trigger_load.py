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
