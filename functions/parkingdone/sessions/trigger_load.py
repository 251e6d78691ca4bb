"""How busy this process's session trigger is: the events it received in the last second.

The Firestore emulator (and a backlog in production) hands the session trigger one event at
a time, so every millisecond it spends is a millisecond every later event waits. While it is
quiet it does its work itself, one invocation per event; once more than
SESSION_TRIGGER_QUIET_PER_SECOND events arrive in a second it is busy, and hands what can wait
a moment to functions that run side by side: the dashboard's figures to the figures pump
(admin/figures_pump.py), a charge to the charge queue (payments/charging.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from parkingdone import settings

_arrivals: deque[float] = deque()  # when this process's trigger received its last events
_lock = threading.Lock()


def busy(now: float | None = None) -> bool:
    """Note an event reaching the trigger; True when more than SESSION_TRIGGER_QUIET_PER_SECOND
    reached it in the last second, this one included."""
    now = time.time() if now is None else now
    with _lock:
        while _arrivals and _arrivals[0] <= now - 1.0:
            _arrivals.popleft()
        _arrivals.append(now)
        return len(_arrivals) > settings.SESSION_TRIGGER_QUIET_PER_SECOND
